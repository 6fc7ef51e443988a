"""The training loop: it steps, for every family; what happens around steps is callbacks.

The family (see families.py) owns what one step does; ``Trainer.run`` steps and calls the callbacks
(callbacks.py: stops, logs, grids, quality checks, checkpoints). Every phase runs inside
``tracker.phase(...)``, so the run's energy is split by phase where the loop already separates them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ecogen import checkpoint
from ecogen.base import jsonl
from ecogen.config import TrainConfig, to_dict
from ecogen.data import BatchStream, PreparedData
from ecogen.errors import CheckpointError
from ecogen.models import MODELS
from ecogen.models.restore import build_modules, restore_modules, sampling_module
from ecogen.models.dcgan import num_classes
from ecogen.energy import record as records
from ecogen.images import save_grid
from ecogen.metrics.evaluate import Evaluator, parse_metrics
from ecogen.metrics.extractors.base import check_extractor_name
from ecogen.progress import make_progress
from ecogen.rundir import RunDir
from ecogen.training.accounting import RunAccount
from ecogen.training.schedule import base_learning_rates
from ecogen.training.ema import recompute_batchnorm, update_ema
from ecogen.training.callbacks import Callback, default_callbacks
from ecogen.training.distributed import Distributed
from ecogen.training.families import FAMILIES
from ecogen.training.interrupt import GracefulStop
from ecogen.training.precision import autocast, resolve_precision
from ecogen.training.targets import QualityTarget, check_interval

GRID_SIZE = 64


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
    """Holds modules, optimizers, data, RNG and the bill of one run; ``run()`` trains to the configured end."""

    def __init__(
        self,
        config: TrainConfig,
        run: RunDir,
        data: PreparedData,
        device: torch.device,
        progress: bool = True,
        previous: records.RunRecord | None = None,
        dist: Distributed | None = None,
    ) -> None:
        self.config, self.run_dir, self.device = config, run, device
        self.dist = dist or Distributed()  # one process unless torchrun launched several
        self.spec = MODELS.get(config.model.name)
        channels = data.config.channels or 1
        # the EMA copy, if any, is saved and restored with the other modules
        self.modules = build_modules(replace(config, data=replace(config.data, channels=channels)),
                                     with_ema=config.ema_decay is not None).to(device)
        if config.channels_last:
            self.modules = self.modules.to(memory_format=torch.channels_last)
        # the family steps DDP wrappers when there are several processes; self.modules stays raw (checkpoints)
        stepped = self.dist.wrap(self.modules, ("ema",), device, config.dist.sync_bn)
        self.family = FAMILIES.get(self.spec.family)(stepped, config)
        self.base_lrs = base_learning_rates(self.family.optimizers)  # before a checkpoint's decayed rates
        self.precision = resolve_precision(config.precision, device)
        self.target = QualityTarget.from_config(config)
        self.eval_every = check_interval(config)
        self.images = torch.from_numpy(data.train.images).to(device)
        if config.channels_last:
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.conditional = config.model.conditional
        self.labels = torch.from_numpy(data.train.labels).to(device) if self.conditional else None
        # one seeded order of global batches; each rank takes its own slice of each (DistributedSampler's role)
        self.stream = BatchStream(len(self.images), config.batch_size * self.dist.world_size, config.seed)
        self.noise_gen = torch.Generator(device).manual_seed(config.seed)
        grid_gen = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_noise = torch.randn(GRID_SIZE, config.model.latent_dim, generator=grid_gen).to(device)
        k = self.num_classes = num_classes(config.model)
        self.fixed_labels = (torch.arange(GRID_SIZE) % k).to(device) if k else None  # a column per class
        self.account = RunAccount(config.energy, run, device, previous, self.precision, self.dist)
        self.data = data
        self.evaluator: Evaluator | None = None  # built at the first quality check, inside the eval phase
        if self.eval_every:  # fail on a bad metric or extractor name now, not mid-run
            parse_metrics(config.eval_metrics)
            check_extractor_name(config.eval_extractor)
        self.progress = progress and self.dist.writer
        self.writer = self.dist.writer  # this process writes files (checkpoints, logs, grids, run.json)
        self.step = 0
        self.ema_stats_step = -1  # the step at which the EMA copy's BatchNorm statistics were recomputed
        self.elapsed_before = 0.0  # training seconds of earlier sessions of this run
        self.session_start = time.perf_counter()
        self.flops_per_step = 0
        self.last_metrics: dict[str, torch.Tensor] = {}  # the last step's losses (tensors: no sync per step)
        self.last_line: dict[str, Any] = {}  # the last log line
        self.status: dict[str, str] = {}  # what the progress bar shows, by callback

    @property
    def total_steps(self) -> int:
        return total_steps(self.config, self.stream.batches_per_epoch, self.family.batches_per_step)

    @property
    def epoch(self) -> float:
        return self.step * self.family.batches_per_step / self.stream.batches_per_epoch

    @property
    def train_images(self) -> int:
        """Real images seen by all ranks together."""
        return self.step * self.family.batches_per_step * self.config.batch_size * self.dist.world_size

    @property
    def elapsed(self) -> float:
        """Training seconds over all sessions of this run."""
        return self.elapsed_before + time.perf_counter() - self.session_start

    def restore(self, ckpt: checkpoint.Checkpoint) -> None:
        restore_modules(self.modules, ckpt)
        for name, optimizer in self.family.optimizers.items():
            checkpoint.restore_optimizer(optimizer, name, ckpt)
        state = ckpt.tensors.get("rng.noise")
        if state is None or state.dtype != torch.uint8:
            raise CheckpointError(f"{ckpt.path}: its noise generator state (rng.noise) is missing or damaged")
        try:
            self.noise_gen.set_state(state)
        except RuntimeError:
            raise CheckpointError(f"{ckpt.path}: its noise generator state (rng.noise) is damaged") from None
        world = int(ckpt.meta.get("world_size", 1))
        if world != self.dist.world_size:
            raise CheckpointError(f"{ckpt.path} was trained by {world} process(es); resume it with {world} "
                                  f"(torchrun --nproc_per_node), not {self.dist.world_size}, for the same batches")
        self.step = ckpt.step
        self.elapsed_before = float(ckpt.meta.get("elapsed_seconds", 0.0))

    def save_checkpoint(self, stop_reason: str, folder: Path | None = None) -> Path:
        """Checkpoint, then the bill that goes with it (run.json), both atomically. ``folder``: the best
        checkpoint by the quality target's metric, kept apart from the last ones."""
        meta: dict[str, Any] = {
            "config": to_dict(self.config),
            "epoch": self.epoch,
            "elapsed_seconds": self.elapsed,
            "stop_reason": stop_reason,
            "world_size": self.dist.world_size,
        }
        rng = {"noise": self.noise_gen.get_state()}
        folder = folder or self.run_dir.checkpoints
        self.refresh_ema()  # a saved EMA copy carries statistics of its own weights
        path = checkpoint.save(folder, self.step, self.modules, self.family.optimizers, rng, meta)
        checkpoint.prune(folder, 1 if folder != self.run_dir.checkpoints else self.config.keep_checkpoints)
        self.account.quality = self.target.record()
        self.account.write(stop_reason, self.step, self.train_images)
        return path

    def refresh_ema(self) -> None:
        """Recompute the EMA copy's BatchNorm statistics, once per step at most (see training/ema.py)."""
        if "ema" in self.modules and self.ema_stats_step != self.step:
            recompute_batchnorm(self.modules["ema"], self.config.model.latent_dim, self.num_classes,
                                self.config.seed + 3, self.device)
            self.ema_stats_step = self.step

    @property
    def sampler(self) -> torch.nn.Module:
        """The module that makes images: the EMA copy when there is one, its BatchNorm statistics fresh."""
        self.refresh_ema()
        return sampling_module(self.modules, self.config)

    def update_ema(self) -> None:
        update_ema(self.modules["ema"], self.modules[self.spec.sampler], self.config.ema_decay)

    def save_grid(self, name: str) -> Path:
        sampler = self.sampler
        sampler.eval()
        with torch.no_grad():
            images = sampler(self.fixed_noise, self.fixed_labels)
        sampler.train()
        k = self.num_classes
        return save_grid(images, self.run_dir.samples / name, nrow=k if 0 < k <= 16 else 8)

    def log_line(self, sums: dict[str, torch.Tensor], count: int, steps_per_s: float) -> dict[str, Any]:
        """One log.jsonl line: mean losses since the last line, throughput, energy so far."""
        wh, gco2, _ = self.account.totals()
        images_per_s = steps_per_s * self.config.batch_size * self.family.batches_per_step * self.dist.world_size
        return {
            "step": self.step,
            "epoch": round(self.epoch, 4),
            **{k: round(float(v) / count, 6) for k, v in sums.items()},
            "images_per_s": round(images_per_s, 2),
            "seconds": round(self.elapsed, 3),
            "wh": round(wh, 6),
            "gco2": round(gco2, 6),
        }

    def evaluate(self) -> dict[str, Any]:
        """Quality check on fixed latents (own RNG, eval mode: training state is untouched); logs eval.jsonl."""
        if self.evaluator is None:
            names = parse_metrics(self.config.eval_metrics)
            names += [self.target.watched] if self.target.watched not in names else []
            self.evaluator = Evaluator.for_data(self.data, self.config.eval_extractor, names, self.device,
                                                self.config.seed)
            latent_gen = torch.Generator().manual_seed(self.config.seed + 2)
            self.eval_noise = torch.randn(self.config.eval_n, self.config.model.latent_dim, generator=latent_gen)
            k = self.num_classes
            self.eval_labels = torch.arange(self.config.eval_n) % k if k else None
        sampler = self.sampler
        sampler.eval()
        with torch.no_grad():
            labels = self.eval_labels.split(256) if self.eval_labels is not None else [None] * len(self.eval_noise.split(256))
            images = torch.cat([sampler(z.to(self.device), None if y is None else y.to(self.device)).float()
                                for z, y in zip(self.eval_noise.split(256), labels)])
        sampler.train()
        scores = self.evaluator.score(images)
        wh, gco2, _ = self.account.totals()
        previous = self.account.previous
        eval_wh = self.account.tracker.report().wh("eval") + (previous.phases["eval"].wh if previous and "eval" in previous.phases else 0.0)
        line = {"step": self.step, "seconds": round(self.elapsed, 3), "wh": wh, "wh_train": wh - eval_wh, "gco2": gco2,
                **scores}
        jsonl.append(self.run_dir.evals, line)
        return line

    def describe(self, line: dict[str, Any], steps_per_s: float) -> str:
        """The progress bar's text: losses, throughput, FLOP/s (and share of peak) and Wh so far."""
        info = "  ".join(f"{k} {line[k]:.3f}" for k in ("loss_d", "loss_g", "loss", "kl") if k in line)
        rate = self.flops_per_step * steps_per_s
        util = f" ({rate / self.account.peak:.0%} of peak)" if self.account.peak else ""
        return f"{info}  {line['images_per_s']:,.0f} img/s  {rate / 1e9:.1f} GFLOP/s{util}  {line['wh']:.3f} Wh"

    def run(self, callbacks: list[Callback] | None = None) -> TrainResult:
        """Step to the configured end; ``callbacks`` come after the default schedule's."""
        cfg, total, tracker = self.config, self.total_steps, self.account.tracker
        self.session_start = time.perf_counter()
        batch_index = self.step * self.family.batches_per_step

        B, rank = cfg.batch_size, self.dist.rank

        def next_real() -> tuple[torch.Tensor, torch.Tensor | None]:
            nonlocal batch_index
            idx = self.stream.indices(batch_index)[rank * B : (rank + 1) * B].to(self.device)
            batch_index += 1
            labels = None if self.labels is None else self.labels.index_select(0, idx)
            return self.images.index_select(0, idx), labels

        first = None if self.labels is None else self.labels[: cfg.batch_size]
        step_flops = {phase: n for phase, n in self.family.flop_counts(self.images[: cfg.batch_size], first).items()
                      if phase != "image"}
        self.flops_per_step = sum(step_flops.values())
        stop_reason = "completed"
        with self.dist.guard(), tracker, GracefulStop() as stop, make_progress(self.progress) as bar:
            hooks = [c for c in default_callbacks(stop) + list(callbacks or []) if self.writer or not c.writes]
            task = bar.add_task("train", total=total, completed=self.step, info="")
            while self.step < total:
                reason = self.dist.agree(next((r for c in hooks if (r := c.before_step(self))), None))
                if reason:
                    stop_reason = reason
                    break
                if self.dist.enabled:  # per-rank noise, a function of (seed, step, rank): exact resumes
                    self.noise_gen.manual_seed(self.dist.noise_seed(cfg.seed, self.step))
                with autocast(self.precision, self.device):
                    self.last_metrics = self.family.step(next_real, self.noise_gen, tracker, self.step)
                for phase, n in step_flops.items():
                    tracker.add_flops(phase, n)
                if "ema" in self.modules:
                    with tracker.phase("g_step"):
                        self.update_ema()
                self.step += 1
                reason = None
                for callback in hooks:
                    reason = callback.after_step(self) or reason
                    if reason:
                        break
                reason = self.dist.agree(reason)
                bar.update(task, completed=self.step, info="  ".join(v for v in self.status.values() if v))
                if reason:
                    stop_reason = reason
                    break
            for callback in hooks:
                callback.at_end(self, stop_reason)
        record = self.account.write(stop_reason, self.step, self.train_images) if self.writer else None
        return TrainResult(
            run_dir=self.run_dir.root,
            step=self.step,
            total_steps=total,
            stop_reason=stop_reason,
            seconds=time.perf_counter() - self.session_start,
            last={k: v for k, v in self.last_line.items() if k.startswith(("loss", "d_", "recon", "kl"))},
            record=record,
            rank=self.dist.rank,
            checkpoints=len(checkpoint.list_checkpoints(self.run_dir.checkpoints)),
        )
