"""Evaluation of real runs: reference points, caching, energy, --eval-every, bad input."""

import json

import pytest

from ecogen import load, train
from ecogen.api import evaluate
from ecogen.metrics.cache import cache_dir
from ecogen.energy import record as records

from conftest import run_cli, tiny_config


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))


def test_eval_reports_floor_and_noise_and_joins_the_bill(tiny_run):
    before = records.read(tiny_run / "run.json")
    result = evaluate(tiny_run, n=200, progress=False)
    assert set(result.metrics) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    assert result.n_real == 180 and result.n_fake == 200  # digits: 10% of 1,797 held out
    assert result.real_vs_real["fid"] < result.metrics["fid"] < result.noise["fid"]
    assert result.noise["fid"] > 10 * result.real_vs_real["fid"]
    assert result.real_vs_real["precision"] > 0.5 and result.noise["precision"] == 0.0
    assert result.energy["wh"] > 0 and result.energy["estimated"]
    after = records.read(tiny_run / "run.json")
    assert after.phases["eval"].wh == pytest.approx(result.energy["wh"] + before.phases.get("eval", records.PhaseRecord()).wh)
    assert after.total.wh == pytest.approx(before.total.wh + result.energy["wh"])


def test_real_features_are_cached(tiny_run):
    first = evaluate(tiny_run, n=50, metrics="fid", progress=False)
    files = list(cache_dir().glob("*.npz"))
    # the held-out set, the training-split sample (the floor), the whole training split (the copy check), noise
    assert not first.real_cached and len(files) == 4
    second = evaluate(tiny_run, n=50, metrics="fid", progress=False)
    assert second.real_cached and second.real_vs_real == first.real_vs_real
    assert sorted(cache_dir().glob("*.npz")) == sorted(files)
    assert not list(cache_dir().glob("*.tmp"))


def test_eval_every_logs_quality_with_energy(tmp_path):
    cfg = tiny_config(steps=6, eval_every=3, eval_n=64, eval_metrics="fid,kid")
    train(cfg, tmp_path / "r", progress=False)
    lines = [json.loads(x) for x in (tmp_path / "r" / "eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [3, 6]
    assert lines[1]["wh"] > lines[0]["wh"] > 0 and all("fid" in x and "kid" in x for x in lines)
    record = records.read(tmp_path / "r" / "run.json")
    assert record.phases["eval"].seconds > 0
    assert (tmp_path / "r" / "quality_vs_energy.png").stat().st_size > 1000


def test_eval_every_does_not_change_training(tmp_path):
    plain = train(tiny_config(steps=4), tmp_path / "a", progress=False)
    checked = train(tiny_config(steps=4, eval_every=2, eval_n=16), tmp_path / "b", progress=False)
    za = load(tmp_path / "a", device="cpu").sample(4)
    zb = load(tmp_path / "b", device="cpu").sample(4)
    assert plain.step == checked.step and (za == zb).all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "1"], "at least 2"),
        (["--metrics", "fid,lpips"], "unknown metric 'lpips'"),
        (["--extractor", "clip"], "unknown extractor 'clip'"),
        (["--extractor", "inception", "--weights", "/no/weights.pth"], "not found"),
    ],
)
def test_bad_eval_input_is_exit_2(tiny_run, args, message):
    proc = run_cli("eval", str(tiny_run), *args, "--quiet")
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_eval_needs_a_run_or_two_sets():
    proc = run_cli("eval", "--real", "mnist")
    assert proc.returncode == 2 and "--real and --fake" in proc.stderr


def test_bad_eval_every_options_fail_before_training(tmp_path):
    proc = run_cli("train", "--eval-every", "2", "--eval-metrics", "nope", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown metric 'nope'" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_noise_reference_is_cached_and_can_be_skipped(tmp_path, monkeypatch, tiny_run):
    import json as _json

    from ecogen.api import evaluate
    from conftest import run_cli

    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    first = evaluate(tiny_run, metrics="fid", n=20, progress=False)
    files = set((tmp_path / "cache" / "features").iterdir())
    second = evaluate(tiny_run, metrics="fid", n=20, progress=False)
    assert set((tmp_path / "cache" / "features").iterdir()) == files  # real, train-sample and noise: all cached
    assert second.noise == first.noise and second.real_cached
    bare = evaluate(tiny_run, metrics="fid", n=20, progress=False, reference=False)
    assert bare.noise == {} and bare.real_vs_real == {} and bare.metrics == first.metrics
    proc = run_cli("eval", str(tiny_run), "--metrics", "fid", "--n", "20", "--no-reference", "--json")
    assert proc.returncode == 0 and _json.loads(proc.stdout)["noise"] == {}


def test_a_score_without_reference_points_extracts_no_reference_set(tiny_run, tmp_path, monkeypatch):
    """The protocol benchmark scores 10,000 Inception images with reference=False: the real-vs-real pair's
    second set (as many training images) would cost as much again and is never scored."""
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "bare-cache"))
    bare = evaluate(tiny_run, metrics="fid", n=20, progress=False, reference=False)
    assert bare.real_vs_real == {} and bare.metrics["fid"] > 0
    # the held-out split's features and the training split's (the near-copy check): no reference set
    assert len(list((tmp_path / "bare-cache" / "features").iterdir())) == 2
    full = evaluate(tiny_run, metrics="fid", n=20, progress=False)  # the floor, asked for: extracted now
    assert full.real_vs_real["fid"] >= 0 and full.metrics == bare.metrics and full.real_cached
    assert len(list((tmp_path / "bare-cache" / "features").iterdir())) == 4  # + train-sample + noise
