"""``ecogen train`` and ``ecogen plan``: options -> config -> one API call (train, resume or plan)."""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from ecogen.cli.consoles import out as console
from ecogen.cli.options import overrides, train_parameters
from ecogen.config import dump_yaml
from ecogen.errors import EcogenError
from ecogen.base.lazy import LazyModule
from ecogen.report.tables import bill_table, ranks_table, run_summary

if TYPE_CHECKING:
    from ecogen.session.planning import Plan, Schedule
    from ecogen.training import TrainResult

api = LazyModule("ecogen.api")
RUN, PLAN = "Run", "Plan and schedule (carbon-aware)"


def register(app: typer.Typer) -> None:
    app.command()(_with_config_options(train))
    app.command()(_with_config_options(plan))


def _emit(result: TrainResult, as_json: bool) -> None:
    """Print the result; an interrupted run exits 130 (after its checkpoint was saved), as shells expect.
    Under torchrun, rank 0 alone prints, so stdout holds one result."""
    if result.rank != 0:
        pass
    elif as_json:
        data = {**asdict(result), "run_dir": str(result.run_dir)}
        data["record"] = result.record.model_dump() if result.record else None
        print(json.dumps(data))
    else:
        console.print(f"{result.run_dir}: {result.stop_reason} at step {result.step} of {result.total_steps}; "
                      + "  ".join(f"{k} {v:.3f}" for k, v in result.last.items()))
        if result.record is not None:
            console.print(bill_table(result.record, "energy bill"))
            if result.record.ranks:
                console.print(ranks_table(result.record))
            for line in run_summary(result.record):
                console.print(line)
        console.print(f"samples: {result.run_dir / 'samples' / 'latest.png'}")
        if result.stop_reason == "already_done":
            console.print("Nothing to do: the run is already at its end; ask for more --epochs or --steps.")
        if result.stop_reason == "interrupted":
            console.print(f"Interrupted; checkpoint saved. Continue with: ecogen train --resume {result.run_dir}")
    if result.stop_reason == "interrupted":
        raise typer.Exit(130)
    if result.stop_reason in ("diverged", "collapsed"):
        if result.rank == 0:
            why = ("a non-finite or exploding loss" if result.stop_reason == "diverged" else
                   "the discriminator's loss stayed at 0: it won outright and the generator learns nothing")
            kept = ("the last good checkpoint is kept as the latest" if result.checkpoints else
                    "no checkpoint had been saved yet")
            print(f"error: training {result.stop_reason} at step {result.step} ({why}); {kept}. Lower the learning "
                  f"rates (--lr-g, --lr-d) and train again.", file=sys.stderr)
        raise typer.Exit(3)


RUN = "Run"


