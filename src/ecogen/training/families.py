"""Training families: how a model's modules are stepped. The loop is shared by all of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn

from ecogen.config import TrainConfig
from ecogen.registry import Registry
from ecogen.training.denoising import DenoisingFamily
from ecogen.training.gan import GanFamily
from ecogen.training.phases import PhaseMeter
from ecogen.training.vae import VaeFamily

Batch = Callable[[], tuple[torch.Tensor, torch.Tensor | None]]  # the next real images (and labels)


class Family(Protocol):
    """What the loop needs from a family; the family owns the step's math and its optimizers."""

    optimizers: dict[str, torch.optim.Optimizer]  # by name, saved and restored with checkpoints
    batches_per_step: int  # real batches one step consumes
    update_phase: str  # the energy phase that updates the sampling module (its EMA is billed there too)
    state: dict[str, torch.Tensor]  # tensors of its own a checkpoint keeps and a resume restores in place (ADA's p)

    def step(self, next_real: Batch, rng: torch.Generator, meter: PhaseMeter, step: int) -> dict[str, torch.Tensor]:
        """One optimisation step, each phase inside ``meter.phase(...)``; returns its losses."""

    def flop_counts(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, int]:
        """FLOPs per phase of one step, and of one generated image (``image``)."""


FAMILIES: Registry[Callable[[nn.ModuleDict, TrainConfig], Family]] = Registry("training family")
FAMILIES.add("gan", GanFamily)
FAMILIES.add("vae", VaeFamily)
FAMILIES.add("denoising", DenoisingFamily)  # diffusion and flow: the objective lives in the model
