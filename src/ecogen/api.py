"""The Python API the CLI calls: train, resume, load, sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecogen import checkpoint
from ecogen.atomic import write_json, write_text
from ecogen.config import TrainConfig, dump_yaml, from_dict, merge, to_dict
from ecogen.data import prepare_data
from ecogen.device import resolve_device
from ecogen.errors import CheckpointError, ConfigError, EcogenError
from ecogen.generation import TrainedGenerator
from ecogen.report.images import save_grid, save_images
from ecogen.rundir import RunDir
from ecogen.training import Trainer, TrainResult
from ecogen.training.loop import total_steps

# What may change when a run is resumed; everything else defines the run and is fixed.
RESUMABLE = ("epochs", "steps", "device", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints")


def train(
    config: TrainConfig | None = None,
    out: str | Path = "runs/default",
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train a new run into ``out``. Everything is validated before anything in ``out`` is touched."""
    config = config or TrainConfig()
    run = RunDir(Path(out))
    if run.root.exists() and not run.root.is_dir():
        raise EcogenError(f"output path {run.root} exists and is not a folder")
    if run.holds_run() and not overwrite:
        raise EcogenError(f"{run.root} already holds a run; use --resume to continue it or --overwrite to replace it")
    device = resolve_device(config.device)
    data = prepare_data(config.data)
    config = TrainConfig(**{**vars(config), "data": data.config})  # channels resolved
    trainer = Trainer(config, run, data, device, progress=progress)
    if overwrite:
        run.clear()
    run.root.mkdir(parents=True, exist_ok=True)
    write_text(run.config, dump_yaml(config))
    write_json(run.split, data.split.to_dict())
    return trainer.run()


def resume(out: str | Path, *, progress: bool = True, **changes: Any) -> TrainResult:
    """Continue the run in ``out`` from its newest checkpoint; only schedule fields may change."""
    run = RunDir(Path(out))
    run.require_run()
    ckpt = checkpoint.latest(run.checkpoints)
    fixed = sorted(set(changes) - set(RESUMABLE))
    if fixed:
        raise ConfigError(f"cannot change {', '.join(fixed)} when resuming (only {', '.join(RESUMABLE)} may change)")
    try:
        saved = from_dict(TrainConfig, ckpt.meta.get("config"), root="checkpoint.config")
    except ConfigError as err:
        raise CheckpointError(f"{ckpt.path}: {err}") from None
    if "epochs" in changes and "steps" not in changes:
        changes["steps"] = None  # a new epoch target replaces an earlier step target
    config = from_dict(TrainConfig, merge(to_dict(saved), changes))
    data = prepare_data(config.data, split=run.read_split())
    trainer = Trainer(config, run, data, resolve_device(config.device), progress=progress)
    trainer.restore(ckpt)
    if trainer.step >= trainer.total_steps:
        return TrainResult(run.root, trainer.step, trainer.total_steps, "already_done", 0.0)
    write_text(run.config, dump_yaml(config))
    return trainer.run()


def load(path: str | Path, device: str = "auto") -> TrainedGenerator:
    """Load the newest checkpoint of a run as a generator: ``load("runs/mnist").sample(16, seed=0)``."""
    return TrainedGenerator.from_run(path, device)


def sample_to(
    generator: TrainedGenerator,
    n: int,
    out: str | Path,
    *,
    seed: int = 0,
    batch_size: int = 256,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``n`` samples: a grid when ``out`` ends in .png/.jpg, else one PNG per image in folder ``out``."""
    out = Path(out)
    grid = out.suffix.lower() in (".png", ".jpg", ".jpeg")
    if grid and out.exists() and not overwrite:
        raise EcogenError(f"{out} already exists; pass --overwrite to replace it")
    if not grid and out.is_dir() and any(out.glob("*.png")) and not overwrite:
        raise EcogenError(f"{out} already holds PNG files; pass --overwrite to replace them")
    if not grid and out.exists() and not out.is_dir():
        raise EcogenError(f"output path {out} exists and is not a folder")
    images = generator.sample(n, seed=seed, batch_size=batch_size)
    if grid:
        return [save_grid(images, out)]
    return save_images(images, out)


__all__ = ["RESUMABLE", "load", "resume", "sample_to", "total_steps", "train"]
