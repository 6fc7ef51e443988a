"""A trained model seen as a latent space: encode (a VAE's encoder, or GAN inversion by latent
optimisation) and decode. Every transformation is built from these two and ``fit``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator


@dataclass
class LatentModel:
    generator: TrainedGenerator
    steps: int  # latent-optimisation steps (GAN inversion, inpainting refinement)
    lr: float = 0.05
    prior: float = 1e-3  # weight of ||z||^2: keeps latents where the model was trained
    seed: int = 0

    @property
    def device(self) -> torch.device:
        return self.generator.device

    @property
    def has_encoder(self) -> bool:
        return self.generator.spec.encode is not None

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.generator.module(z.to(self.device)).float()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean for a VAE; for a GAN, the latent whose image is closest (inversion)."""
        x = x.to(self.device)
        if self.has_encoder:
            with torch.no_grad():
                return self.generator.spec.encode(self.generator.modules, x)
        if self.steps <= 0:
            raise EcogenError("a GAN has no encoder: inversion needs --steps > 0 (latent optimisation)")
        init = self.generator.latents(len(x), self.seed).to(self.device)
        return self.fit(x, torch.ones_like(x[:, :1]), init)

    def fit(self, x: torch.Tensor, known: torch.Tensor, init: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """argmin_z mean(known * (decode(z) - x)^2) + prior * mean(z^2), by Adam from ``init``.

        ``known`` (N x 1 x H x W, 1 = pixel given) lets inpainting fit only the pixels it has.
        """
        x, known = x.to(self.device), known.to(self.device)
        z = init.clone().to(self.device).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.lr)
        module = self.generator.module
        for p in module.parameters():
            p.requires_grad_(False)
        try:
            for _ in range(self.steps if steps is None else steps):
                err = (module(z).float() - x).pow(2) * known
                loss = err.flatten(1).sum(1) / known.flatten(1).sum(1).clamp(min=1) + self.prior * z.pow(2).mean(1)
                opt.zero_grad(set_to_none=True)
                loss.sum().backward()
                opt.step()
        finally:
            for p in module.parameters():
                p.requires_grad_(True)
        return z.detach()
