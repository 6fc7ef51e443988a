"""The training loop: schedule, data feeding, logging, grids, checkpoints and the bill, for every family.

The family (see families.py) owns what one step does; this file owns when things happen. Every phase
runs inside ``tracker.phase(...)``, so the run's energy is split by phase where the loop already
separates them.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ecogen import checkpoint
from ecogen.config import TrainConfig, to_dict
from ecogen.data import BatchStream, PreparedData
from ecogen.models import MODELS, build_model
from ecogen.models.dcgan import num_classes
from ecogen.report import record as records
from ecogen.report.images import save_grid
from ecogen.metrics.evaluate import Evaluator, parse_metrics
from ecogen.metrics.extractors import EXTRACTORS
from ecogen.report.plots import quality_vs_energy, read_jsonl
from ecogen.report.progress import make_progress
from ecogen.rundir import RunDir
from ecogen.training.accounting import RunAccount
from ecogen.training.families import FAMILIES
from ecogen.training.interrupt import GracefulStop
from ecogen.training.precision import autocast, resolve_precision
from ecogen.training.targets import QualityTarget

GRID_SIZE = 64


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int
    total_steps: int
    stop_reason: str  # completed | interrupted | budget_* | target_fid | target_kid | already_done
    seconds: float  # training seconds in this session
    last: dict[str, float] = field(default_factory=dict)
    record: records.RunRecord | None = None


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
    ) -> None:
        self.config, self.run_dir, self.device = config, run, device
        self.spec = MODELS.get(config.model.name)
        channels = data.config.channels or 1
        self.modules = build_model(config.model, config.data.image_size, channels, config.seed).to(device)
        if config.ema_decay is not None:  # saved and restored with the other modules
            self.modules["ema"] = copy.deepcopy(self.modules[self.spec.sampler]).requires_grad_(False)
        self.family = FAMILIES.get(self.spec.family)(self.modules, config)
        self.precision = resolve_precision(config.precision, device)
        self.target = QualityTarget.from_config(config)
        self.eval_every = config.eval_every or (100 if self.target.metric else None)
        self.images = torch.from_numpy(data.train.images).to(device)
        if config.channels_last:
            self.modules = self.modules.to(memory_format=torch.channels_last)
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.conditional = config.model.conditional
        self.labels = torch.from_numpy(data.train.labels).to(device) if self.conditional else None
        self.stream = BatchStream(len(self.images), config.batch_size, config.seed)
        self.noise_gen = torch.Generator(device).manual_seed(config.seed)
        grid_gen = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_noise = torch.randn(GRID_SIZE, config.model.latent_dim, generator=grid_gen).to(device)
        k = self.num_classes = num_classes(config.model)
        self.fixed_labels = (torch.arange(GRID_SIZE) % k).to(device) if k else None  # a column per class
        self.account = RunAccount(config.energy, run, device, previous)
        self.data = data
        self.evaluator: Evaluator | None = None  # built at the first quality check, inside the eval phase
        if self.eval_every:  # fail on a bad metric or extractor name now, not mid-run
            parse_metrics(config.eval_metrics)
            EXTRACTORS.get(config.eval_extractor.partition(":")[0])
        self.progress = progress
        self.step = 0
        self.elapsed_before = 0.0  # training seconds of earlier sessions of this run
        self._session_start = time.perf_counter()

    @property
    def total_steps(self) -> int:
        return total_steps(self.config, self.stream.batches_per_epoch, self.family.batches_per_step)

    @property
    def epoch(self) -> float:
        return self.step * self.family.batches_per_step / self.stream.batches_per_epoch

    @property
    def train_images(self) -> int:
        return self.step * self.family.batches_per_step * self.config.batch_size

    @property
    def elapsed(self) -> float:
        """Training seconds over all sessions of this run."""
        return self.elapsed_before + time.perf_counter() - self._session_start

    def restore(self, ckpt: checkpoint.Checkpoint) -> None:
        for name, module in self.modules.items():
            checkpoint.restore_module(module, ckpt.module_state(name), ckpt.path)
        for name, optimizer in self.family.optimizers.items():
            checkpoint.restore_optimizer(optimizer, name, ckpt)
        self.noise_gen.set_state(ckpt.tensors["rng.noise"])
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
        }
        rng = {"noise": self.noise_gen.get_state()}
        folder = folder or self.run_dir.checkpoints
        path = checkpoint.save(folder, self.step, self.modules, self.family.optimizers, rng, meta)
        checkpoint.prune(folder, 1 if folder != self.run_dir.checkpoints else self.config.keep_checkpoints)
        self.account.quality = self.target.record()
        self.account.write(stop_reason, self.step, self.train_images)
        return path

    @property
    def sampler(self) -> torch.nn.Module:
        """The module that makes images: the EMA copy when there is one."""
        return self.modules["ema"] if "ema" in self.modules else self.modules[self.spec.sampler]

    @torch.no_grad()
    def update_ema(self) -> None:
        live, ema = self.modules[self.spec.sampler], self.modules["ema"]
        torch._foreach_lerp_(list(ema.parameters()), list(live.parameters()), 1.0 - self.config.ema_decay)
        for b_ema, b in zip(ema.buffers(), live.buffers()):
            b_ema.copy_(b)

    def save_grid(self, name: str) -> Path:
        sampler = self.sampler
        sampler.eval()
        with torch.no_grad():
            images = sampler(self.fixed_noise, self.fixed_labels)
        sampler.train()
        k = self.num_classes
        return save_grid(images, self.run_dir.samples / name, nrow=k if 0 < k <= 16 else 8)

    def _log(self, sums: dict[str, torch.Tensor], count: int, images_per_s: float) -> dict[str, Any]:
        wh, gco2, _ = self.account.totals()
        record = {k: round(float(v) / count, 6) for k, v in sums.items()}
        line = {
            "step": self.step,
            "epoch": round(self.epoch, 4),
            **record,
            "images_per_s": round(images_per_s, 2),
            "seconds": round(self.elapsed, 3),
            "wh": round(wh, 6),
            "gco2": round(gco2, 6),
        }
        with open(self.run_dir.log, "a") as handle:
            handle.write(json.dumps(line) + "\n")
        return line

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
        with open(self.run_dir.evals, "a") as handle:
            handle.write(json.dumps(line) + "\n")
        return line

    def _info(self, line: dict[str, Any], flops_per_step: int, steps_per_s: float) -> str:
        info = "  ".join(f"{k} {line[k]:.3f}" for k in ("loss_d", "loss_g", "loss", "kl") if k in line)
        rate = flops_per_step * steps_per_s
        util = f" ({rate / self.account.peak:.0%} of peak)" if self.account.peak else ""
        return f"{info}  {line['images_per_s']:,.0f} img/s  {rate / 1e9:.1f} GFLOP/s{util}  {line['wh']:.3f} Wh"

    def run(self) -> TrainResult:
        cfg, total, tracker = self.config, self.total_steps, self.account.tracker
        self._session_start = time.perf_counter()
        batch_index = self.step * self.family.batches_per_step

        def next_real() -> tuple[torch.Tensor, torch.Tensor | None]:
            nonlocal batch_index
            idx = self.stream.indices(batch_index).to(self.device)
            batch_index += 1
            labels = None if self.labels is None else self.labels.index_select(0, idx)
            return self.images.index_select(0, idx), labels

        first = None if self.labels is None else self.labels[: cfg.batch_size]
        flops = self.family.flop_counts(self.images[: cfg.batch_size], first)
        step_flops = {phase: n for phase, n in flops.items() if phase != "image"}
        flops_per_step = sum(step_flops.values())
        sums: dict[str, torch.Tensor] = {}
        count, last, stop_reason = 0, {}, "completed"
        window_start, window_step = time.perf_counter(), self.step
        with tracker, GracefulStop() as stop, make_progress(self.progress) as bar:
            task = bar.add_task("train", total=total, completed=self.step, info="")
            while self.step < total:
                reason = "interrupted" if stop.requested else self.account.budget_reason()
                if reason:
                    stop_reason = reason
                    break
                with autocast(self.precision, self.device):
                    metrics = self.family.step(next_real, self.noise_gen, tracker, self.step)
                for phase, n in step_flops.items():
                    tracker.add_flops(phase, n)
                if "ema" in self.modules:
                    with tracker.phase("g_step"):
                        self.update_ema()
                self.step += 1
                for k, v in metrics.items():
                    sums[k] = sums[k] + v if k in sums else v.clone()
                count += 1
                if self.step % cfg.log_every == 0 or self.step == total:
                    now = time.perf_counter()
                    steps_per_s = (self.step - window_step) / max(now - window_start, 1e-9)
                    last = self._log(sums, count, steps_per_s * cfg.batch_size * self.family.batches_per_step)
                    bar.update(task, info=self._info(last, flops_per_step, steps_per_s))
                    sums, count, window_start, window_step = {}, 0, now, self.step
                bar.update(task, completed=self.step)
                if self.step % cfg.sample_every == 0:
                    with tracker.phase("sample"):
                        self.save_grid(f"step_{self.step:08d}.png")
                if self.eval_every and (self.step % self.eval_every == 0 or self.step == total):
                    with tracker.phase("eval"):
                        quality = self.evaluate()
                        better, met = self.target.update(quality)
                        if better and self.target.metric:
                            self.save_checkpoint("running", folder=self.run_dir.best)
                    bar.update(task, info=bar.tasks[task].fields["info"] + "  " + "  ".join(
                        f"{k} {quality[k]:.3g}" for k in ("fid", "kid") if k in quality))
                    if met:
                        stop_reason = f"target_{self.target.metric}"
                        break
                if self.step % cfg.checkpoint_every == 0 and self.step < total:
                    with tracker.phase("checkpoint"):
                        self.save_checkpoint("running")
            with tracker.phase("sample"):
                self.save_grid("latest.png")
            with tracker.phase("checkpoint"):
                self.save_checkpoint(stop_reason)
        record = self.account.write(stop_reason, self.step, self.train_images)  # final, tracker stopped
        quality_vs_energy(read_jsonl(self.run_dir.evals), self.run_dir.quality_plot, str(self.run_dir.root))
        return TrainResult(
            run_dir=self.run_dir.root,
            step=self.step,
            total_steps=total,
            stop_reason=stop_reason,
            seconds=time.perf_counter() - self._session_start,
            last={k: v for k, v in last.items() if k.startswith(("loss", "d_", "recon", "kl"))},
            record=record,
        )
