"""A fixed, seeded train / held-out split, recorded in the run so evaluation uses unseen images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    holdout: np.ndarray
    kind: str = "seeded"  # seeded (a share held out by data.split_seed) | official (the source's test split)

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "train": self.train.tolist(), "holdout": self.holdout.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, list[int]]) -> Split:
        kind = str(values.get("kind", "seeded"))
        if kind not in ("seeded", "official"):
            raise ValueError(f"unknown split kind {kind!r}")
        return cls(np.asarray(values["train"], dtype=np.int64), np.asarray(values["holdout"], dtype=np.int64), kind)


def official_split(n: int, holdout: np.ndarray) -> Split:
    """The source's own split: its test images held out, everything else trains (as papers report)."""
    held = np.unique(np.asarray(holdout, dtype=np.int64))
    return Split(np.setdiff1d(np.arange(n), held), held, "official")


def make_split(n: int, holdout: float, seed: int) -> Split:
    """Shuffle indices with their own seeded generator; the held-out part is the first ``holdout`` share."""
    order = np.random.default_rng(seed).permutation(n)
    n_holdout = int(round(n * holdout))
    return Split(np.sort(order[n_holdout:]), np.sort(order[:n_holdout]))
