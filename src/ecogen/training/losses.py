"""Adversarial losses, all from logits in numerically stable form (softplus, never log(sigmoid)).

With D(x) = sigmoid(l): -log D(x) = softplus(-l) and -log(1 - D(x)) = softplus(l).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ecogen.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class AdversarialLoss:
    """``d(real_logits, fake_logits)`` is minimised by D, ``g(fake_logits)`` by G."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    doc: str


LOSSES: Registry[AdversarialLoss] = Registry("loss")


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))]."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


LOSSES.add(
    "minimax",
    AdversarialLoss(
        d=_bce_d,
        g=lambda fake: -F.softplus(fake).mean(),  # E[log(1 - D(G(z)))]; saturates when D wins
        doc="original GAN game: G minimises E[log(1 - D(G(z)))]",
    ),
)
LOSSES.add(
    "nonsaturating",
    AdversarialLoss(
        d=_bce_d,
        g=lambda fake: F.softplus(-fake).mean(),  # -E[log D(G(z))]
        doc="G maximises E[log D(G(z))]: strong gradients early in training (the default)",
    ),
)
LOSSES.add(
    "hinge",
    AdversarialLoss(
        d=lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
        g=lambda fake: -fake.mean(),
        doc="hinge loss (Lim & Ye; SAGAN, BigGAN)",
    ),
)
