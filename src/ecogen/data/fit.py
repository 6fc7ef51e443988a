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
    method = fit_method(h, w, size, mode)
    if method == "same":
        return images
    if method == "pad":
        top, left = (size - h) // 2, (size - w) // 2
        pads = ((0, 0), (0, 0), (top, size - h - top), (left, size - w - left))
        return np.pad(images, pads, constant_values=-1.0)
    return resize(images, (size, size))


def fit_method(h: int, w: int, size: int, mode: str = "auto") -> str:
    """What ``fit_size`` does to an h x w image: ``same``, ``pad`` or ``resize``."""
    if (h, w) == (size, size):
        return "same"
    if mode == "auto":
        mode = "pad" if h <= size and w <= size and min(h, w) >= 0.75 * size else "resize"
    return "pad" if mode == "pad" and h <= size and w <= size else "resize"


def unfit_size(images: np.ndarray, h: int, w: int, method: str) -> np.ndarray:
    """The inverse of ``fit_size``: crop the padding away, or resize back to h x w."""
    if method == "same":
        return images
    if method == "pad":
        size = images.shape[-1]
        top, left = (size - h) // 2, (size - w) // 2
        return images[..., top : top + h, left : left + w]
    return resize(images, (h, w))


def resize(images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear, antialiased when shrinking: the stated resize method."""
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    out = F.interpolate(tensor, size=shape, mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(-1.0, 1.0).numpy()


def fit(data: ImageSet, size: int, channels: int, mode: str = "auto") -> ImageSet:
    images = fit_size(fit_channels(data.images, channels), size, mode)
    return ImageSet(np.ascontiguousarray(images, dtype=np.float32), data.labels, data.class_names, data.holdout)
