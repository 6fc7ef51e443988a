"""Kernel Inception Distance: unbiased MMD^2 with the cubic kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets (Binkowski et al. 2018). Unbiased, so it is trustworthy on small samples.
"""

from __future__ import annotations

import numpy as np

from ecogen.errors import EcogenError


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    m = len(x)
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(sum_xx + sum_yy - 2 * k_xy.mean())


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) over ``subsets``; the subset size is capped by the smaller set instead of failing."""
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise EcogenError(f"KID needs at least 2 images per set (got {len(real)} real, {len(fake)} generated)")
    x, y = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
