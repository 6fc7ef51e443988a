"""The training loop: it builds a run, restores it, and steps; everything around the steps is callbacks.

The family (families.py) owns what one step does; callbacks (callbacks.py and the files it names) own
stops, logs, grids, quality checks, checkpoints and the EMA, and see only the narrow state and the run's
context (hooks.py). Every phase runs inside ``tracker.phase(...)``, so the bill splits where the loop
already separates the work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ecogen import checkpoint
from ecogen.config import TrainConfig
from ecogen.data import BatchStream, PreparedData
from ecogen.energy import record as records
from ecogen.errors import CheckpointError
from ecogen.models import MODELS, ModelSpec
from ecogen.models.dcgan import num_classes
from ecogen.models.restore import EMA, build_modules, restore_modules
from ecogen.base.progress import make_progress
from ecogen.rundir import RunDir
from ecogen.training.accounting import RunAccount
from ecogen.training.callbacks import default_callbacks
from ecogen.training.distributed import Distributed
from ecogen.training.ema import EmaSampler
from ecogen.training.families import FAMILIES
from ecogen.training.hooks import Callback, LoopState, RunContext
from ecogen.training.interrupt import GracefulStop
from ecogen.training.logs import LogLines
from ecogen.energy.precision import autocast, resolve_precision
from ecogen.training.schedule import base_learning_rates


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int
    total_steps: int
    stop_reason: str  # completed | interrupted | budget_* | target_fid | target_kid | already_done | diverged | collapsed
    seconds: float  # training seconds in this session
    last: dict[str, float] = field(default_factory=dict)
    record: records.RunRecord | None = None
    rank: int = 0  # torchrun's rank of the process that returns it; only rank 0's reports (and has the record)
    checkpoints: int = 0  # how many the run folder holds at the end (0 after a divergence at the first steps)


def total_steps(config: TrainConfig, batches_per_epoch: int, batches_per_step: int) -> int:
    if config.steps is not None:
        return config.steps
    return math.ceil((config.epochs or 1) * batches_per_epoch / batches_per_step)


class Trainer:
    """Builds one run's modules, optimizers, data, noise and bill (``context``), restores a checkpoint into
    them, and ``run()`` steps to the configured end."""

    def __init__(self, config: TrainConfig, run: RunDir, data: PreparedData, device: torch.device,
                 progress: bool = True, previous: records.RunRecord | None = None,
                 dist: Distributed | None = None) -> None:
        self.dist = dist = dist or Distributed()  # one process unless torchrun launched several
        spec = MODELS.get(config.model.name)
        channels = data.config.channels or 1
        modules = build_modules(replace(config, data=replace(config.data, channels=channels)),
                                with_ema=config.ema_decay is not None).to(device)
        if config.channels_last:
            modules = modules.to(memory_format=torch.channels_last)
        # the family steps DDP wrappers when there are several processes; `modules` stays raw (checkpoints)
        self.family = FAMILIES.get(spec.family)(dist.wrap(modules, (EMA,), device, config.dist.sync_bn), config)
        self.precision = resolve_precision(config.precision, device)
        self.images = torch.from_numpy(data.train.images).to(device)
        if config.channels_last:
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.labels = torch.from_numpy(data.train.labels).to(device) if config.model.conditional else None
        # one seeded order of global batches; each rank takes its own slice of each (DistributedSampler's role)
        self.stream = BatchStream(len(self.images), config.batch_size * dist.world_size, config.seed)
        self.sampler_name, k = spec.sampler, num_classes(config.model)
        self.account = RunAccount(config.energy, run, device, previous, self.precision, dist)
        self.context = RunContext(
            config=config, run_dir=run, device=device, dist=dist, account=self.account, data=data, modules=modules,
            optimizers=self.family.optimizers, base_lrs=base_learning_rates(self.family.optimizers),
            noise_gen=torch.Generator(device).manual_seed(config.seed),
            sampler=EmaSampler(modules, spec.sampler, config.model.latent_dim, k, config.seed, device, spec.compose,
                               self._refit(spec, modules, config.seed)), num_classes=k,
            family_state=self.family.state, precision=self.precision)
        self.state = LoopState(total_steps(config, self.stream.batches_per_epoch, self.family.batches_per_step),
                               self.stream.batches_per_epoch, self.family.batches_per_step,
                               config.batch_size * dist.world_size)
        self.progress = progress and dist.writer
        self.writer = dist.writer  # this process writes files (checkpoints, logs, grids, run.json)

    def _refit(self, spec: ModelSpec, modules: nn.ModuleDict, seed: int) -> Callable[[], None] | None:
        """What refreshes the sampling front from the training images (a VAE's fitted prior), if anything:
        billed to its own phase, ``prior``, which is training (the prior is part of the model), wherever the
        refit falls (a grid, a check or a checkpoint)."""
        if spec.refit is None:
            return None
        tracker = self.account.tracker

        def refit(final: bool = False) -> None:
            with tracker.phase("prior"):
                spec.refit(modules, self.images, self.labels, seed, final)

        return refit

    @property
    def step(self) -> int:
        return self.state.step

    @property
    def total_steps(self) -> int:
        return self.state.total_steps

    def restore(self, ckpt: checkpoint.Checkpoint) -> None:
        run = self.context
        restore_modules(run.modules, ckpt)
        for name, optimizer in run.optimizers.items():
            checkpoint.restore_optimizer(optimizer, name, ckpt)
        for name, tensor in run.family_state.items():
            saved = ckpt.tensors.get(f"state.{name}")
            if saved is None or saved.shape != tensor.shape:
                raise CheckpointError(f"{ckpt.path}: its training state {name} is missing or damaged")
            tensor.copy_(saved)
        state = ckpt.tensors.get("rng.noise")
        if state is None or state.dtype != torch.uint8:
            raise CheckpointError(f"{ckpt.path}: its noise generator state (rng.noise) is missing or damaged")
        try:
            run.noise_gen.set_state(state)
        except RuntimeError:
            raise CheckpointError(f"{ckpt.path}: its noise generator state (rng.noise) is damaged") from None
        world = int(ckpt.meta.get("world_size", 1))
        if world != self.dist.world_size:
            raise CheckpointError(f"{ckpt.path} was trained by {world} process(es); resume it with {world} "
                                  f"(torchrun --nproc_per_node), not {self.dist.world_size}, for the same batches")
        self.state.step = ckpt.step
        self.state.elapsed_before = float(ckpt.meta.get("elapsed_seconds", 0.0))

    def run(self, callbacks: list[Callback] | None = None) -> TrainResult:
        """Step to the configured end; ``callbacks`` come after the default schedule's."""
        run, state, tracker = self.context, self.state, self.account.tracker
        cfg, rank, B = run.config, self.dist.rank, run.config.batch_size
        state.session_start = time.perf_counter()
        batch_index = state.step * self.family.batches_per_step

        def next_real() -> tuple[torch.Tensor, torch.Tensor | None]:
            nonlocal batch_index
            idx = self.stream.indices(batch_index)[rank * B : (rank + 1) * B].to(run.device)
            batch_index += 1
            labels = None if self.labels is None else self.labels.index_select(0, idx)
            return self.images.index_select(0, idx), labels

        first = None if self.labels is None else self.labels[:B]
        step_flops = {phase: n for phase, n in self.family.flop_counts(self.images[:B], first).items() if phase != "image"}
        state.flops_per_step = sum(step_flops.values())
        stop_reason = "completed"
        with self.dist.guard(), tracker, GracefulStop() as stop, make_progress(self.progress) as bar:
            hooks = [c for c in default_callbacks(stop, run, self.sampler_name, self.family.update_phase) + list(callbacks or [])
                     if self.writer or not c.writes]
            task = bar.add_task("train", total=state.total_steps, completed=state.step, info="")
            while state.step < state.total_steps:
                reason = self.dist.agree(next((r for c in hooks if (r := c.before_step(state, run))), None))
                if reason:
                    stop_reason = reason
                    break
                if self.dist.enabled:  # per-rank noise, a function of (seed, step, rank): exact resumes
                    run.noise_gen.manual_seed(self.dist.noise_seed(cfg.seed, state.step))
                with autocast(self.precision, run.device):
                    state.last_metrics = self.family.step(next_real, run.noise_gen, tracker, state.step)
                for phase, n in step_flops.items():
                    tracker.add_flops(phase, n)
                state.step += 1
                state.published.clear()
                reason = None
                for callback in hooks:
                    reason = callback.after_step(state, run) or reason
                    if reason:
                        break
                reason = self.dist.agree(reason)
                bar.update(task, completed=state.step, info="  ".join(v for v in state.status.values() if v))
                if reason:
                    stop_reason = reason
                    break
            state.published.clear()
            for callback in hooks:
                callback.at_end(state, run, stop_reason)
        record = self.account.write(stop_reason, state.step, state.train_images) if self.writer else None
        for callback in hooks if record is not None else ():
            callback.after_record(state, run, record)
        last = next((h.last for h in hooks if isinstance(h, LogLines)), {})
        return TrainResult(
            run_dir=run.run_dir.root, step=state.step, total_steps=state.total_steps, stop_reason=stop_reason,
            seconds=time.perf_counter() - state.session_start,
            last={k: v for k, v in last.items() if k.startswith(("loss", "d_", "recon", "kl"))},
            record=record, rank=self.dist.rank,
            checkpoints=len(checkpoint.list_checkpoints(run.run_dir.checkpoints)))
