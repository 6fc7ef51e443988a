"""A Rich progress bar for long work; disabled (not faked) when the caller asks for quiet.

Laid out for 80 columns: the step count, elapsed time and ETA have fixed widths and always show; the bar
takes what is left, and the losses and energy (``info``) fold onto the next line rather than push the
counts off the screen.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

# The one stderr console: progress bars and the CLI's notices share it, so a notice printed while a bar is
# live lands above the bar instead of tearing it. Markup off: user text is printed as it is.
STDERR = Console(stderr=True, markup=False)


def make_progress(enabled: bool = True, console: Console | None = None) -> Progress:
    fixed = {"no_wrap": True}
    return Progress(
        TextColumn("{task.description}", style="bold", markup=False, table_column=Column(**fixed)),
        BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=6)),
        MofNCompleteColumn(table_column=Column(**fixed)),
        TimeElapsedColumn(table_column=Column(**fixed)),
        TimeRemainingColumn(table_column=Column(**fixed)),
        TextColumn("{task.fields[info]}", markup=False, table_column=Column(ratio=3, overflow="fold")),
        console=console or STDERR,  # stdout is kept for results (--json must parse)
        disable=not enabled,
        expand=True,
    )
