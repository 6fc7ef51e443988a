"""One VAE training step: encode, reparameterise, decode, minimise recon + beta x KL (the negative ELBO)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ecogen.config import TrainConfig
from ecogen.energy.flops import count_flops
from ecogen.errors import ConfigError
from ecogen.models.vae import negative_elbo
from ecogen.training.augment import parse_policy
from ecogen.training.distributed import unwrap
from ecogen.training.phases import PhaseMeter


class VaeFamily:
    batches_per_step = 1
    update_phase = "vae_step"

    def __init__(self, modules: nn.ModuleDict, config: TrainConfig) -> None:
        if parse_policy(config.augment):
            raise ConfigError("augment: DiffAugment augments a discriminator's inputs; the VAE has none")
        self.modules = modules
        self.state: dict[str, torch.Tensor] = {}  # no tensors beyond its modules and optimizers
        self.model = config.model
        self.latent_dim = config.model.latent_dim
        betas = (config.optim.beta1, config.optim.beta2)
        self.optimizers = {"vae": torch.optim.Adam(modules.parameters(), lr=config.optim.lr_g, betas=betas)}

    def beta(self, step: int) -> float:
        warmup = self.model.kl_warmup
        return self.model.beta * (min(1.0, (step + 1) / warmup) if warmup else 1.0)

    def step(
        self,
        next_real: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
        rng: torch.Generator,
        meter: PhaseMeter,
        step: int = 0,
    ) -> dict[str, torch.Tensor]:
        with meter.phase("data"):
            real, y = next_real()
        with meter.phase("vae_step"):
            eps = torch.randn(len(real), self.latent_dim, generator=rng, device=real.device)
            recon, kl = negative_elbo(self.modules, real, self.model.recon, eps, y)
            loss = (recon + self.beta(step) * kl).mean()
            opt = self.optimizers["vae"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return {"loss": loss.detach(), "recon": recon.detach().mean(), "kl": kl.detach().mean()}

    def flop_counts(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, int]:
        modules = nn.ModuleDict({k: copy.deepcopy(unwrap(m)) for k, m in self.modules.items()})
        eps = torch.zeros(len(real), self.latent_dim, device=real.device)

        def update() -> None:
            recon, kl = negative_elbo(modules, real, self.model.recon, eps, labels)
            (recon + kl).mean().backward()

        def one_image() -> None:
            with torch.no_grad():
                modules["decoder"].eval()(eps[:1], None if labels is None else labels[:1])

        return {"vae_step": count_flops(update), "image": count_flops(one_image)}
