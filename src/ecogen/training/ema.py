"""An EMA generator that works with BatchNorm: its weights average the live ones, its statistics are its own.

Averaged weights paired with the live network's BatchNorm statistics give poor images (measured: FID 49
where the live generator scored 14), because the statistics belong to other weights. So the EMA copy's
statistics are recomputed from its own outputs (a cumulative mean over a few fixed batches of noise)
whenever it is about to be used: for a check, a grid or a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ecogen.models.restore import EMA
from ecogen.training.hooks import Hooks, LoopState, RunContext

RECOMPUTE_BATCHES = 4
RECOMPUTE_BATCH = 256


@torch.no_grad()
def update_ema(ema: nn.Module, live: nn.Module, decay: float) -> None:
    """ema <- decay x ema + (1 - decay) x live, for the parameters only."""
    torch._foreach_lerp_(list(ema.parameters()), list(live.parameters()), 1.0 - decay)


def decay_at(decay: float, step: int, warmup: bool) -> float:
    """The EMA's decay after ``step`` updates: with a warm-up it ramps as (1 + t) / (10 + t), the schedule
    of TensorFlow's ExponentialMovingAverage(num_updates), so the average forgets its random start."""
    return min(decay, (1.0 + step) / (10.0 + step)) if warmup else decay


@torch.no_grad()
def recompute_batchnorm(module: nn.Module, latent_dim: int, num_classes: int, seed: int,
                        device: torch.device) -> None:
    """Reset every BatchNorm's running statistics and re-estimate them on fixed noise (and classes)."""
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative mean over the batches below
    rng = torch.Generator().manual_seed(seed)
    was_training = module.training
    module.train()
    for _ in range(RECOMPUTE_BATCHES):
        z = torch.randn(RECOMPUTE_BATCH, latent_dim, generator=rng).to(device)
        y = torch.randint(num_classes, (RECOMPUTE_BATCH,), generator=rng).to(device) if num_classes else None
        module(z, y)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    module.train(was_training)


class EmaSampler:
    """The module that makes images at a step: the EMA copy when there is one, else the live sampler, behind
    what the model puts in front (a VAE's fitted prior: ModelSpec.compose). Once per step at most (for a
    check, a grid or a checkpoint) ``refit`` refreshes that front from the training images and the EMA
    copy's BatchNorm statistics are recomputed from the latents it will read. ``final``: the call of a
    stopped run's last grid or checkpoint, at a step an uninterrupted run may not refit at."""

    def __init__(self, modules: nn.ModuleDict, sampler_name: str, latent_dim: int, num_classes: int, seed: int,
                 device: torch.device, compose: Callable[[nn.ModuleDict, nn.Module], nn.Module] | None = None,
                 refit: Callable[[bool], None] | None = None) -> None:
        self.modules, self.name, self.device = modules, sampler_name, device
        self.latent_dim, self.num_classes, self.seed = latent_dim, num_classes, seed
        self.compose, self.refit = compose, refit
        self.stats_step = -1

    def __call__(self, step: int, final: bool = False) -> nn.Module:
        ema = EMA in self.modules
        module = self.modules[EMA] if ema else self.modules[self.name]
        if self.compose is not None:
            module = self.compose(self.modules, module)
        if self.stats_step != step:
            if self.refit is not None:
                self.refit(final)
            if ema:
                recompute_batchnorm(module, self.latent_dim, self.num_classes, self.seed + 3, self.device)
            self.stats_step = step
        return module


class EmaUpdates(Hooks):
    """After every step (billed to the phase that updates the sampler: ``g_step`` for a GAN): the EMA copy
    moves toward the live generator."""

    def __init__(self, sampler_name: str, phase: str = "g_step") -> None:
        self.name, self.phase = sampler_name, phase

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        if EMA in run.modules:
            with run.account.tracker.phase(self.phase):
                decay = decay_at(run.config.ema_decay, state.step, run.config.ema_warmup)
                update_ema(run.modules[EMA], run.modules[self.name], decay)
        return None
