"""The one in-memory form every data source returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageSet:
    """Images as float32 N x C x H x W in [-1, 1], with optional integer labels."""

    images: np.ndarray
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    holdout: np.ndarray | None = None  # the source's own held-out split (an official test set), as indices

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"images must be N x C x H x W, got shape {self.images.shape}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError("labels and images differ in length")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names: the source's own, else the label numbers as text (none without labels)."""
        if self.class_names:
            return self.class_names
        return numbered_classes(self.labels)

    def subset(self, index: np.ndarray) -> ImageSet:
        labels = None if self.labels is None else self.labels[index]
        return ImageSet(self.images[index], labels, self.class_names)  # a part has no official split of its own


def numbered_classes(labels: np.ndarray | None) -> tuple[str, ...]:
    """"0" .. "K-1" for labels 0..K-1: the names of classes a source did not name."""
    return () if labels is None or not len(labels) else tuple(str(c) for c in range(int(labels.max()) + 1))


def to_unit_range(array: np.ndarray) -> np.ndarray:
    """Map uint8 (0..255), [0, 1] or [-1, 1] arrays to float32 [-1, 1]."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 127.5 - 1.0
    x = array.astype(np.float32)
    if x.size and x.max() > 1.0:  # 0..255 stored as float
        return x / 127.5 - 1.0
    if x.size and x.min() < 0.0:  # already [-1, 1]
        return np.clip(x, -1.0, 1.0)
    return x * 2.0 - 1.0
