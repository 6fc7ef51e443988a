"""Learning-rate decay over the run: a registry of factors of the run's progress, applied before each step.

The factor depends only on the step and the run's length, so a resumed run continues the same schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ecogen.registry import Registry

# progress in [0, 1] after the decay starts -> factor on every optimizer's learning rate
DECAYS: Registry[Callable[[float], float]] = Registry("learning-rate decay")
DECAYS.add("none", lambda t: 1.0)
DECAYS.add("linear", lambda t: 1.0 - t)
DECAYS.add("cosine", lambda t: 0.5 * (1.0 + math.cos(math.pi * t)))


def lr_factor(decay: str, start: float, step: int, total: int) -> float:
    """The factor at ``step`` of ``total``: 1 until ``start`` (a fraction of the run), then the decay to 0."""
    if total <= 0:
        return 1.0
    progress = step / total
    if progress <= start:
        return 1.0
    return DECAYS.get(decay)(min(1.0, (progress - start) / (1.0 - start)))


def base_learning_rates(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, list[float]]:
    """Each group's configured rate, read before a checkpoint's (decayed) rates are restored."""
    return {name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()}


def set_learning_rates(optimizers: dict[str, torch.optim.Optimizer], base: dict[str, list[float]],
                       factor: float) -> None:
    """Every group's rate = its configured rate x ``factor``."""
    for name, optimizer in optimizers.items():
        for group, rate in zip(optimizer.param_groups, base[name]):
            group["lr"] = rate * factor
