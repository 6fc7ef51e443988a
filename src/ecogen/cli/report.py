"""``ecogen report`` and ``ecogen compare``: the HTML pages a person reads (thin shells over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ecogen.cli.consoles import out as console
from ecogen.base.lazy import LazyModule

api = LazyModule("ecogen.api")


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        run: Path = typer.Argument(..., help="A run folder."),
        out: Optional[Path] = typer.Option(None, help="Where to write the page (default: RUN/report.html)."),
    ) -> None:
        """A self-contained HTML page of the run: losses, quality against Wh, the bill, samples, ratings."""
        console.print(f"report -> {api.report(run, out)}")

    @app.command()
    def compare(
        runs: list[Path] = typer.Argument(..., help="Run folders."),
        out: Path = typer.Option(..., help="The HTML page to write (.html)."),
    ) -> None:
        """One HTML page comparing runs: a row per run and their FID-against-Wh curves in one plot."""
        console.print(f"comparison of {len(runs)} run(s) -> {api.compare(runs, out)}")
