"""Fréchet Inception Distance: ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), in float64.

tr((S1 S2)^(1/2)) = tr((A S2 A)^(1/2)) with A = S1^(1/2): both square roots are of symmetric PSD
matrices, taken by eigendecomposition with negative round-off clamped to zero. That stays real and
finite where scipy.linalg.sqrtm of the non-symmetric S1 S2 can return complex noise or NaN.
"""

from __future__ import annotations

import numpy as np

from ecogen.errors import EcogenError


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(features) < 2:
        raise EcogenError(f"FID needs at least 2 images per set (got {len(features)})")
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    root1 = _psd_sqrt(s1)
    middle = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt, 0.0))


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
