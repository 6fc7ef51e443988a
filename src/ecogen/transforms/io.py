"""Reading inputs (one image or a folder) at the model's size, and writing outputs without ever
overwriting an input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ecogen.data.fit import fit_channels, fit_size
from ecogen.data.imageset import to_unit_range
from ecogen.data.reader import load_image
from ecogen.data.sources import IMAGE_SUFFIXES, read_image
from ecogen.errors import DataError, EcogenError

RESIZE_METHOD = "like the training data (pad or bilinear resize; grey <-> RGB by repetition / BT.601 luma)"


@dataclass(frozen=True)
class Inputs:
    images: torch.Tensor  # N x C x H x W in [-1, 1] at the model's size
    paths: list[Path]
    sizes: list[tuple[int, int]]  # original (width, height)
    folder: bool


def read_inputs(path: str | Path, size: int, channels: int, fit: str = "auto") -> Inputs:
    """Images fitted as the model's training data were (``fit``: auto | pad | resize)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"no images in {path}")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"input not found: {path}")
    sizes, arrays = [], []
    for file in files:
        img = read_image(file, None)  # names the file when it is not an image
        sizes.append(img.size)
        array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
        array = array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None]
        arrays.append(fit_size(to_unit_range(array), size, fit))
    images = fit_channels(np.concatenate(arrays), channels)
    return Inputs(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), files, sizes, path.is_dir())


def read_mask(path: str | Path, image_size: tuple[int, int], size: int) -> torch.Tensor:
    """A PNG whose non-zero pixels mark what is missing; it must match the input image's size."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"mask not found: {path}")
    mask = load_image(path).convert("L")
    if mask.size != image_size:
        raise EcogenError(f"mask {path} is {mask.size[0]}x{mask.size[1]} but the image is {image_size[0]}x{image_size[1]}")
    mask = mask.resize((size, size), Image.Resampling.NEAREST)
    return torch.from_numpy((np.asarray(mask) > 0).astype(np.float32))[None, None]


def box_mask(box: str, image_size: tuple[int, int], size: int) -> torch.Tensor:
    """``x,y,w,h`` in the input image's pixels -> a missing-pixel mask at the model's size."""
    try:
        x, y, w, h = (int(v) for v in box.split(","))
    except ValueError:
        raise EcogenError(f"--box must be x,y,w,h in pixels (got {box!r})") from None
    width, height = image_size
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise EcogenError(f"--box {box} does not fit inside the {width}x{height} image")
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[y : y + h, x : x + w] = 255
    scaled = Image.fromarray(mask).resize((size, size), Image.Resampling.NEAREST)
    return torch.from_numpy((np.asarray(scaled) > 0).astype(np.float32))[None, None]


def output_paths(inputs: Inputs, out: str | Path, overwrite: bool) -> list[Path]:
    """One output per input: ``out`` itself for a single image, ``out/NAME.png`` for a folder."""
    out = Path(out)
    if inputs.folder:
        if out.exists() and not out.is_dir():
            raise EcogenError(f"output {out} exists and is not a folder")
        paths = [out / f"{p.stem}.png" for p in inputs.paths]
    else:
        if out.suffix.lower() != ".png":
            raise EcogenError(f"--out must be a .png file for a single input (got {out})")
        paths = [out]
    check_outputs(paths, inputs.paths, overwrite)
    return paths


def check_outputs(paths: list[Path], inputs: list[Path], overwrite: bool) -> None:
    protected = {p.resolve() for p in inputs}
    for path in paths:
        if path.resolve() in protected:
            raise EcogenError(f"refusing to overwrite the input {path}; choose another --out")
        if path.exists() and not overwrite:
            raise EcogenError(f"{path} already exists; pass --overwrite to replace it")
