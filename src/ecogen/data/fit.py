"""Fit images to the model's size and channel count (the stated resize method: bilinear, antialiased)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ecogen.data.imageset import ImageSet

# ITU-R BT.601 luma, the weights Pillow uses for RGB -> L.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)


def fit_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=1)
    return (images * _LUMA).sum(axis=1, keepdims=True, dtype=np.float32)


def fit_size(images: np.ndarray, size: int, mode: str = "auto") -> np.ndarray:
    """Pad (with the background value -1) or resize to ``size`` x ``size``.

    ``auto`` pads when the image is at most 25% smaller than the target (MNIST 28 -> 32 keeps every
    pixel), and resizes otherwise (8x8 digits -> 32 would be a dot in a frame).
    """
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    if mode == "auto":
        mode = "pad" if h <= size and w <= size and min(h, w) >= 0.75 * size else "resize"
    if mode == "pad" and h <= size and w <= size:
        top, left = (size - h) // 2, (size - w) // 2
        pads = ((0, 0), (0, 0), (top, size - h - top), (left, size - w - left))
        return np.pad(images, pads, constant_values=-1.0)
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(-1.0, 1.0).numpy()


def fit(data: ImageSet, size: int, channels: int, mode: str = "auto") -> ImageSet:
    images = fit_size(fit_channels(data.images, channels), size, mode)
    return ImageSet(np.ascontiguousarray(images, dtype=np.float32), data.labels, data.class_names)
