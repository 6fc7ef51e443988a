"""MNIST-format data: the IDX reader on files the test writes (gzipped or not, and malformed ones), the
``idx:`` and ``fashion-mnist`` sources, and their official test split recorded in split.json."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.data.sources import FASHION_DIR, load_source

from conftest import run_cli


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, cut: int = 0) -> Path:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) if magic is None else struct.pack(">I", magic)
    data = header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    data = data[: len(data) - cut] if cut else data
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def mnist_like(folder: Path, n_train: int = 40, n_test: int = 10, gz: bool = True) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for part, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{part}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{part}-labels-idx1-ubyte{ext}", np.arange(n) % 10)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_an_idx_folder_reads_with_its_official_test_split(tmp_path, gz):
    folder = mnist_like(tmp_path / "set", gz=gz)
    images = load_source(f"idx:{folder}", 28)
    assert images.images.shape == (50, 1, 28, 28) and images.images.min() >= -1 and images.images.max() <= 1
    assert list(images.holdout) == list(range(40, 50)) and images.classes == tuple(map(str, range(10)))
    data = prepare_data(DataConfig(source=f"idx:{folder}", image_size=32))
    assert list(data.split.holdout) == list(range(40, 50)) and len(data.split.train) == 40
    assert data.split.kind == "official"


def test_a_single_images_file_reads_with_the_labels_beside_it(tmp_path):
    folder = mnist_like(tmp_path / "set", gz=False)
    images = load_source(f"idx:{folder / 'train-images-idx3-ubyte'}", 28)
    assert len(images) == 40 and images.labels is not None and images.holdout is None
    data = prepare_data(DataConfig(source=f"idx:{folder / 'train-images-idx3-ubyte'}", image_size=32))
    assert data.split.kind == "seeded" and len(data.split.holdout) == 4  # the usual seeded 10%


@pytest.mark.parametrize("damage, message", [
    ("magic", "not an IDX file"),
    ("truncated", "truncated or damaged"),
    ("count", "labels for the"),
    ("gzip", "cannot read it as an IDX file"),
])
def test_malformed_idx_files_are_one_line_and_exit_2(tmp_path, damage, message):
    folder = mnist_like(tmp_path / "set", gz=False)
    images = folder / "train-images-idx3-ubyte"
    if damage == "magic":
        write_idx(images, np.zeros((40, 28, 28)), magic=0x00000901)
    elif damage == "truncated":
        write_idx(images, np.zeros((40, 28, 28)), cut=100)
    elif damage == "count":
        write_idx(folder / "train-labels-idx1-ubyte", np.zeros(39))
    else:
        gz = folder / "train-images-idx3-ubyte.gz"
        gz.write_bytes(b"\x1f\x8b" + b"junk" * 10)
    result = run_cli("train", "--data", f"idx:{folder}", "--steps", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_the_split_record_says_which_split_was_used(tmp_path):
    folder = mnist_like(tmp_path / "set")
    out = tmp_path / "run"
    result = run_cli("train", "--data", f"idx:{folder}", "--image-size", "16", "--width-mult", "0.25", "--steps", "2",
                     "--batch-size", "8", "--quiet", "--out", str(out))
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "split.json").read_text())
    assert record["kind"] == "official" and record["holdout"] == list(range(40, 50))


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")
def test_fashion_mnist_is_the_original_60000_plus_10000_with_its_classes():
    images = load_source("fashion-mnist", 28)
    assert len(images) == 70_000 and list(images.holdout[[0, -1]]) == [60_000, 69_999]
    assert images.classes[0] == "T-shirt/top" and images.classes[9] == "Ankle boot"
    assert np.bincount(images.labels[images.holdout]).tolist() == [1000] * 10  # the test split is balanced


def test_a_missing_fashion_mnist_folder_names_the_install_command(tmp_path):
    result = run_cli("train", "--data", f"fashion-mnist:{tmp_path / 'nowhere'}", "--steps", "1",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "apt-get install dataset-fashion-mnist" in result.stderr


def test_auto_features_for_fashion_mnist_are_the_fashion_classifiers():
    from ecogen.metrics.extractors.base import load_extractor

    assert load_extractor("auto", channels=1, source="fashion-mnist").name == "fashion"
    assert load_extractor("auto", channels=1, source="fashion-mnist:/elsewhere").name == "fashion"
    assert load_extractor("auto", channels=1, source="mnist").name == "mnist"
