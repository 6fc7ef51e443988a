"""The near-copy check: an explicit ratio threshold, a generator that copies its training images is
caught, a trained one is not, and the closest pairs reach the run folder and its report page."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ecogen import load
from ecogen.api import evaluate
from ecogen.data import prepare_data
from ecogen.metrics import evaluate_run
from ecogen.metrics.copies import COPY_RATIO, check_copies
from ecogen.rundir import RunDir
from PIL import Image

from conftest import run_cli


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))


def test_the_threshold_is_the_ratio_of_nearest_to_second_nearest():
    train = np.array([[0.0], [10.0]])
    fake = np.array([[2.0], [3.0], [0.0], [5.0]])  # ratios 2/8, 3/7, 0/10, 5/5
    check = check_copies(fake, train)
    assert COPY_RATIO == pytest.approx(1 / 3) and check.ratio == COPY_RATIO
    assert check.share == pytest.approx(2 / 4)  # 0.25 and 0 are below 1/3; 0.43 and 1 are not
    assert [p.fake for p in check.closest] == [2, 0, 1, 3] and check.closest[0].distance == 0.0
    assert check_copies(fake, train, ratio=0.5).share == pytest.approx(3 / 4)
    twice = check_copies(np.array([[4.0]]), np.array([[4.0], [4.0], [9.0]]))  # the data holds it twice
    assert twice.share == 1.0
    with pytest.raises(ValueError):
        check_copies(fake, train, ratio=1.0)


class Copier:
    """A generator that memorised its data: every image it returns is a training image."""

    device = torch.device("cpu")

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        pick = torch.randint(len(self.images), (n,), generator=torch.Generator().manual_seed(seed))
        return self.images[pick]


def test_a_generator_that_copies_is_caught_and_a_trained_one_is_not(tiny_run, tmp_path):
    trained = load(tiny_run)
    data = prepare_data(trained.config.data, split=RunDir(tiny_run).read_split())
    copier = Copier(torch.from_numpy(data.images.images[data.split.train]))
    pairs = tmp_path / "pairs.png"
    copied = evaluate_run(copier, data, metrics="fid", n=200, progress=False, copies=True, pairs_to=str(pairs)).copies
    honest = evaluate_run(trained, data, metrics="fid", n=200, progress=False, copies=True).copies
    assert copied["share"] == 1.0 and all(p["distance"] < 1e-4 for p in copied["closest"])
    assert copied["n_train"] == len(data.split.train) and len(copied["closest"]) == 8
    assert honest["share"] < 0.05 and honest["median_distance"] > copied["median_distance"]
    assert copied["heldout_share"] == honest["heldout_share"] < 0.5  # unseen real images are mostly new
    with Image.open(pairs) as grid:  # two rows of 8: the generated images over their nearest training images
        assert grid.width > grid.height and copied["pairs_png"] == str(pairs)


def test_eval_writes_the_check_and_the_report_shows_the_pairs(tiny_run, tmp_path):
    result = run_cli("eval", str(tiny_run), "--n", "60", "--metrics", "fid,kid", "--against", "all", "--json",
                     "--quiet", "--no-reference")
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert scored["protocol"] == "all" and scored["n_real"] == 1797  # every digit, not the held-out 180
    saved = json.loads((tiny_run / "copies.json").read_text())
    assert saved["share"] == scored["copies"]["share"] and saved["protocol"] == "all"
    assert (tiny_run / "copies.png").is_file()
    page = tmp_path / "report.html"
    assert run_cli("report", str(tiny_run), "--out", str(page)).returncode == 0
    html = page.read_text()
    assert "Memorisation" in html and "near-copies of a training image" in html and html.count("data:image/png") >= 2
    skipped = run_cli("eval", str(tiny_run), "--n", "20", "--metrics", "fid", "--no-copies", "--json", "--quiet")
    assert json.loads(skipped.stdout)["copies"] is None


def test_an_unknown_protocol_is_one_line(tiny_run):
    result = run_cli("eval", str(tiny_run), "--n", "20", "--against", "train")
    assert result.returncode == 2 and "unknown protocol 'train'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
