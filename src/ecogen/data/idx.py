"""The IDX format of MNIST and Fashion-MNIST (LeCun's original files), gzipped or not.

The header is trusted only after it is checked: the magic number (two zero bytes, the type code 0x08 for
unsigned bytes, the number of dimensions), sizes that fit the file exactly, and as many labels as images.
Any other file is one DataError naming it.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ecogen.errors import DataError

UBYTE = 0x08
MAX_BYTES = 1 << 30  # 70,000 28x28 images are 55 MB; a gigabyte is no IDX file ecogen reads


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such IDX file")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        else:
            data = path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read it as an IDX file ({err})") from None
    if len(data) > MAX_BYTES:
        raise DataError(f"{path}: larger than {MAX_BYTES >> 20} MiB: not an IDX file ecogen reads")
    return data


def read_idx(path: str | Path, dims: int) -> np.ndarray:
    """An IDX array of unsigned bytes with ``dims`` dimensions (3: images N x H x W, 1: labels N)."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 + 4 * dims:
        raise DataError(f"{path}: too short for an IDX header")
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != UBYTE or ndim != dims:
        raise DataError(f"{path}: not an IDX file of {dims}-dimensional unsigned bytes (magic number "
                        f"0x{int.from_bytes(data[:4], 'big'):08x}, expected 0x{0x800 + dims:08x})")
    shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
    body = data[4 + 4 * dims:]
    need = int(np.prod(shape, dtype=np.int64))
    if len(body) != need:
        raise DataError(f"{path}: the header promises {' x '.join(map(str, shape))} = {need:,} bytes but the file "
                        f"holds {len(body):,} (truncated or damaged)")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def read_pair(images: Path, labels: Path | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (N x H x W) and, when a labels file is given, their N labels; the counts must match."""
    x = read_idx(images, 3)
    if labels is None:
        return x, None
    y = read_idx(labels, 1)
    if len(y) != len(x):
        raise DataError(f"{labels}: {len(y):,} labels for the {len(x):,} images of {images.name}")
    return x, y.astype(np.int64)


def labels_beside(images: Path) -> Path | None:
    """The labels file named like the images file (``*-images-idx3-ubyte`` -> ``*-labels-idx1-ubyte``)."""
    candidate = images.with_name(images.name.replace("images-idx3", "labels-idx1"))
    return candidate if candidate != images and candidate.is_file() else None


def find(folder: Path, part: str) -> Path | None:
    """``train`` or ``t10k`` images of the standard names, gzipped or not."""
    for name in (f"{part}-images-idx3-ubyte.gz", f"{part}-images-idx3-ubyte", f"{part}-images.idx3-ubyte"):
        if (folder / name).is_file():
            return folder / name
    return None
