"""Shared layer helpers: resolution plans and DCGAN initialisation."""

from __future__ import annotations

import math

import torch
from torch import nn

from ecogen.errors import ConfigError

BASE_WIDTH = 64


def resolution_plan(image_size: int) -> tuple[int, int]:
    """Return (start, n_up): the image grows from start x start by n_up doublings.

    32 and 64 start at 4x4 (the classic DCGAN); 28 starts at 7x7. Any 4 * 2^n or 7 * 2^n (n >= 1) works.
    """
    for start in (4, 7):
        n = math.log2(image_size / start) if image_size >= start else -1
        if n >= 1 and n == int(n):
            return start, int(n)
    raise ConfigError(
        f"data.image_size: {image_size} is not supported by the DCGAN; use 4 * 2^n or 7 * 2^n "
        "(8, 14, 16, 28, 32, 56, 64, 128, ...)"
    )


def widths(n_up: int, width_mult: float) -> list[int]:
    """Channel widths from the lowest to the highest resolution: 64*m*2^(n-1) ... 64*m."""
    base = max(1, round(BASE_WIDTH * width_mult))
    return [base * 2 ** (n_up - 1 - i) for i in range(n_up)]


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights as in Radford et al.; BatchNorm scales N(1, 0.02), zero shifts."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ClassBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (conditional BatchNorm, as in SNGAN and
    BigGAN generators): the class reaches every layer of the generator, not only its input."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        nn.init.normal_(self.scale.weight, 1.0, 0.02)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(y)[:, :, None, None] + self.shift(y)[:, :, None, None]
