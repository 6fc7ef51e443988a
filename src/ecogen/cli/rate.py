"""The ``ecogen rate`` commands: a human rating study (HYPE-infinity), made, served and scored."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ecogen.cli.consoles import err as console
from ecogen.config import SEED_MAX
from ecogen.errors import EcogenError
from ecogen.base.lazy import LazyModule

rating = LazyModule("ecogen.rating")  # its functions are the Python API: create_study, study_results

rate_app = typer.Typer(help="Human evaluation: people judge real and generated images (HYPE-infinity).",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(rate_app, name="rate")


@rate_app.command("new")
def rate_new(
    study: Path = typer.Argument(..., help="Folder for the study (its images, and later its answers)."),
    run: list[Path] = typer.Option(..., "--run", help="A run whose images are judged; repeat for several."),
    real: Optional[str] = typer.Option(None, help="Real images (default: the first run's data, its held-out split)."),
    per_rater: int = typer.Option(100, help="Images each rater judges: half real, half generated."),
    checkpoint: str = typer.Option("latest", help="latest | best | a step number, for every run."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX, help="Seed of the images and of every rater's order."),
    overwrite: bool = typer.Option(False, help="Replace an existing study (its answers are lost)."),
) -> None:
    """Freeze a study's images: held-out real ones and generated ones from each run, with fixed seeds."""
    made = rating.create_study(study, run, real=real, per_rater=per_rater, checkpoint=checkpoint, seed=seed,
                               overwrite=overwrite)
    runs = ", ".join(f"{r.label} (step {r.step})" for r in made.runs)
    console.print(f"study {study}: {len(made.judged)} images to judge, {per_rater} per rater; runs: {runs}")
    console.print(f"serve it with: ecogen rate serve {study}")


@rate_app.command("serve")
def rate_serve(
    study: Path = typer.Argument(..., help="A study folder made by `ecogen rate new`."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (others can reach any but 127.0.0.1)."),
    port: int = typer.Option(8765, min=0, max=65535, help="Port (0: any free one; the URL printed names it)."),
) -> None:
    """Serve the rating page until Ctrl-C; every answer is saved the moment it is given."""
    from ecogen.rating.server import open_server

    server = open_server(study, host, port)  # the study is read and the port bound before any URL is shown
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: anyone who can reach this machine can open the page and answer",
              file=sys.stderr)
    shown = "127.0.0.1" if host == "localhost" else f"[{host}]" if ":" in host else host
    print(f"rating page: http://{shown}:{server.port}/  (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1%}"


@rate_app.command("results")
def rate_results(
    study: Path = typer.Argument(..., help="A study folder."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Also write every answer to this CSV file."),
) -> None:
    """Human error rate per run (50% = chance) with a 95% bootstrap interval over raters."""
    if csv is not None and csv.suffix.lower() != ".csv":
        raise EcogenError(f"--csv must end in .csv (got {csv})")
    results = rating.study_results(study, csv)
    if as_json:
        print(json.dumps(asdict(results)))
        return
    table = Table(title=f"human error rate (HYPE-infinity), {results.answers} answers")
    for col in ("run", "error rate", "95% CI", "generated judged real", "real judged generated", "raters", "answers"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for s in results.runs:
        ci = "-" if s.ci_low is None else f"{s.ci_low:.1%} - {s.ci_high:.1%}"
        table.add_row(s.run, _pct(s.error_rate), ci, _pct(s.false_real), _pct(s.false_fake), str(s.raters),
                      str(s.answers))
    console.print(table)
    raters = Table(title="per rater")
    for col in ("rater", "answers", "error rate", "generated judged real", "real judged generated", "median s"):
        raters.add_column(col, justify="left" if col == "rater" else "right")
    for r in results.raters:
        raters.add_row(r.rater, str(r.answers), _pct(r.error_rate), _pct(r.false_real), _pct(r.false_fake),
                       f"{r.median_seconds:.1f}")
    console.print(raters)
    if csv is not None:
        console.print(f"answers -> {csv}")
