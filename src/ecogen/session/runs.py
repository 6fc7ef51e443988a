"""Starting and resuming a training session: validate everything, set up the run folder, then step.

With several processes (torchrun), every rank validates and builds the same trainer; rank 0 alone
touches the folder (under its lock) while the others wait at a barrier, then all of them step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ecogen import checkpoint
from ecogen.base.atomic import write_json, write_text
from ecogen.config import TrainConfig, dump_yaml, from_dict, load_yaml, merge, to_dict
from ecogen.data import prepare_data
from ecogen.base.device import resolve_device
from ecogen.energy import record as records
from ecogen.errors import CheckpointError, ConfigError, EcogenError
from ecogen.models import MODELS
from ecogen.models.restore import saved_config
from ecogen.session.planning import Plan, Schedule, make_plan, plan_lines, wait_until
from ecogen.report.plots import QualityPlot
from ecogen.session.resolve import check_choices, resolve, resolve_config
from ecogen.rundir import RunDir
from ecogen.training.callbacks import Callback
from ecogen.training.distributed import Distributed
from ecogen.training.loop import Trainer, TrainResult
from ecogen.training.tracking import Tracking

log = logging.getLogger(__name__)  # notices for the caller: the CLI shows them on stderr

# What may change when a run is resumed; everything else defines the run and is fixed.
RESUMABLE = (
    "epochs", "steps", "device", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
    "energy.sensors", "energy.country", "energy.carbon_intensity", "energy.pue", "energy.cpu_watts",
    "energy.max_wh", "energy.max_gco2", "energy.max_seconds", "energy.intensity",
    "eval_every", "eval_n", "eval_metrics", "eval_extractor", "dist.backend", "dist.timeout_s", "trackers",
)


def train(
    config: TrainConfig | dict[str, Any] | None = None,
    out: str | Path = "runs/default",
    *,
    recipe: str | None = None,
    preset: str | None = None,
    file: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    schedule: Schedule | None = None,
) -> TrainResult:
    """Train a new run into ``out``. Everything is validated before anything in ``out`` is touched.
    ``callbacks`` (see ecogen.training.callbacks) run after the default ones at every step. With a
    ``schedule`` the run is first planned (probe steps, a prediction), waits for the start the schedule
    picks, and is billed against the forecast; run.json keeps the plan next to the actual.

    ``config`` is a TrainConfig or a dict of options (nested or dotted keys); either way it is layered
    exactly as ``ecogen train`` layers its options (see ecogen.session.resolve): on ``recipe`` (or the default
    recipe for the kind of run), the YAML ``file`` and the ``preset``. A TrainConfig's non-default
    fields count as the options given. Under torchrun, every process calls this with the same arguments.
    """
    config = _layered(config, recipe, preset, file)
    run = RunDir(Path(out))
    if run.root.exists() and not run.root.is_dir():
        raise EcogenError(f"output path {run.root} exists and is not a folder")
    if run.holds_run() and not overwrite:
        raise EcogenError(f"{run.root} already holds a run; use --resume to continue it or --overwrite to replace it")
    config, data = _prepared(config)
    if config.energy.intensity:  # an absolute path: a resume from another folder still finds the file
        config = replace(config, energy=replace(config.energy, intensity=str(Path(config.energy.intensity).resolve())))
    run.refuse_links()
    plan = _read_plan(run) if schedule is None else None

    def set_up() -> None:
        if run.holds_run() and not overwrite:  # another run started here since the check above
            raise EcogenError(f"{run.root} already holds a run; use --resume to continue it or --overwrite to replace it")
        if overwrite:
            run.clear()
        write_text(run.config, dump_yaml(config))
        write_json(run.split, data.split.to_dict())

    with launched(config) as (dist, device):
        if schedule is not None:
            if dist.enabled:
                raise ConfigError("--forecast/--start plan one process; plan with `ecogen plan`, then launch torchrun")
            plan = make_plan(config, data, device, schedule)
            for line in plan_lines(plan):
                log.info(line)
            if plan.start_unix is not None:
                wait_until(plan.start_unix, progress)
            if not config.energy.intensity:  # the forecast bills the run, interval by interval
                config = replace(config, energy=replace(config.energy, intensity=str(Path(schedule.forecast).resolve())))
        trainer = Trainer(config, run, data, device, progress=progress, dist=dist)
        trainer.account.plan = plan.model_dump(mode="json") if plan else None
        return _step(trainer, set_up, [QualityPlot(), *_trackers(config), *callbacks])


def plan(
    config: TrainConfig | dict[str, Any] | None = None,
    out: str | Path | None = None,
    *,
    recipe: str | None = None,
    preset: str | None = None,
    file: str | Path | None = None,
    schedule: Schedule | None = None,
    probe_steps: int = 20,
) -> Plan:
    """Predict a run's seconds, Wh, gCO2 and FLOPs from probe steps on this machine (and, with a
    ``schedule``, when to start it). With ``out``, the plan is saved there and the run trained into
    ``out`` later records it, so ``ecogen energy`` can set it against the actual."""
    config, data = _prepared(_layered(config, recipe, preset, file))
    with launched(config) as (dist, device):
        made = make_plan(config, data, device, schedule, probe_steps=probe_steps)
    if out is not None:
        folder = RunDir(Path(out))
        folder.root.mkdir(parents=True, exist_ok=True)
        write_text(folder.plan, made.model_dump_json(indent=2) + "\n")
    return made


def _layered(config: TrainConfig | dict[str, Any] | None, recipe: str | None, preset: str | None,
             file: str | Path | None) -> TrainConfig:
    if isinstance(config, TrainConfig):
        if recipe or preset or file:
            raise ConfigError("give either a TrainConfig or recipe/preset/file options, not both")
        return resolve_config(config)
    resolved = resolve(recipe=recipe, file=file, preset=preset, overrides=config)
    if recipe is None and resolved.recipe is not None:
        log.info(f"recipe: {resolved.recipe} (the default for this kind of run; see --print-config)")
    return resolved


def _prepared(config: TrainConfig) -> tuple[TrainConfig, Any]:
    """The data loaded and split, and the config with the data's channels and class names filled in."""
    data = prepare_data(config.data)
    model = config.model
    spec = MODELS.get(model.name)
    model = replace(model, latent_dim=spec.latent_size(model, data.config.image_size, data.config.channels or 1))
    if model.conditional:
        if data.images.labels is None:
            raise EcogenError(f"--conditional needs labelled data; {config.data.source} has no labels")
        names = data.images.classes
        model = replace(model, classes=list(names))
    return replace(config, data=data.config, model=model), data


