import json

import pytest
import torch

from ecogen import load
from ecogen.api import evaluate
from ecogen.models import build_model
from ecogen.config import ModelConfig
from ecogen.models.vae import kl_divergence, negative_elbo, reconstruction
from ecogen.energy import record as records
from ecogen.training.vae import VaeFamily

from conftest import tiny_config


def test_kl_closed_form():
    mu = torch.tensor([[0.0, 1.0]])
    logvar = torch.tensor([[0.0, torch.log(torch.tensor(4.0))]])
    # KL(N(mu, s^2) || N(0, 1)) = 1/2 (s^2 + mu^2 - 1 - log s^2), summed over dimensions
    expected = 0.0 + 0.5 * (4 + 1 - 1 - torch.log(torch.tensor(4.0)))
    assert kl_divergence(mu, logvar).item() == pytest.approx(expected.item(), rel=1e-6)


def test_reconstruction_terms_match_their_likelihoods():
    vae = build_model(ModelConfig(name="vae", latent_dim=4, width_mult=0.25), 16, 1)
    z, x = torch.randn(3, 4), torch.rand(3, 1, 16, 16) * 2 - 1
    pre = vae["decoder"](z, pre_activation=True)
    mse = 0.5 * (torch.tanh(pre) - x).pow(2).flatten(1).sum(1)
    p = torch.sigmoid(2 * pre)  # the Bernoulli mean, equal to (tanh + 1) / 2
    bce = -(((x + 1) / 2) * torch.log(p) + (1 - (x + 1) / 2) * torch.log(1 - p)).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction(vae["decoder"], z, x, "mse"), mse)
    torch.testing.assert_close(reconstruction(vae["decoder"], z, x, "bce"), bce, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close((p * 2 - 1), vae["decoder"](z), rtol=1e-5, atol=1e-5)


def test_beta_and_kl_warmup():
    cfg = tiny_config(model={"name": "vae", "beta": 2.0, "kl_warmup": 10})
    family = VaeFamily(build_model(cfg.model, 16, 1), cfg)
    assert family.beta(0) == pytest.approx(0.2) and family.beta(4) == pytest.approx(1.0) and family.beta(50) == 2.0


def test_vae_trains_with_the_shared_loop(vae_run):
    log = [json.loads(x) for x in (vae_run / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"] and {"recon", "kl"} <= set(log[-1])
    record = records.read(vae_run / "run.json")
    assert {"data", "vae_step", "checkpoint", "sample"} <= set(record.phases) and record.phases["vae_step"].flops > 0
    images = load(vae_run, device="cpu").sample(8, seed=0)
    assert images.shape == (8, 1, 32, 32) and images.abs().max() <= 1


def test_vae_resume_is_bitwise_equal(tmp_path):
    from ecogen import checkpoint, resume, train

    vae = {"name": "vae", "latent_dim": 8, "width_mult": 0.25}
    train(tiny_config(model=vae, steps=6), tmp_path / "a", progress=False)
    train(tiny_config(model=vae, steps=3), tmp_path / "b", progress=False)
    resume(tmp_path / "b", steps=6, progress=False)
    a = checkpoint.latest(tmp_path / "a" / "checkpoints").tensors
    b = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_eval_reports_the_held_out_elbo(vae_run, monkeypatch, tmp_path):
    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path))
    result = evaluate(vae_run, n=100, metrics="fid,kid", progress=False)
    assert result.extra["neg_elbo"] == pytest.approx(result.extra["elbo_recon"] + result.extra["elbo_kl"])
    assert result.extra["elbo_kl"] > 0 and result.extra["elbo_recon"] > 0
    generator = load(vae_run, device="cpu")
    x = torch.zeros(2, 1, 32, 32)
    recon, kl = negative_elbo(generator.modules, x, "mse", torch.zeros(2, 16))
    assert recon.shape == kl.shape == (2,)
