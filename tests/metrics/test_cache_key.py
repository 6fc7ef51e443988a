"""The real-feature cache is keyed by every input that changes the pixels: two evaluations that differ
only in the background, or in the font the emoji are drawn from, never share an entry."""

import shutil

import pytest
import torch

from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.data.emoji import DEFAULT_FONT
from ecogen.metrics.cache import cache_dir
from ecogen.metrics.evaluate import Evaluator

pytestmark = pytest.mark.skipif(not DEFAULT_FONT.is_file(), reason="needs fonts-noto-color-emoji (.ci/run installs it)")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))


def _evaluator(source: str, background: str) -> Evaluator:
    data = prepare_data(DataConfig(source=source, image_size=16, holdout=0.05, background=background))
    return Evaluator.for_data(data, "emoji", ["fid"], torch.device("cpu"))


def test_the_background_is_part_of_the_key():
    white = _evaluator("emoji", "white")
    assert not white.real_cached and _evaluator("emoji", "white").real_cached  # the same inputs: a hit
    black = _evaluator("emoji", "black")
    assert not black.real_cached  # other pixels: not the white run's features
    assert not torch.allclose(torch.as_tensor(white.real.features), torch.as_tensor(black.real.features))


def test_the_font_file_is_part_of_the_key(tmp_path):
    copy = tmp_path / "font.ttf"
    shutil.copy(DEFAULT_FONT, copy)
    assert not _evaluator(f"emoji:{copy}", "white").real_cached
    before = set(cache_dir().glob("*.npz"))
    copy.touch()  # an upgraded font: a new mtime
    assert not _evaluator(f"emoji:{copy}", "white").real_cached
    assert set(cache_dir().glob("*.npz")) > before
    assert not _evaluator("emoji", "white").real_cached  # the bundled default is keyed by its file too
