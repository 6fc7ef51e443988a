"""Inception Score: exp(E_x KL(p(y|x) || p(y))), over splits; (mean, std) across splits."""

from __future__ import annotations

import numpy as np

from ecogen.errors import EcogenError


def inception_score(probs: np.ndarray, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """Images are shuffled (seeded) before splitting, so a set ordered by class is scored fairly."""
    p = np.asarray(probs, dtype=np.float64)
    p = p[np.random.default_rng(seed).permutation(len(p))]
    splits = min(splits, len(p))
    if splits < 1 or len(p) < 2:
        raise EcogenError(f"IS needs at least 2 images (got {len(p)})")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(np.clip(part, 1e-12, None)) - np.log(np.clip(marginal, 1e-12, None)))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