def train(
    recipe: Optional[str] = typer.Option(None, help="Named recipe (see --print-config).", rich_help_panel=RUN),
    preset: Optional[str] = typer.Option(None, help="Architecture preset.", rich_help_panel=RUN),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML config; options given here override it.",
                                          rich_help_panel=RUN),
    out: Path = typer.Option(Path("runs/default"), help="Run folder.", rich_help_panel=RUN),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this folder.", rich_help_panel=RUN),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out.", rich_help_panel=RUN),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config and exit.",
                                      rich_help_panel=RUN),
    quiet: bool = typer.Option(False, help="No progress bar.", rich_help_panel=RUN),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.", rich_help_panel=RUN),
    forecast: Optional[Path] = typer.Option(None, help="Grid intensity forecast (CSV or Carbon Aware SDK JSON) to "
                                            "schedule the run by; it also bills the run.", rich_help_panel=PLAN),
    deadline: Optional[str] = typer.Option(None, help="ISO 8601 time the run must end by (e.g. 2026-11-28T08:00Z).",
                                           rich_help_panel=PLAN),
    start: Optional[str] = typer.Option(None, help="auto (the cleanest window before --deadline), now, or an "
                                        "ISO 8601 time; needs --forecast.", rich_help_panel=PLAN),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only: print the prediction and the start, train "
                                 "nothing.", rich_help_panel=PLAN),
    **options: Any,
) -> None:
    """Train a generator (or continue one with --resume)."""
    if resume is not None:
        if forecast or deadline or start or dry_run:
            raise EcogenError("--resume keeps the run's plan; --forecast, --deadline, --start and --dry-run apply to "
                              "a new run (a resumed run is billed by its --intensity file, if any)")
        given = [name for name, value in (("--recipe", recipe), ("--preset", preset), ("--config", config),
                                          ("--overwrite", overwrite), ("--print-config", print_config),
                                          ("--out", out != Path("runs/default"))) if value]
        if given:
            raise EcogenError(f"--resume continues the run as it was configured; {', '.join(given)} cannot be "
                              f"used with it (only schedule, energy and quality-check options can)")
        return _emit(api.resume(resume, progress=not quiet, **overrides(options)), as_json)
    layers = {"recipe": recipe, "file": config, "preset": preset}  # resolved once, by the API (session.resolve)
    if print_config:
        from ecogen.session.resolve import resolve

        cfg = resolve(overrides=overrides(options), **layers)
        if recipe is None and cfg.recipe is not None:
            print(f"recipe: {cfg.recipe} (the default for this kind of run)", file=sys.stderr)
        print(dump_yaml(cfg), end="")
        return
    if config is not None and out == Path("runs/default"):
        print(f"notice: no --out given: the run goes to {out}", file=sys.stderr)
    schedule = _schedule(forecast, deadline, start, dry_run)
    if dry_run:
        return _emit_plan(api.plan(overrides(options), schedule=schedule, **layers), as_json)
    try:
        result = api.train(overrides(options), out, overwrite=overwrite, progress=not quiet, schedule=schedule,
                           **layers)
    except api.Cancelled as err:
        print(str(err), file=sys.stderr)
        raise typer.Exit(130) from None
    _emit(result, as_json)


def _with_config_options(command: Any) -> Any:
    """The command's own parameters, then one option per config field (options.TRAIN_OPTIONS)."""
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(command).parameters.values()
           if p.kind != inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = inspect.Signature(train_parameters() + own)
    return command


def plan(
    recipe: Optional[str] = typer.Option(None, help="Named recipe (see ecogen train --print-config).", rich_help_panel=RUN),
    preset: Optional[str] = typer.Option(None, help="Architecture preset.", rich_help_panel=RUN),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML config; options given here override it.",
                                          rich_help_panel=RUN),
    out: Optional[Path] = typer.Option(None, help="Save the plan in this run folder; `ecogen train --out` there "
                                       "records it, and `ecogen energy` sets it against the actual.", rich_help_panel=RUN),
    probe_steps: int = typer.Option(20, min=4, max=1000, help="Timed probe steps (after 5 warm-up steps).",
                                    rich_help_panel=RUN),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON.", rich_help_panel=RUN),
    forecast: Optional[Path] = typer.Option(None, help="Grid intensity forecast to schedule by.", rich_help_panel=PLAN),
    deadline: Optional[str] = typer.Option(None, help="ISO 8601 time the run must end by.", rich_help_panel=PLAN),
    start: Optional[str] = typer.Option(None, help="auto, now, or an ISO 8601 time.", rich_help_panel=PLAN),
    **options: Any,
) -> None:
    """Predict a run's seconds, Wh, gCO2 and FLOPs (with a range) from a few probe steps on this machine;
    with --forecast and --deadline, also the cleanest start and what it saves. Trains nothing."""
    schedule = _schedule(forecast, deadline, start, dry_run=True)
    _emit_plan(api.plan(overrides(options), out, recipe=recipe, file=config, preset=preset, schedule=schedule,
                        probe_steps=probe_steps), as_json)


def _schedule(forecast: Path | None, deadline: str | None, start: str | None, dry_run: bool) -> Schedule | None:
    if forecast is None:
        if deadline or start:
            raise EcogenError("--deadline and --start schedule by a forecast: give --forecast FILE too")
        return None
    from ecogen.session.planning import Schedule

    return Schedule(forecast=forecast, deadline=deadline, start=start or ("auto" if deadline else "now"))


def _emit_plan(made: Plan, as_json: bool) -> None:
    from ecogen.session.planning import plan_lines

    if as_json:
        print(made.model_dump_json())
        return
    for line in plan_lines(made):
        console.print(line)
