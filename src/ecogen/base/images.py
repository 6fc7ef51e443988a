"""Tensors in [-1, 1] to PNG files (Pillow; no torchvision)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from ecogen.base import atomic


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N x C x H x W in [-1, 1] -> N x H x W x C uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images into one H x W x C uint8 array, ``nrow`` per row (default: near-square)."""
    arrays = to_uint8(images)
    n, h, w, c = arrays.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.zeros((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), dtype=np.uint8)
    for i, img in enumerate(arrays):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y : y + h, x : x + w] = img
    return grid


def _pnginfo(text: dict[str, str] | None) -> PngImagePlugin.PngInfo | None:
    if not text:
        return None
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    return info


def label_rows(grid: np.ndarray, labels: list[str], padding: int = 2) -> np.ndarray:
    """The grid with a column on its left naming each row (``--grid-by-class``: the class of each row)."""
    rows = len(labels)
    row_h = (grid.shape[0] - padding) / rows
    font = ImageFont.load_default(size=max(8, min(14, int(row_h * 0.6))))
    width = padding * 3 + max(int(font.getlength(label)) for label in labels)
    column = Image.new("L", (width, grid.shape[0]), 0)
    draw = ImageDraw.Draw(column)
    for r, label in enumerate(labels):
        draw.text((padding * 2, padding + (r + 0.5) * row_h), label, fill=255, font=font, anchor="lm")
    pixels = np.asarray(column)[..., None].repeat(grid.shape[-1], axis=-1)
    return np.concatenate([pixels, grid], axis=1)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, text: dict[str, str] | None = None,
              row_labels: list[str] | None = None) -> Path:
    """One image tiling ``images``, with ``row_labels`` down its left side if given; ``text`` goes into
    PNG text chunks."""
    grid = make_grid(images, nrow)
    return save_png(label_rows(grid, row_labels) if row_labels else grid, Path(path), text)


def save_png(image: np.ndarray, path: Path, text: dict[str, str] | None = None) -> Path:
    """One H x W x C uint8 image to ``path``, with ``text`` in PNG text chunks; written atomically, so a
    full disk or a kill leaves the old file or none, never a truncated one."""
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    extra = {"pnginfo": _pnginfo(text)} if fmt == "PNG" else {"comment": next(iter((text or {}).values()), "")}
    atomic.write_with(path, lambda tmp: to_pil(image).save(tmp, format=fmt, **extra))
    return path


def save_images(
    images: torch.Tensor, folder: str | Path, start: int = 0, text: dict[str, str] | None = None
) -> list[Path]:
    """One PNG per image, numbered from ``start``; ``text`` goes into each file's PNG text chunks."""
    folder = Path(folder)
    return [save_png(img, folder / f"{i:06d}.png", text) for i, img in enumerate(to_uint8(images), start=start)]
