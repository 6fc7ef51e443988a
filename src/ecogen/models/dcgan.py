"""DCGAN generator and discriminator, sized from image size, channels and a width multiplier."""

from __future__ import annotations

import torch
from torch import nn

from ecogen.config import ModelConfig
from ecogen.models.blocks import dcgan_init, resolution_plan, widths


class Generator(nn.Module):
    """z -> ConvTranspose (start x start) -> [ConvTranspose k4 s2 + BN + ReLU] x n -> Tanh."""

    def __init__(self, latent_dim: int, image_size: int, channels: int, width_mult: float = 1.0) -> None:
        super().__init__()
        start, n_up = resolution_plan(image_size)
        w = widths(n_up, width_mult)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, w[0], start, 1, 0, bias=False),
            nn.BatchNorm2d(w[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = latent_dim
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))

    def pre_activation(self, z: torch.Tensor) -> torch.Tensor:
        """The output before Tanh: logits for likelihoods that need them (the VAE's Bernoulli)."""
        return self.net[:-1](z.view(z.shape[0], self.latent_dim, 1, 1))


class Discriminator(nn.Module):
    """x -> [Conv k4 s2 (or Conv k3 + AvgPool) (+ BN) + LeakyReLU(0.2)] x n -> Conv (start x start) -> logit.

    With ``outputs > 1`` the same stack is the VAE's encoder (outputs = 2 x latent: mean and log-variance).
    """

    def __init__(
        self,
        image_size: int,
        channels: int,
        width_mult: float = 1.0,
        downsample: str = "stride",
        norm: str = "none",
        outputs: int = 1,
    ) -> None:
        super().__init__()
        start, n_up = resolution_plan(image_size)
        w = widths(n_up, width_mult)[::-1]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([channels, *w[:-1]], w)):
            use_norm = norm == "batch" and i > 0
            if downsample == "stride":
                layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not use_norm))
            else:
                layers += [nn.Conv2d(c_in, c_out, 3, 1, 1, bias=not use_norm), nn.AvgPool2d(2)]
            if use_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(w[-1], outputs, start, 1, 0, bias=outputs > 1))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1).squeeze(1)


def build_dcgan(config: ModelConfig, image_size: int, channels: int) -> nn.ModuleDict:
    return nn.ModuleDict(
        {
            "G": Generator(config.latent_dim, image_size, channels, config.width_mult),
            "D": Discriminator(image_size, channels, config.width_mult, config.d_downsample, config.d_norm),
        }
    )
