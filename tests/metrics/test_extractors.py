import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.errors import EcogenError
from ecogen.metrics import load_extractor
from ecogen.metrics.extractors.classifier import load_classifier, train_classifier
from ecogen.metrics.extractors.inception import FIDInception, load_inception

from conftest import run_cli


def test_bundled_mnist_extractor_classifies_held_out_digits():
    ext = load_extractor("mnist")
    assert ext.info["held_out_accuracy"] >= 0.97
    data = prepare_data(DataConfig(source="mnist"))  # the same split the extractor was trained with
    held = data.holdout
    feats = ext.extract(torch.from_numpy(held.images))
    accuracy = (feats.probs.argmax(1) == held.labels).mean()
    assert accuracy >= 0.97
    assert feats.features.shape == (500, 128)
    assert np.allclose(feats.probs.sum(1), 1.0, atol=1e-5)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")
def test_bundled_fashion_extractor_classifies_the_official_test_split():
    """Scored again here on the 10,000 test images it never saw; the JSON's figure is the same measurement."""
    ext = load_extractor("fashion")
    data = prepare_data(DataConfig(source="fashion-mnist"))
    held = data.holdout
    assert data.split.kind == "official" and len(held) == 10_000
    accuracy = (ext.extract(torch.from_numpy(held.images)).probs.argmax(1) == held.labels).mean()
    assert accuracy >= 0.88 and accuracy == pytest.approx(ext.info["held_out_accuracy"], abs=1e-3)


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").is_file() and not os.environ.get("CI"),
                    reason="apt-get install fonts-noto-color-emoji (CI installs it)")
def test_bundled_emoji_extractor_tells_held_out_groups_apart_and_auto_picks_it_for_colour():
    ext = load_extractor("auto", channels=3)
    assert ext.name == "emoji" and load_extractor("auto").name == "mnist"
    data = prepare_data(DataConfig(source="emoji"))  # the split the extractor was trained with
    feats = ext.extract(torch.from_numpy(data.holdout.images))
    accuracy = (feats.probs.argmax(1) == data.holdout.labels).mean()
    assert accuracy == pytest.approx(ext.info["held_out_accuracy"], abs=0.02)  # what its JSON records
    largest = np.bincount(data.holdout.labels).max() / len(data.holdout.labels)
    assert accuracy > largest + 0.3  # far above always answering the largest group


def test_extractor_fits_size_and_channels():
    ext = load_extractor("mnist")
    rgb_64 = torch.rand(3, 3, 64, 64) * 2 - 1
    assert ext.fit(rgb_64).shape == (3, 1, 32, 32)
    assert ext.extract(rgb_64).features.shape == (3, 128)


@pytest.fixture(scope="module")
def inception_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inception")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = FIDInception().eval()
    for m in net.modules():  # give BatchNorm non-trivial statistics so a wrong load would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    state = net.state_dict()
    torch.save(state, folder / "fid.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "fid.safetensors")
    return net, folder


@pytest.mark.parametrize("name", ["fid.pth", "fid.safetensors"])
def test_inception_weights_round_trip(inception_files, name):
    net, folder = inception_files
    loaded = load_inception(folder / name).eval()
    x = torch.rand(2, 3, 299, 299) * 2 - 1
    with torch.no_grad():
        f1, l1 = net(x)
        f2, l2 = loaded(x)
    assert f2.shape == (2, 2048) and l2.shape == (2, 1008)
    assert torch.equal(f1, f2) and torch.equal(l1, l2)
    ext = load_extractor(f"inception:{folder / name}")
    assert ext.image_size == 299 and ext.extract(torch.rand(1, 1, 32, 32)).features.shape == (1, 2048)


def test_inception_weights_missing_or_mismatched(tmp_path):
    with pytest.raises(EcogenError, match="not found"):
        load_extractor(f"inception:{tmp_path / 'nope.pth'}")
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(EcogenError, match="not FID Inception-v3 weights"):
        load_extractor(f"inception:{tmp_path / 'other.pth'}")
    (tmp_path / "junk.pth").write_bytes(b"\x80\x04junk")
    with pytest.raises(EcogenError, match="cannot read"):
        load_extractor(f"inception:{tmp_path / 'junk.pth'}")


def test_unknown_extractor():
    with pytest.raises(EcogenError, match="unknown extractor 'clip'"):
        load_extractor("clip")


def _digit_folder(root, per_class=90):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    for label in (0, 1, 7):
        (root / str(label)).mkdir(parents=True)
        for i, img in enumerate(bunch.images[bunch.target == label][:per_class]):
            Image.fromarray((img * 255 / 16).astype(np.uint8)).save(root / str(label) / f"{i}.png")
    return root


def test_train_an_extractor_on_a_labelled_folder(tmp_path):
    folder = _digit_folder(tmp_path / "digits")
    report = train_classifier(DataConfig(source=f"folder:{folder}", image_size=16), tmp_path / "ext.safetensors",
                              epochs=15, progress=False)
    assert report.classes == ("0", "1", "7") and report.accuracy >= 0.9
    meta = json.loads((tmp_path / "ext.json").read_text())
    assert meta["accuracy"] == report.accuracy and meta["image_size"] == 16
    ext = load_classifier(tmp_path / "ext.safetensors")
    assert ext.extract(torch.zeros(2, 1, 16, 16)).probs.shape == (2, 3)


def test_extractor_train_cli_and_set_evaluation(tmp_path):
    folder = _digit_folder(tmp_path / "digits", per_class=40)
    out = tmp_path / "mine.safetensors"
    proc = run_cli("extractor", "train", "--data", f"folder:{folder}", "--out", str(out), "--image-size", "16",
                   "--epochs", "3", "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("eval", "--real", f"folder:{folder}", "--fake", f"folder:{folder / '7'}", "--extractor",
                   "classifier", "--weights", str(out), "--metrics", "fid,pr", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n_real"] == 120 and result["n_fake"] == 40
    assert result["metrics"]["fid"] > result["real_vs_real"]["fid"]  # only sevens: far from all digits
    assert result["noise"]["fid"] > result["metrics"]["fid"]
