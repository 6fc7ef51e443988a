"""DiffAugment (Zhao et al. 2020): the same random, differentiable augmentations on real and generated
images before the discriminator sees them, so D overfits a small data set later. G's gradient flows
through the augmentation, so G still learns the un-augmented distribution.

Draws come from the run's own noise generator, so a resumed run stays bitwise equal.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ecogen.errors import ConfigError, EcogenError
from ecogen.registry import Registry

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTS: Registry[Augment] = Registry("augmentation")


def _uniform(n: int, rng: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=rng, device=x.device).to(x.dtype)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Brightness shift in [-0.5, 0.5) and contrast scale in [0.5, 1.5) per image."""
    x = x + (_uniform(len(x), rng, x) - 0.5)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(len(x), rng, x) + 0.5) + mean


def translation(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sh, sh + 1, (n, 1), generator=rng, device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1), generator=rng, device=x.device)
    padded = F.pad(x, [sw, sw, sh, sh])
    rows = torch.arange(h, device=x.device)[None, :] + sh - dy  # n x h
    cols = torch.arange(w, device=x.device)[None, :] + sw - dx  # n x w
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, rng: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` x the image size at a random place inside each image."""
    n, _, h, w = x.shape
    ch, cw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    y0 = torch.randint(0, h - ch + 1, (n, 1, 1), generator=rng, device=x.device)
    x0 = torch.randint(0, w - cw + 1, (n, 1, 1), generator=rng, device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTS.add("color", color)
AUGMENTS.add("translation", translation)
AUGMENTS.add("cutout", cutout)


def parse_policy(policy: str) -> list[Augment]:
    """``"translation,cutout"`` -> the functions, in order; ``"none"`` or ``""`` -> no augmentation."""
    names = [p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none"]
    try:
        return [AUGMENTS.get(name) for name in names]
    except EcogenError as err:
        raise ConfigError(f"augment: {err}") from None


def apply_policy(x: torch.Tensor, policy: list[Augment], rng: torch.Generator) -> torch.Tensor:
    for augment in policy:
        x = augment(x, rng)
    return x