def _read_plan(run: RunDir) -> Plan | None:
    """A plan `ecogen plan --out` left in the folder, to record with the run."""
    if not run.plan.exists():
        return None
    try:
        return Plan.model_validate_json(run.plan.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{run.plan}: not a plan ecogen wrote ({str(err).splitlines()[0]}); remove it") from None


def resume(out: str | Path, *, progress: bool = True, callbacks: Sequence[Callback] = (),
           **changes: Any) -> TrainResult:
    """Continue the run in ``out`` from its newest checkpoint; only schedule fields may change."""
    run = RunDir(Path(out))
    run.require_run()
    run.refuse_links()
    fixed = sorted(set(_dotted(changes)) - set(RESUMABLE))
    if fixed:
        raise ConfigError(f"cannot change {', '.join(fixed)} when resuming (only {', '.join(RESUMABLE)} may change)")
    notices: list[str] = []
    ckpt = checkpoint.latest(run.checkpoints, notices) if checkpoint.list_checkpoints(run.checkpoints) else None
    for notice in notices:
        log.warning(f"notice: {notice}")
    if ckpt is not None:
        saved = saved_config(ckpt)
    else:  # killed before its first checkpoint: start again from the recorded config
        saved = from_dict(TrainConfig, load_yaml(run.config), root=str(run.config))
    if "epochs" in changes and "steps" not in changes:
        changes["steps"] = None  # a new epoch target replaces an earlier step target
    config = from_dict(TrainConfig, merge(to_dict(saved), changes))
    check_choices(config)
    data = prepare_data(config.data, split=run.read_split())
    if ckpt is not None and not run.record.exists():
        raise CheckpointError(f"{run.record} is missing: resuming would restart the energy bill; restore it, "
                              f"or train again with --overwrite")
    previous = records.read(run.record) if run.record.exists() else None
    with launched(config) as (dist, device):
        trainer = Trainer(config, run, data, device, progress=progress, previous=previous, dist=dist)
        if ckpt is not None:
            trainer.restore(ckpt)  # checked completely before anything in the folder changes
        if trainer.step >= trainer.total_steps:
            return TrainResult(run.root, trainer.step, trainer.total_steps, "already_done", 0.0, record=previous,
                               rank=dist.rank)

        def set_up() -> None:
            checkpoint.remove_leftovers(run.checkpoints)
            write_text(run.config, dump_yaml(config))

        return _step(trainer, set_up, [QualityPlot(), *_trackers(config), *callbacks])


class launched:
    """The processes of this run (one, or torchrun's) joined and on their devices, left at the end."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def __enter__(self) -> tuple[Distributed, Any]:
        launch = Distributed.from_env()
        device = launch.device(resolve_device(self.config.device))
        self.dist = launch.start(device, self.config.dist)
        return self.dist, device

    def __exit__(self, *exc: object) -> None:
        self.dist.stop()


def _step(trainer: Trainer, set_up: Callable[[], None], callbacks: list[Callback]) -> TrainResult:
    """Rank 0 sets up the folder under its lock and steps there; the other ranks wait for it, then step.
    All leave together, once rank 0's last checkpoint and run.json are written (a next session reads them)."""
    dist = trainer.dist
    if not dist.writer:
        dist.barrier()
        result = trainer.run(callbacks)
    else:
        with trainer.context.run_dir.lock():
            set_up()
            dist.barrier()
            result = trainer.run(callbacks)
    dist.barrier()
    return result


def _trackers(config: TrainConfig) -> list[Callback]:
    """The tracker feed when the run names trackers (``--log``); it attaches the report page and the best
    checkpoint once the bill is written."""
    return [Tracking(config.trackers, artifacts=_artifacts)] if config.trackers else []


def _artifacts(root: Path) -> list[Path]:
    from ecogen.report.pages import write_run_report

    files: list[Path] = []
    try:
        files.append(write_run_report(root))
    except EcogenError as err:
        log.warning(f"notice: no report page for the trackers: {err}")
    best = RunDir(root).best
    return files + ([best] if best.is_dir() and any(best.iterdir()) else [])


def _dotted(changes: dict[str, Any], prefix: str = "") -> list[str]:
    """``{"energy": {"max_wh": 1}}`` and ``{"energy.max_wh": 1}`` both name ``energy.max_wh``."""
    keys = []
    for key, value in changes.items():
        name = f"{prefix}{key}"
        keys += _dotted(value, f"{name}.") if isinstance(value, dict) else [name]
    return keys
