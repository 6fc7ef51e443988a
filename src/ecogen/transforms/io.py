"""Reading inputs (one image or a folder) at the model's size, bringing results back to each input's own
size and mode, and writing outputs without ever overwriting an input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ecogen.base.atomic import refuse_existing
from ecogen.data.fit import fit_channels, fit_method, fit_size, unfit_size
from ecogen.data.imageset import to_unit_range
from ecogen.data.reader import load_image
from ecogen.data.sources import IMAGE_SUFFIXES, read_image
from ecogen.errors import DataError, EcogenError

RESIZE_METHOD = ("like the training data (pad or bilinear resize; grey <-> RGB by repetition / BT.601 luma), "
                 "and back to each input's own size and mode")


@dataclass(frozen=True)
class Inputs:
    images: torch.Tensor  # N x C x H x W in [-1, 1] at the model's size
    paths: list[Path]
    sizes: list[tuple[int, int]]  # original (width, height)
    folder: bool
    originals: list[np.ndarray]  # each input as read: H x W x C uint8, C = 1 (grey) or 3 (colour)
    methods: list[str]  # how each was fitted: same | pad | resize

    def restore(self, images: torch.Tensor, missing: np.ndarray | None = None) -> list[np.ndarray]:
        """Model-size results -> uint8 arrays at each input's own size and mode. With ``missing`` (an
        H x W bool mask at the inputs' size) only those pixels change: known pixels are kept exactly."""
        out = []
        for image, original, method in zip(images.detach().float().cpu().numpy(), self.originals, self.methods):
            h, w, channels = original.shape
            back = unfit_size(fit_channels(image[None], channels), h, w, method)[0]
            pixels = np.clip(np.round((back + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)
            out.append(pixels if missing is None else np.where(missing[..., None], pixels, original))
        return out


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
    sizes, arrays, originals, methods = [], [], [], []
    for file in files:
        img = read_image(file, None)  # L or RGB; names the file when it is not an image
        sizes.append(img.size)
        original = np.asarray(img, dtype=np.uint8)
        originals.append(original[..., None] if original.ndim == 2 else original)
        array = fit_channels(to_unit_range(originals[-1].transpose(2, 0, 1)[None]), channels)
        methods.append(fit_method(img.size[1], img.size[0], size, fit))
        arrays.append(fit_size(array, size, fit))
    images = np.concatenate(arrays)
    return Inputs(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), files, sizes, path.is_dir(),
                  originals, methods)


def model_mask(missing: np.ndarray, size: int, method: str) -> torch.Tensor:
    """An H x W missing-pixel mask fitted as its image was: padding counts as known, and a model pixel
    that a resize blends from any missing pixel counts as missing."""
    signed = missing.astype(np.float32)[None, None] * 2.0 - 1.0  # -1 known, +1 missing; padding is -1
    fitted = fit_size(signed, size, "pad" if method == "same" else method)
    return torch.from_numpy((fitted > -1.0 + 1e-6).astype(np.float32))


def read_mask(path: str | Path, image_size: tuple[int, int]) -> np.ndarray:
    """A PNG whose non-zero pixels mark what is missing; it must match the input image's size."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"mask not found: {path}")
    mask = load_image(path).convert("L")
    if mask.size != image_size:
        raise EcogenError(f"mask {path} is {mask.size[0]}x{mask.size[1]} but the image is {image_size[0]}x{image_size[1]}")
    return np.asarray(mask) > 0


def box_mask(box: str, image_size: tuple[int, int]) -> np.ndarray:
    """``x,y,w,h`` in the input image's pixels -> an H x W missing-pixel mask."""
    try:
        x, y, w, h = (int(v) for v in box.split(","))
    except ValueError:
        raise EcogenError(f"--box must be x,y,w,h in pixels (got {box!r})") from None
    width, height = image_size
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise EcogenError(f"--box {box} does not fit inside the {width}x{height} image")
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


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
        refuse_existing(path, overwrite)
