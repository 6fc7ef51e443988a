"""Shared layer helpers: resolution plans and DCGAN initialisation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

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


def dcgan_init(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """N(0, 0.02) weights as in Radford et al.; BatchNorm scales N(1, 0.02), zero shifts, fresh running
    statistics. Draws from ``generator`` (the caller's RNG when None), so a build never touches global state."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") else module.weight
        nn.init.normal_(weight, 0.0, 0.02, generator=generator)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        module.reset_running_stats()
        if module.affine:
            nn.init.normal_(module.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(module.bias)
    elif isinstance(module, ClassBatchNorm):
        nn.init.normal_(module.scale.weight, 1.0, 0.02, generator=generator)
        nn.init.zeros_(module.shift.weight)


@torch.no_grad()
def redraw_spectral(module: nn.Module, generator: torch.Generator | None) -> None:
    """Spectral norm's power-iteration vectors, drawn again for the current weights, as registering it
    does (normalised Gaussian u and v, then 15 iterations)."""
    sn = module.parametrizations.weight[0]
    matrix = sn._reshape_weight_to_matrix(module.parametrizations.weight.original)
    for vector, size in ((sn._u, matrix.shape[0]), (sn._v, matrix.shape[1])):
        vector.copy_(F.normalize(torch.randn(size, generator=generator), dim=0, eps=sn.eps))
    sn._power_method(matrix, 15)


class ClassBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (conditional BatchNorm, as in SNGAN and
    BigGAN generators): the class reaches every layer of the generator, not only its input."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(y)[:, :, None, None] + self.shift(y)[:, :, None, None]
