"""Convolutional VAE: the DCGAN discriminator's conv stack as encoder (to mean and log-variance of a
Gaussian latent), the DCGAN generator as decoder. The loss is the negative ELBO, in closed form for KL.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecogen.base.batching import paired_chunks
from ecogen.config import ModelConfig
from ecogen.models.dcgan import Discriminator, Generator, num_classes


def build_vae(config: ModelConfig, image_size: int, channels: int) -> nn.ModuleDict:
    k = num_classes(config)
    return nn.ModuleDict(
        {
            "encoder": Discriminator(image_size, channels, config.width_mult, config.d_downsample, "batch",
                                     outputs=2 * config.latent_dim, num_classes=k, conditioning="concat"),
            "decoder": Generator(config.latent_dim, image_size, channels, config.width_mult, k, config.g_conditioning,
                                 config.g_depth),
        }
    )


def encode(encoder: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, log-variance) of q(z|x[, y]); the log-variance is clamped to keep exp() finite."""
    mu, logvar = encoder(x, y).chunk(2, dim=1)
    return mu, logvar.clamp(-30.0, 20.0)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return mu + eps * torch.exp(0.5 * logvar)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image: -1/2 sum(1 + log s^2 - mu^2 - s^2)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reconstruction(decoder: Generator, z: torch.Tensor, x: torch.Tensor, kind: str,
                   y: torch.Tensor | None = None) -> torch.Tensor:
    """-log p(x|z) per image, up to a constant. mse: Gaussian with unit variance on [-1, 1] pixels;
    bce: Bernoulli on [0, 1] pixels, from the decoder's logits (tanh(a) = 2 sigmoid(2a) - 1)."""
    pre = decoder(z, y, pre_activation=True)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(2 * pre, (x + 1) / 2, reduction="none").flatten(1).sum(1)
    return 0.5 * (torch.tanh(pre) - x).pow(2).flatten(1).sum(1)


def negative_elbo(modules: nn.ModuleDict, x: torch.Tensor, kind: str, eps: torch.Tensor,
                  y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL) per image; the negative ELBO is their sum (with beta = 1)."""
    mu, logvar = encode(modules["encoder"], x, y)
    z = reparameterise(mu, logvar, eps)
    return reconstruction(modules["decoder"], z, x, kind, y), kl_divergence(mu, logvar)


@torch.no_grad()
def encode_mean(modules: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
    """The posterior mean: the one-pass inversion transforms use."""
    return encode(modules["encoder"], x)[0]


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
