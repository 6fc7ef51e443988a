"""The progress bar stays readable at 80 and 120 columns: step/total, elapsed and ETA always show."""

import io
import re

import pytest
from rich.console import Console

from ecogen.base.progress import make_progress

INFO = ("loss_d 1.234  loss_g 2.345  1,234 img/s  12.3 GFLOP/s (45% of peak)  0.123 Wh  "
        "fid 12.3  kid 0.0123")


@pytest.mark.parametrize("width", [80, 120])
def test_counts_elapsed_and_eta_always_show(width):
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False, color_system=None)
    with make_progress(True, console) as bar:
        task = bar.add_task("train", total=2800, completed=0, info="")
        bar.update(task, completed=1234, info=INFO)
        rendered = bar.make_tasks_table(bar.tasks)
    console.print(rendered)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    assert "1234/2800" in lines[0] and re.search(r"\d:\d\d:\d\d", lines[0])  # counts and elapsed, first line
    assert "0.123 Wh" in out.getvalue().replace("\n", "")  # folded, not dropped, at 80 columns
