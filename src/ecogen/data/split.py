"""A fixed, seeded train / held-out split, recorded in the run so evaluation uses unseen images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    holdout: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": self.train.tolist(), "holdout": self.holdout.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, list[int]]) -> Split:
        return cls(np.asarray(values["train"], dtype=np.int64), np.asarray(values["holdout"], dtype=np.int64))


def make_split(n: int, holdout: float, seed: int) -> Split:
    """Shuffle indices with their own seeded generator; the held-out part is the first ``holdout`` share."""
    order = np.random.default_rng(seed).permutation(n)
    n_holdout = int(round(n * holdout))
    return Split(np.sort(order[n_holdout:]), np.sort(order[:n_holdout]))
