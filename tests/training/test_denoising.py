"""Diffusion and flow matching on the shared loop, at tiny sizes: each family trains, resumes bit for bit,
samples the same images for a seed at any step count, refuses zero steps with one line, and bills
sampling per image with its steps and network evaluations."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ecogen import load, resume, train
from ecogen.api import read_receipt, sample_to
from ecogen.base import jsonl
from ecogen.models import MODELS
from conftest import run_cli, tiny_config

FAMILIES = ["diffusion", "flow"]


def tiny(name: str, **changes):
    values = {"model": {"name": name, "width_mult": 0.25, "sample_steps": 4, "check_steps": 2,
                        **changes.pop("model", {})}, "optim": {"lr_g": 1e-3, "beta1": 0.9}, "batch_size": 16,
              "eval_metrics": "fid"}
    return tiny_config(**values, **changes)


def weights(run) -> dict[str, torch.Tensor]:
    return load(run).modules.state_dict()


@pytest.mark.parametrize("model", FAMILIES)
def test_each_family_trains_and_resumes_bit_for_bit(model, tmp_path):
    straight = train(tiny(model, steps=6, checkpoint_every=2, ema_decay=0.9), tmp_path / "straight", progress=False)
    assert straight.step == 6 and torch.isfinite(torch.tensor(straight.last["loss"]))
    train(tiny(model, steps=3, ema_decay=0.9), tmp_path / "halves", progress=False)
    resume(tmp_path / "halves", steps=6, progress=False)
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "halves")
    assert a.keys() == b.keys() and any("ema" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    record = straight.record
    assert "denoise_step" in record.phases and "g_step" not in record.phases  # its own phase, the EMA in it
    assert record.phases["denoise_step"].flops > 0


@pytest.mark.parametrize("model", FAMILIES)
def test_the_same_seed_gives_the_same_images_at_any_step_count(model, tmp_path):
    train(tiny(model, steps=4), tmp_path / "r", progress=False)
    gen = load(tmp_path / "r")
    assert gen.latent_dim == 1 * 16 * 16  # the latent is the starting noise
    by_steps = {}
    for steps in (1, 2, 4):
        gen.use_steps(steps)
        first, again = gen.sample(3, seed=5), gen.sample(3, seed=5)
        assert torch.equal(first, again) and first.shape == (3, 1, 16, 16)
        assert float(first.min()) >= -1 and float(first.max()) <= 1
        by_steps[steps] = first
    assert not torch.equal(by_steps[1], by_steps[4])  # the steps change the integration


@pytest.mark.parametrize("model", FAMILIES)
def test_sampling_bills_each_image_with_its_steps_and_evaluations(model, tmp_path):
    train(tiny(model, steps=2), tmp_path / "r", progress=False)
    cheap = sample_to(tmp_path / "r", 4, tmp_path / "two", steps=2)
    dear = sample_to(tmp_path / "r", 4, tmp_path / "eight", steps=8)
    assert cheap.wh_per_image > 0 and dear.wh_per_image > 0
    assert dear.flops_per_image == pytest.approx(4 * cheap.flops_per_image, rel=0.01)  # FLOPs scale with steps
    receipt = read_receipt(tmp_path / "eight" / "000000.png")
    assert receipt["steps"] == 8 and receipt["evaluations"] == 8 and receipt["energy_wh"] > 0


def test_quality_checks_use_few_steps_and_say_so(tmp_path):
    train(tiny("flow", steps=4, eval_every=2, eval_n=16), tmp_path / "r", progress=False)
    checks = jsonl.read(tmp_path / "r" / "eval.jsonl").records
    assert [c["step"] for c in checks] == [2, 4] and all(c["sampling_steps"] == 2 for c in checks)
    assert all(c["fid"] > 0 for c in checks)


def test_steps_are_refused_where_they_mean_nothing_or_are_zero(tmp_path, tiny_run):
    train(tiny("flow", steps=2), tmp_path / "f", progress=False)
    for args, message in (
        (["sample", str(tmp_path / "f"), "--steps", "0", "--out", str(tmp_path / "z.png")], "--steps: between 1 and 1000"),
        (["sample", str(tiny_run), "--steps", "4", "--out", str(tmp_path / "g.png")], "--steps applies to diffusion and flow"),
        (["export", str(tmp_path / "f"), "--out", str(tmp_path / "f.onnx")], "--format safetensors"),
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "z.png").exists() and not (tmp_path / "f.onnx").exists()


def test_v_prediction_heun_and_a_class_embedding_work(tmp_path):
    train(tiny("diffusion", steps=2, model={"prediction": "v", "schedule": "linear"}), tmp_path / "v", progress=False)
    assert load(tmp_path / "v").sample(2, seed=0).shape == (2, 1, 16, 16)
    train(tiny("flow", steps=2, model={"solver": "heun", "conditional": True}), tmp_path / "c", progress=False)
    gen = load(tmp_path / "c")
    assert gen.classes == [str(i) for i in range(10)] and gen.evaluations == 2 * 4 - 1
    sevens = gen.sample(2, seed=0, classes=["7"])
    assert not torch.equal(sevens, gen.sample(2, seed=0, classes=["1"]))  # the class reaches the UNet


@pytest.mark.parametrize("model", FAMILIES)
def test_fast_sampling_runs_the_unet_in_bf16_weights_and_keeps_the_images(model, tmp_path):
    train(tiny(model, steps=4, model={"conditional": model == "flow"}), tmp_path / "r", progress=False)
    full, fast = load(tmp_path / "r"), load(tmp_path / "r")
    net = fast.module.net
    assert MODELS.get(model).fast(fast.module, "fp32") is fast.module and net.dtype == torch.float32
    MODELS.get(model).fast(fast.module, "bf16")
    fast.precision = "bf16"
    assert net.dtype == torch.bfloat16 and full.module.net.dtype == torch.float32
    a, b = full.sample(6, seed=3), fast.sample(6, seed=3)
    assert b.dtype == torch.float32 and torch.equal(b, fast.sample(6, seed=3))  # still one image per seed
    assert not torch.equal(a, b) and (a - b).abs().mean() < 0.05  # bf16 rounding, not other images
    assert fast.flops_per_image() == full.flops_per_image()


def test_a_bf16_runs_checks_sample_in_bf16_on_a_copy(tmp_path):
    run = train(tiny("flow", steps=4, eval_every=2, eval_n=16, precision="bf16", ema_decay=0.9), tmp_path / "r",
                progress=False)
    assert [c["step"] for c in jsonl.read(tmp_path / "r" / "eval.jsonl").records] == [2, 4]
    trained = load(tmp_path / "r").modules.state_dict()
    assert all(t.dtype == torch.float32 for t in trained.values())  # the checks cast a copy, not the run's UNet
    again = train(tiny("flow", steps=2, eval_every=2, eval_n=16, precision="bf16", ema_decay=0.9), tmp_path / "h",
                  progress=False)
    resume(tmp_path / "h", steps=4, progress=False)
    halves = load(tmp_path / "h").modules.state_dict()
    assert run.step == 4 and again.step == 2 and all(torch.equal(trained[k], halves[k]) for k in trained)


def test_eval_fast_scores_the_fast_sampling(tmp_path):
    train(tiny("flow", steps=4), tmp_path / "r", progress=False)
    common = ("--metrics", "fid", "--n", "32", "--no-reference", "--no-copies", "--quiet", "--json")
    plain, fast = (run_cli("eval", str(tmp_path / "r"), *common, *extra) for extra in ((), ("--fast",)))
    assert plain.returncode == 0 and fast.returncode == 0, fast.stderr
    a, b = (json.loads(p.stdout)["metrics"]["fid"] for p in (plain, fast))
    assert math.isfinite(b) and b == pytest.approx(a, rel=0.1)  # bf16 where it pays here: rounding, not other images
