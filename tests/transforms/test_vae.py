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
    torch.testing.assert_close(reconstruction(vae, z, x, "mse"), mse)
    torch.testing.assert_close(reconstruction(vae, z, x, "bce"), bce, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close((p * 2 - 1), vae["decoder"](z), rtol=1e-5, atol=1e-5)


def test_learnt_variance_is_the_gaussian_density_and_falls_to_the_error():
    vae = build_model(ModelConfig(name="vae", latent_dim=4, width_mult=0.25, recon="gaussian"), 16, 1)
    z, x = torch.randn(3, 4), torch.rand(3, 1, 16, 16) * 2 - 1
    mean = vae["decoder"](z)
    with torch.no_grad():
        vae["noise"].log_gamma.fill_(-1.5)
    density = torch.distributions.Normal(mean, torch.exp(torch.tensor(-1.5))).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(reconstruction(vae, z, x, "gaussian"), -density, rtol=1e-4, atol=1e-3)
    # minimising over gamma alone: gamma^2 reaches the mean squared error per pixel
    opt = torch.optim.Adam(vae["noise"].parameters(), lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        reconstruction(vae, z.detach(), x, "gaussian").mean().backward()
        opt.step()
    mse = (mean.detach() - x).pow(2).mean()
    assert float(torch.exp(2 * vae["noise"].log_gamma.detach())) == pytest.approx(float(mse), rel=0.02)
    assert "noise" not in build_model(ModelConfig(name="vae", latent_dim=4, width_mult=0.25), 16, 1)


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


def test_latent_prior_fits_the_codes_and_inverts():
    from ecogen.models.latent_prior import LatentPrior

    gen = torch.Generator().manual_seed(0)
    mixing = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, -0.3, 0.1]])
    codes = torch.randn(20000, 3, generator=gen) @ mixing.T + torch.tensor([1.0, -2.0, 0.5])
    prior = LatentPrior(3)
    u = torch.randn(5, 3, generator=gen)
    torch.testing.assert_close(prior(u), u)  # N(0, I) until fitted
    prior.fit(codes)
    torch.testing.assert_close(prior.shift[0], codes.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(prior.scale_tril[0] @ prior.scale_tril[0].T, torch.cov(codes.T), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(prior.inverse(prior(u)), u, rtol=1e-4, atol=1e-4)
    drawn = prior(torch.randn(20000, 3, generator=gen))
    torch.testing.assert_close(torch.cov(drawn.T), mixing @ mixing.T, rtol=0.05, atol=0.05)


def test_a_mixture_prior_draws_each_component_by_its_weight_and_inverts():
    from ecogen.models.latent_prior import LatentPrior

    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    share = torch.tensor([0.5, 0.3, 0.2])
    which = torch.multinomial(share, 12000, replacement=True, generator=gen)
    codes = centres[which] + 0.5 * torch.randn(12000, 2, generator=gen)
    prior = LatentPrior(2, components=3, warm=True)
    prior.fit(codes, seed=0)
    order = torch.cdist(prior.shift, centres).argmin(1)  # the fitted components, matched to the centres
    assert sorted(order.tolist()) == [0, 1, 2]
    torch.testing.assert_close(prior.weights, share[order], atol=0.02, rtol=0)
    # u ~ N(0, I) through the map: each component as often as its weight, each a Gaussian of spread 0.5
    drawn = prior(torch.randn(30000, 2, generator=gen))
    nearest = torch.cdist(drawn, centres).argmin(1)
    torch.testing.assert_close(torch.bincount(nearest, minlength=3) / 30000.0, share, atol=0.015, rtol=0)
    spread = (drawn - centres[nearest]).std(0)
    torch.testing.assert_close(spread, torch.full((2,), 0.5), atol=0.03, rtol=0)
    # an image's code goes back to a latent that maps to it again
    torch.testing.assert_close(prior(prior.inverse(codes[:50])), codes[:50], rtol=1e-4, atol=1e-4)
    # a scratch refit starts afresh: the same codes and seed give the same prior
    fresh = LatentPrior(2, components=3)
    fresh.fit(codes, seed=0)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    fresh.fit(codes, seed=0)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in before.items())
    # a warm refit starts from the last fit: when the codes move, each component follows its own cluster
    # (a fresh start may number them in any order), with the same weights
    shift = torch.tensor([0.4, -0.3])
    start = prior.shift.clone()
    prior.fit(codes + shift, seed=5)
    torch.testing.assert_close(prior.shift, start + shift, atol=0.03, rtol=0)
    torch.testing.assert_close(prior.weights, share[order], atol=0.02, rtol=0)


def test_a_warm_refit_resumes_bitwise_because_a_stops_own_fit_is_not_the_next_start(tmp_path):
    """Refits fall at steps 4 and 8 (grids and checkpoints) and at the end; a run stopped at 6 also fits
    there, for its last grid and checkpoint. The fit at 8 must start from the fit at 4 in both runs."""
    from ecogen import checkpoint, resume, train

    vae = {"name": "vae", "latent_dim": 8, "width_mult": 0.25, "recon": "gaussian", "prior": "mixture",
           "prior_components": 3, "prior_refit": "warm"}
    train(tiny_config(model=vae, steps=10), tmp_path / "a", progress=False)
    train(tiny_config(model=vae, steps=6), tmp_path / "b", progress=False)
    stopped = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    at_four = checkpoint.select(tmp_path / "b", 4).tensors
    assert int(stopped["model.prior.started"]) == 1  # a warm start is kept in the checkpoint ...
    assert torch.equal(stopped["model.prior.start_shift"], at_four["model.prior.shift"])  # ... the scheduled fit's
    assert not torch.equal(stopped["model.prior.shift"], at_four["model.prior.shift"])  # the stop sampled its own
    resume(tmp_path / "b", steps=10, progress=False)
    a = checkpoint.latest(tmp_path / "a" / "checkpoints").tensors
    b = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_fitted_prior_is_refit_at_each_save_and_samples_from_the_codes(tmp_path):
    from ecogen import checkpoint, resume, train
    from ecogen.data import prepare_data
    from ecogen.models.vae import encode, fit_prior

    vae = {"name": "vae", "latent_dim": 8, "width_mult": 0.25, "recon": "gaussian", "prior": "mixture",
           "prior_components": 3}
    train(tiny_config(model=vae, steps=6), tmp_path / "a", progress=False)
    first = checkpoint.select(tmp_path / "a", 4).tensors
    last = checkpoint.latest(tmp_path / "a" / "checkpoints").tensors
    assert not torch.equal(first["model.prior.shift"], last["model.prior.shift"])  # refit at each checkpoint
    assert float(last["model.noise.log_gamma"]) < 0  # the learnt variance moved below 1
    bill = records.read(tmp_path / "a" / "run.json")
    assert bill.phases["prior"].wh > 0 and bill.training_wh > bill.phases["prior"].wh  # the fits are training
    generator = load(tmp_path / "a", device="cpu")
    modules = generator.modules
    train_images = torch.from_numpy(prepare_data(generator.config.data).train.images)
    prior = modules["prior"]
    saved = {k: v.clone() for k, v in prior.state_dict().items()}
    fit_prior(modules, train_images, None, generator.config.seed)  # the same fit again: the same buffers
    torch.testing.assert_close(prior.state_dict(), saved)
    # samples are the decoder at the prior's codes; an image's latent decodes as its posterior mean does
    u = generator.latents(4, seed=1)
    torch.testing.assert_close(generator.sample(4, seed=1), modules["decoder"](prior(u)), rtol=1e-4, atol=1e-4)
    x = train_images[:3]
    mu = encode(modules["encoder"], x)[0]
    torch.testing.assert_close(modules["decoder"](prior(modules["prior"].inverse(mu))), modules["decoder"](mu),
                               rtol=1e-4, atol=1e-4)
    # a resumed run keeps the same prior and weights, bit for bit
    train(tiny_config(model=vae, steps=3), tmp_path / "b", progress=False)
    resume(tmp_path / "b", steps=6, progress=False)
    b = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    assert all(torch.equal(last[k], b[k]) for k in last)
