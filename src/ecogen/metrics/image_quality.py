"""Per-image fidelity: PSNR and SSIM on [0, 1] pixels (inputs in [-1, 1]), for transformations."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.double() + 1) / 2).clamp(0, 1)


def mse(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image mean squared error on [0, 1] pixels, over ``mask`` (1 = counted) when given."""
    err = (_unit(x) - _unit(y)).pow(2)
    if mask is None:
        return err.flatten(1).mean(1)
    m = mask.double().expand_as(err)
    return (err * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp(min=1)


def psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return -10 * torch.log10(mse(x, y, mask).clamp(min=1e-12))


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004) with a Gaussian window; 7 px suits 28-32 px images."""
    a, b = _unit(x), _unit(y)
    coords = torch.arange(window, dtype=torch.float64) - window // 2
    g = torch.exp(-coords.pow(2) / (2 * sigma**2))
    g = (g / g.sum()).to(a)
    kernel = (g[:, None] * g[None, :]).expand(a.shape[1], 1, window, window)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=a.shape[1])

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a.pow(2), blur(b * b) - mu_b.pow(2)
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a.pow(2) + mu_b.pow(2) + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)
