"""``cifar10:PATH``: the CIFAR-10 binary version, read as bytes (never unpickled).

Each record is one label byte and 3,072 pixel bytes, channel-major (1,024 red, 1,024 green, 1,024
blue, rows top to bottom). Every batch file present is read, training batches then the test batch;
ecogen makes its own seeded split. Class names come from ``batches.meta.txt``, one per line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecogen.data.imageset import ImageSet
from ecogen.errors import DataError

RECORD = 1 + 3 * 32 * 32
BATCHES = [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]
NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MAX_FILE = 64 << 20  # a batch is 30.7 MB; a larger file is not one


def load_cifar10(folder: Path) -> ImageSet:
    if not folder.is_dir():
        raise DataError(f"cifar10 folder not found: {folder}")
    files = [folder / name for name in BATCHES if (folder / name).is_file()]
    if not files:
        raise DataError(f"{folder} holds no CIFAR-10 batch (data_batch_1.bin ... test_batch.bin, the binary version)")
    names = class_names(folder)
    images, labels = [], []
    for path in files:
        records = read_batch(path, len(names))
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    pixels = np.concatenate(images)
    return ImageSet(pixels.astype(np.float32) / 127.5 - 1.0, np.concatenate(labels), names)


def read_batch(path: Path, classes: int) -> np.ndarray:
    """N x 3,073 uint8 records; a truncated file or a label out of range names the file and the record."""
    size = path.stat().st_size
    if size > MAX_FILE:
        raise DataError(f"{path}: {size:,} bytes is not a CIFAR-10 batch (at most {MAX_FILE >> 20} MB)")
    data = np.fromfile(path, dtype=np.uint8)
    whole, extra = divmod(len(data), RECORD)
    if extra or not whole:
        raise DataError(f"{path}: record {whole:,} is truncated ({extra} of {RECORD:,} bytes); the file holds "
                        f"{len(data):,} bytes, not a whole number of records")
    records = data.reshape(whole, RECORD)
    bad = np.flatnonzero(records[:, 0] >= classes)
    if len(bad):
        raise DataError(f"{path}: record {bad[0]:,} has label {records[bad[0], 0]}, outside 0..{classes - 1}")
    return records


def class_names(folder: Path) -> tuple[str, ...]:
    meta = folder / "batches.meta.txt"
    if not meta.is_file():
        return NAMES
    if meta.stat().st_size > 1 << 20:
        raise DataError(f"{meta}: too large for a list of class names")
    names = tuple(line.strip() for line in meta.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())
    if not names or len(names) > 256:
        raise DataError(f"{meta}: expected one class name per line (found {len(names)})")
    return names
