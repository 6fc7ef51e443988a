"""Checkpoints: the periodic and final ones, and the one save both they and the best-check keeper use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecogen import checkpoint
from ecogen.config import to_dict
from ecogen.training.hooks import Hooks, LoopState, RunContext

FAILED = ("diverged", "collapsed")  # stops whose model is not kept as the latest


def save_checkpoint(state: LoopState, run: RunContext, stop_reason: str, folder: Path | None = None) -> Path:
    """Checkpoint, then the bill that goes with it (run.json), both atomically. ``folder``: the best
    checkpoint by the quality target's metric, kept apart from the last ones."""
    meta: dict[str, Any] = {
        "config": to_dict(run.config),
        "epoch": state.epoch,
        "elapsed_seconds": state.elapsed,
        "stop_reason": stop_reason,
        "world_size": run.dist.world_size,
    }
    folder = folder or run.run_dir.checkpoints
    run.sampler(state.step, stop_reason != "running")  # a saved EMA copy carries statistics of its own weights
    path = checkpoint.save(folder, state.step, run.modules, run.optimizers, {"noise": run.noise_gen.get_state()}, meta,
                           run.family_state)
    checkpoint.prune(folder, 1 if folder != run.run_dir.checkpoints else run.config.keep_checkpoints)
    run.account.write(stop_reason, state.step, state.train_images)
    return path


class Checkpoints(Hooks):
    """Every ``checkpoint_every`` steps, and at the end with the stop reason (with run.json each time)."""

    writes = True

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        if state.step % run.config.checkpoint_every == 0 and not state.last_step:
            with run.account.tracker.phase("checkpoint"):
                save_checkpoint(state, run, "running")
        return None

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        if stop_reason in FAILED:  # never save a broken model as the latest; record the stop only
            run.account.write(stop_reason, state.step, state.train_images)
            return
        with run.account.tracker.phase("checkpoint"):
            save_checkpoint(state, run, stop_reason)
