"""What a callback is given: the loop's narrow state and the run's context. This module imports no loop,
so a callback (a quality check, a tracker, a new family's extra) is one file that never sees ``Trainer``.

``LoopState`` is what changes every step (the step, the last losses, the clock, the progress text);
``RunContext`` is what a run is made of (config, folder, energy account, modules, optimizers, noise,
data, the sampling module). Hooks return a stop reason or None.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from ecogen.config import TrainConfig
from ecogen.data import PreparedData
from ecogen.rundir import RunDir
from ecogen.training.accounting import RunAccount
from ecogen.training.distributed import Distributed

if TYPE_CHECKING:
    from ecogen.energy.record import RunRecord


@dataclass
class LoopState:
    total_steps: int
    batches_per_epoch: int
    batches_per_step: int  # real batches one step consumes (D steps)
    images_per_batch: int  # over all ranks: batch size x world size
    step: int = 0
    elapsed_before: float = 0.0  # training seconds of earlier sessions of this run
    session_start: float = field(default_factory=time.perf_counter)
    flops_per_step: int = 0
    last_metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # tensors: no sync per step
    status: dict[str, str] = field(default_factory=dict)  # what the progress bar shows, by callback
    # what callbacks produced at this step ("log": the log line, "quality": a check, "grid": a PNG's path),
    # for callbacks later in the list (the trackers); the loop empties it before each round of hooks
    published: dict[str, Any] = field(default_factory=dict)

    @property
    def epoch(self) -> float:
        return self.step * self.batches_per_step / self.batches_per_epoch

    @property
    def train_images(self) -> int:
        """Real images seen by all ranks together."""
        return self.step * self.batches_per_step * self.images_per_batch

    @property
    def elapsed(self) -> float:
        """Training seconds over all sessions of this run."""
        return self.elapsed_before + time.perf_counter() - self.session_start

    @property
    def last_step(self) -> bool:
        return self.step >= self.total_steps


@dataclass(frozen=True)
class RunContext:
    config: TrainConfig
    run_dir: RunDir
    device: torch.device
    dist: Distributed
    account: RunAccount
    data: PreparedData
    modules: nn.ModuleDict  # the raw modules (what checkpoints hold), EMA copy included
    optimizers: dict[str, torch.optim.Optimizer]
    base_lrs: dict[str, list[float]]  # before any decay
    noise_gen: torch.Generator
    # the module that makes images at a step (EMA statistics fresh); final=True at a stop (see EmaSampler)
    sampler: Callable[..., nn.Module]
    num_classes: int
    family_state: dict[str, torch.Tensor] = field(default_factory=dict)  # the family's own tensors (ADA's p)
    precision: str = "fp32"  # what the run computes in (``auto`` resolved): its quality checks sample in it too


class Callback(Protocol):
    writes: bool  # writes files: in a distributed run, only the writing process gets it

    def before_step(self, state: LoopState, run: RunContext) -> str | None:
        """A stop reason ends the run before the next step."""

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        """Called after every step; a stop reason ends the run."""

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        """Called once, still inside the energy tracker, before the final record."""

    def after_record(self, state: LoopState, run: RunContext, record: RunRecord) -> None:
        """Called once run.json holds the final bill (the writing process only)."""


class Hooks:
    """No-op hooks to inherit from."""

    writes = False

    def before_step(self, state: LoopState, run: RunContext) -> str | None:
        return None

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        return None

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        return None

    def after_record(self, state: LoopState, run: RunContext, record: RunRecord) -> None:
        return None
