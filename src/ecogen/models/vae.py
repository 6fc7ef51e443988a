"""Convolutional VAE: the DCGAN discriminator's conv stack as encoder (to mean and log-variance of a
Gaussian latent), the DCGAN generator as decoder. The loss is the negative ELBO, in closed form for KL.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ecogen.base.batching import paired_chunks
from ecogen.config import ModelConfig
from ecogen.models.dcgan import Discriminator, Generator, num_classes
from ecogen.models.latent_prior import FIT_IMAGES, PRIOR, LatentPrior
from ecogen.registry import Registry

NOISE = "noise"  # the module holding a learnt decoder variance, when the likelihood has one


class LearntNoise(nn.Module):
    """The one learnt standard deviation gamma of a Gaussian decoder (Dai & Wipf, ICLR 2019): as gamma
    falls toward the reconstruction error, reconstructions sharpen instead of averaging to a blur. Its
    forward is the negative log-likelihood, so under DDP the parameter's gradient is reduced like any other."""

    def __init__(self) -> None:
        super().__init__()
        self.log_gamma = nn.Parameter(torch.zeros(()))

    def initialise(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            self.log_gamma.zero_()  # gamma = 1: the unit-variance Gaussian (mse) at the start

    def forward(self, squared_error: torch.Tensor, pixels: int) -> torch.Tensor:
        """-log N(x; x_hat, gamma^2 I) per image from its summed squared error over ``pixels`` values."""
        g = self.log_gamma
        return 0.5 * squared_error * torch.exp(-2 * g) + pixels * (g + 0.5 * math.log(2 * math.pi))


# -log p(x|z) per image from the decoder's pre-activation and the [-1, 1] image; the modules give learnt terms
Likelihood = Callable[[torch.Tensor, torch.Tensor, nn.ModuleDict], torch.Tensor]
LIKELIHOODS: Registry[Likelihood] = Registry("likelihood")


@LIKELIHOODS.register("mse")
def _unit_gaussian(pre: torch.Tensor, x: torch.Tensor, modules: nn.ModuleDict) -> torch.Tensor:
    """Gaussian with unit variance on [-1, 1] pixels, up to a constant."""
    return 0.5 * (torch.tanh(pre) - x).pow(2).flatten(1).sum(1)


@LIKELIHOODS.register("bce")
def _bernoulli(pre: torch.Tensor, x: torch.Tensor, modules: nn.ModuleDict) -> torch.Tensor:
    """Bernoulli on [0, 1] pixels, from the decoder's logits (tanh(a) = 2 sigmoid(2a) - 1)."""
    return F.binary_cross_entropy_with_logits(2 * pre, (x + 1) / 2, reduction="none").flatten(1).sum(1)


@LIKELIHOODS.register("gaussian")
def _learnt_gaussian(pre: torch.Tensor, x: torch.Tensor, modules: nn.ModuleDict) -> torch.Tensor:
    """Gaussian with one learnt variance on [-1, 1] pixels (the module ``noise``)."""
    return modules[NOISE]((torch.tanh(pre) - x).pow(2).flatten(1).sum(1), x[0].numel())


def build_vae(config: ModelConfig, image_size: int, channels: int) -> nn.ModuleDict:
    k = num_classes(config)
    modules = nn.ModuleDict(
        {
            "encoder": Discriminator(image_size, channels, config.width_mult, config.d_downsample, "batch",
                                     outputs=2 * config.latent_dim, num_classes=k, conditioning="concat"),
            "decoder": Generator(config.latent_dim, image_size, channels, config.width_mult, k, config.g_conditioning,
                                 config.g_depth, config.g_upsample),
        }
    )
    if config.recon == "gaussian":
        modules[NOISE] = LearntNoise()
    if config.prior != "standard":
        modules[PRIOR] = LatentPrior(config.latent_dim, config.prior_components if config.prior == "mixture" else 1,
                                     warm=config.prior_refit == "warm")
    return modules


def encode(encoder: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, log-variance) of q(z|x[, y]); the log-variance is clamped to keep exp() finite."""
    mu, logvar = encoder(x, y).chunk(2, dim=1)
    return mu, logvar.clamp(-30.0, 20.0)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return mu + eps * torch.exp(0.5 * logvar)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image: -1/2 sum(1 + log s^2 - mu^2 - s^2)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reconstruction(modules: nn.ModuleDict, z: torch.Tensor, x: torch.Tensor, kind: str,
                   y: torch.Tensor | None = None) -> torch.Tensor:
    """-log p(x|z) per image under the likelihood ``kind`` (LIKELIHOODS)."""
    return LIKELIHOODS.get(kind)(modules["decoder"](z, y, pre_activation=True), x, modules)


def negative_elbo(modules: nn.ModuleDict, x: torch.Tensor, kind: str, eps: torch.Tensor,
                  y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL) per image; the negative ELBO is their sum (with beta = 1)."""
    mu, logvar = encode(modules["encoder"], x, y)
    z = reparameterise(mu, logvar, eps)
    return reconstruction(modules, z, x, kind, y), kl_divergence(mu, logvar)


@torch.no_grad()
def encode_mean(modules: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
    """The posterior mean, as the latent the sampling module reads (behind a fitted prior: its inverse):
    the one-pass inversion transforms use."""
    mu = encode(modules["encoder"], x)[0]
    return modules[PRIOR].inverse(mu) if PRIOR in modules else mu


@torch.no_grad()
def training_codes(modules: nn.ModuleDict, images: torch.Tensor, labels: torch.Tensor | None, seed: int,
                   batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """(posterior means, one draw of q(z|x) each) of up to FIT_IMAGES training images: images and noise
    drawn from ``seed``; the encoder is read in eval mode and left as it was."""
    encoder, gen = modules["encoder"], torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(images), generator=gen)[:FIT_IMAGES].to(images.device)
    eps = torch.randn(len(pick), modules["decoder"].latent_dim, generator=gen).to(images.device)
    chosen = images.index_select(0, pick)
    classes = None if labels is None else labels.index_select(0, pick)
    was_training = encoder.training
    encoder.eval()
    means, codes = [], []
    for start, (x, y) in zip(range(0, len(chosen), batch_size), paired_chunks(chosen, classes, batch_size)):
        mu, logvar = encode(encoder, x, y)
        means.append(mu.float())
        codes.append(reparameterise(mu.float(), logvar.float(), eps[start:start + len(x)]))
    encoder.train(was_training)
    return torch.cat(means), torch.cat(codes)


def fit_prior(modules: nn.ModuleDict, images: torch.Tensor, labels: torch.Tensor | None, seed: int,
              final: bool = False) -> None:
    """Refit a fitted prior (when the model has one) to the codes ``training_codes`` draws: the aggregate
    posterior (for a Bernoulli VAE a Gaussian fitted to the means alone scored fashion FID 33.6, one
    fitted to the codes 28.3, benchmarks/vae_prior.py)."""
    if PRIOR in modules:
        modules[PRIOR].fit(training_codes(modules, images, labels, seed)[1], seed, final)


@torch.no_grad()
def held_out_elbo(modules: nn.ModuleDict, images: torch.Tensor, kind: str, seed: int = 0,
                  batch_size: int = 500, labels: torch.Tensor | None = None) -> dict[str, float]:
    """Mean per-image negative ELBO on ``images`` (one seeded z sample each), with its two parts."""
    gen = torch.Generator().manual_seed(seed)
    device = next(modules.parameters()).device
    recon_sum = kl_sum = 0.0
    for chunk, y in paired_chunks(images, labels, batch_size):
        eps = torch.randn(len(chunk), modules["decoder"].latent_dim, generator=gen).to(device)
        recon, kl = negative_elbo(modules, chunk.to(device), kind, eps, None if y is None else y.to(device))
        recon_sum += float(recon.sum())
        kl_sum += float(kl.sum())
    n = len(images)
    return {"neg_elbo": (recon_sum + kl_sum) / n, "elbo_recon": recon_sum / n, "elbo_kl": kl_sum / n}
