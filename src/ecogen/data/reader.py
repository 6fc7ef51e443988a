"""The one guarded image reader: every image file ecogen reads comes through ``load_image``.

A file is untrusted input. Whatever is wrong with it (not an image, truncated, a malformed chunk, a
"decompression bomb" whose header claims billions of pixels) ends as one ``DataError`` naming the file,
and a file larger than ``MAX_PIXELS`` is refused from its header, before anything is decoded. Pixel
formats are brought to 8-bit L or RGB by their value range, not by clipping: 16-bit images are scaled
(mid-grey stays mid-grey), float images in [0, 1] are scaled to 0..255. Transparent pixels (RGBA, LA,
palette or grey with a transparent colour) are composited on a background, white unless told.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ecogen.errors import DataError

MAX_PIXELS = 40_000_000  # ecogen works at tens to hundreds of pixels a side; 40 Mpx is a large photo
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def load_image(path: str | Path, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """The decoded image as 8-bit L (grey sources) or RGB (colour sources), or a DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies first
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise DataError(f"cannot read image {path}: {width}x{height} pixels is more than ecogen reads "
                                    f"({MAX_PIXELS / 1e6:.0f} Mpx)")
                img.load()
                return to_8bit(flatten(img, background))
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001  (a decoder failure of any kind means an unreadable file)
        raise DataError(f"cannot read image {path}: {err.__class__.__name__}") from None


def flatten(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """An image with transparency, composited on ``background``; grey stays grey (by BT.601 luma)."""
    if img.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in img.info:
        return img
    grey = img.mode in GREY_MODES or img.mode == "La"
    rgba = img.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (*background, 255)), rgba)
    return flat.convert("L" if grey else "RGB")


def to_8bit(img: Image.Image) -> Image.Image:
    """L or RGB at 8 bits, scaling high-bit-depth and float values by their range."""
    if img.mode in ("L", "RGB"):
        return img
    if img.mode.startswith("I") or img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            top = 1.0 if values.size and np.nanmax(values) <= 1.0 else 255.0  # [0, 1] floats, else 0..255
        else:
            top = 65535.0 if not values.size or values.max() <= 65535 else float(2**32 - 1)
        scaled = np.clip(np.nan_to_num(values / top * 255.0), 0, 255).round().astype(np.uint8)
        return Image.fromarray(scaled, "L")
    return img.convert("L" if img.mode in GREY_MODES else "RGB")
