"""The CLI's two consoles: results on stdout, notices and progress on stderr (so --json parses).

Markup is off on both: every path, rater name and config value a user gives is printed as the text it
is. A ``[/]`` in a folder name once crashed eleven commands after their work was on disk; styling is
given as ``rich.text.Text`` styles instead, never as markup inside a string.
"""

from __future__ import annotations

from rich.console import Console

from ecogen.base.progress import STDERR

out = Console(markup=False)
err = STDERR  # the progress bars' console too: notices print above a live bar


def notice(text: str) -> None:
    """A line for the person at the terminal (warnings, hints): stderr, printed as it is."""
    err.print(text, soft_wrap=True)
