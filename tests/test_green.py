"""Recipes, quality targets and the fast inference path."""

import json

import pytest
import torch

from ecogen import load, train
from ecogen.config import TrainConfig, dump_yaml, from_dict, load_yaml, to_dict
from ecogen.session.recipes import RECIPES, recipe_config
from ecogen.energy import record as records

from conftest import run_cli, tiny_config


@pytest.mark.parametrize("name", RECIPES.names())
def test_recipe_round_trips_through_config(name, tmp_path):
    cfg = recipe_config(name)  # the recipe's values, and its name for the record
    (tmp_path / "r.yaml").write_text(dump_yaml(cfg))
    assert from_dict(TrainConfig, load_yaml(tmp_path / "r.yaml")) == cfg
    proc = run_cli("train", "--recipe", name, "--print-config")
    assert proc.returncode == 0 and from_dict(TrainConfig, __import__("yaml").safe_load(proc.stdout)) == cfg


def test_reference_recipe_is_the_copied_dcgan():
    """The baseline the green proof beats: the seed preset's architecture with the default optimiser and
    loss, full precision, and no quality checks or targets that could stop it early."""
    from ecogen.config import ModelConfig
    from ecogen.models import PRESETS

    cfg, default = from_dict(TrainConfig, RECIPES.get("reference").values), TrainConfig()
    assert cfg.model == from_dict(ModelConfig, dict(PRESETS.get("seed")))
    assert (cfg.optim, cfg.loss, cfg.batch_size) == (default.optim, default.loss, default.batch_size)
    assert cfg.precision == "fp32" and not cfg.channels_last and cfg.ema_decay is None
    assert cfg.target_fid is None and cfg.target_kid is None and cfg.eval_every is None


def test_a_conditional_gan_gets_the_conditional_recipe_unless_told_otherwise():
    import yaml

    proc = run_cli("train", "--conditional", "--data", "digits", "--print-config")
    cfg = from_dict(TrainConfig, yaml.safe_load(proc.stdout))
    assert "recipe: conditional" in proc.stderr
    assert cfg == recipe_config("conditional", {"data": {"source": "digits"}})
    proc = run_cli("train", "--conditional", "--recipe", "reference", "--print-config")
    assert "recipe: conditional" not in proc.stderr and yaml.safe_load(proc.stdout)["model"]["width_mult"] == 1.0
    proc = run_cli("train", "--conditional", "--model", "vae", "--print-config")
    assert "recipe: conditional-vae" in proc.stderr
    assert yaml.safe_load(proc.stdout)["model"] == to_dict(recipe_config("conditional-vae").model)
    proc = run_cli("train", "--model", "vae", "--print-config")
    assert "recipe:" not in proc.stderr and yaml.safe_load(proc.stdout)["batch_size"] == TrainConfig().batch_size


def test_unknown_recipe_is_exit_2():
    proc = run_cli("train", "--recipe", "fastest")
    from ecogen.session.recipes import RECIPES

    assert proc.returncode == 2 and f"unknown recipe 'fastest'; choose from: {', '.join(RECIPES.names())}" in proc.stderr
    assert {"green", "quality", "reference", "diffusion", "flow"} <= set(RECIPES.names())


def test_an_easy_target_stops_a_tiny_run_and_keeps_the_best(tmp_path):
    cfg = tiny_config(steps=50, eval_every=2, eval_n=32, target_fid=1e6)
    result = train(cfg, tmp_path / "r", progress=False)
    assert result.stop_reason == "target_fid" and result.step == 2
    record = records.read(tmp_path / "r" / "run.json")
    assert record.stop_reason == "target_fid" and record.quality["reached"]["step"] == 2
    assert record.quality["reached"]["wh"] > 0 and record.quality["metric"] == "fid"
    assert [p.name for p in (tmp_path / "r" / "best").glob("*.json")] == ["step_00000002.json"]


def test_an_impossible_target_runs_the_schedule(tmp_path):
    result = train(tiny_config(steps=4, eval_every=2, eval_n=32, target_kid=-1e9), tmp_path / "r", progress=False)
    assert result.stop_reason == "completed" and result.step == 4
    lines = [json.loads(x) for x in (tmp_path / "r" / "eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4] and all(0 < x["wh_train"] <= x["wh"] for x in lines)


def test_bf16_and_channels_last_train(tmp_path):
    result = train(tiny_config(steps=3, precision="bf16", channels_last=True), tmp_path / "r", progress=False)
    assert result.step == 3 and all(torch.isfinite(torch.tensor(v)) for v in result.last.values())


def test_fast_path_matches_fp32_within_tolerance(gan_run):
    slow = load(gan_run, device="cpu").sample(64, seed=3)
    gen = load(gan_run, device="cpu")
    gen.enable_fast()
    fast = gen.sample(64, seed=3, batch_size=1024)
    diff = (fast - slow).abs()
    # bf16 keeps 8 bits of mantissa: stated tolerance 0.1 per pixel, 0.01 on average (pixels span [-1, 1])
    assert diff.max() < 0.1 and diff.mean() < 0.01
    assert gen.precision in ("bf16", "fp32")


def test_ema_of_the_generator_is_saved_resumed_and_sampled(tmp_path):
    from ecogen import checkpoint, resume

    train(tiny_config(steps=6, ema_decay=0.9), tmp_path / "a", progress=False)
    train(tiny_config(steps=3, ema_decay=0.9), tmp_path / "b", progress=False)
    resume(tmp_path / "b", steps=6, progress=False)
    a = checkpoint.latest(tmp_path / "a" / "checkpoints").tensors
    b = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    assert any(k.startswith("model.ema.") for k in a) and all(torch.equal(a[k], b[k]) for k in a)
    gen = load(tmp_path / "a", device="cpu")
    assert gen.module is gen.modules["ema"]
    ema_weight, live_weight = a["model.ema.net.0.weight"], a["model.G.net.0.weight"]
    assert not torch.equal(ema_weight, live_weight)  # an average, lagging the live weights
