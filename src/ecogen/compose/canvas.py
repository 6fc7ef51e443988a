"""Placing elements on a canvas: scale, rotate, an alpha from the element itself, a mask or a
feathered edge, then alpha-blend at the element's centre."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from ecogen.compose.elements import read_unit_image
from ecogen.compose.spec import Canvas, Element
from ecogen.errors import EcogenError
from ecogen.compose.registries import ALPHAS



MAX_ELEMENT_SIDE = 16_384  # the largest canvas a spec allows, twice over


@ALPHAS.register("intensity")
def _intensity(image: np.ndarray, element: Element) -> np.ndarray:
    """Bright is opaque: right for light strokes on a dark ground (generated digits)."""
    return image.mean(axis=2)


@ALPHAS.register("over")
def _over(image: np.ndarray, element: Element) -> np.ndarray:
    return np.ones(image.shape[:2], dtype=np.float32)


@ALPHAS.register("feather")
def _feather(image: np.ndarray, element: Element) -> np.ndarray:
    """Opaque inside, fading linearly to 0 over ``feather`` pixels at the border."""
    if element.feather == 0:
        return _over(image, element)
    inside = np.pad(np.ones(image.shape[:2], dtype=bool), 1, constant_values=False)
    distance = ndimage.distance_transform_edt(inside)[1:-1, 1:-1]
    return np.clip(distance / element.feather, 0, 1).astype(np.float32)


@ALPHAS.register("mask")
def _mask(image: np.ndarray, element: Element) -> np.ndarray:
    mask = read_unit_image(Path(element.mask)).mean(axis=2)
    if mask.shape != image.shape[:2]:
        mask = np.asarray(Image.fromarray(mask).resize(image.shape[1::-1], Image.Resampling.BILINEAR))
    return mask


def background(canvas: Canvas, channels: int) -> np.ndarray:
    value = np.asarray(canvas.background, dtype=np.float32) / 255.0
    if value.ndim and len(value) != 3:
        raise EcogenError("canvas.background: a grey level or [r, g, b]")
    return np.broadcast_to(value, (canvas.height, canvas.width, channels)).copy()


def _transform(array: np.ndarray, scale: float, rotation: float, resample: Image.Resampling) -> np.ndarray:
    img = Image.fromarray(array.astype(np.float32), mode="F")
    if scale != 1.0:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, resample)
    if rotation:
        img = img.rotate(rotation, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0.0)
    return np.asarray(img, dtype=np.float32)


def place(canvas: np.ndarray, image: np.ndarray, element: Element) -> None:
    """Blend ``image`` (H x W x C in [0, 1]) into ``canvas`` in place, centred at (x, y)."""
    side = max(image.shape[:2]) * element.scale
    if side > MAX_ELEMENT_SIDE:
        raise EcogenError(f"an element {image.shape[1]}x{image.shape[0]} at scale {element.scale:g} would be "
                          f"{side:,.0f} px across (at most {MAX_ELEMENT_SIDE:,}); use a smaller scale")
    alpha = ALPHAS.get(element.blend)(image, element) * element.opacity
    resample = Image.Resampling.BICUBIC
    planes = [_transform(image[..., c], element.scale, element.rotation, resample) for c in range(image.shape[2])]
    alpha = np.clip(_transform(alpha, element.scale, element.rotation, resample), 0, 1)
    layer = np.clip(np.stack(planes, axis=2), 0, 1)
    if layer.shape[2] != canvas.shape[2]:
        layer = np.repeat(layer, canvas.shape[2], axis=2) if layer.shape[2] == 1 else layer.mean(2, keepdims=True)
    h, w = alpha.shape
    top, left = int(round(element.y - h / 2)), int(round(element.x - w / 2))
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, canvas.shape[0]), min(left + w, canvas.shape[1])
    if y0 >= y1 or x0 >= x1:
        return  # entirely outside the canvas
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + layer[y0 - top : y1 - top, x0 - left : x1 - left] * a
