"""One denoising step, for diffusion and flow matching alike: noise real images to a random time, and
regress the network's prediction onto the target (noise or velocity) the model's objective defines.
The step is one energy phase, ``denoise_step``; sampling costs ``steps`` network evaluations per image."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ecogen.config import TrainConfig
from ecogen.energy.flops import count_flops
from ecogen.errors import ConfigError
from ecogen.models.denoiser import TRAIN_TIMESTEPS
from ecogen.training.augment import parse_policy
from ecogen.training.distributed import unwrap
from ecogen.training.phases import PhaseMeter


class DenoisingFamily:
    batches_per_step = 1
    update_phase = "denoise_step"

    def __init__(self, modules: nn.ModuleDict, config: TrainConfig) -> None:
        if parse_policy(config.augment):
            raise ConfigError("augment: DiffAugment augments a discriminator's inputs; diffusion and flow have none")
        self.modules = modules
        self.state: dict[str, torch.Tensor] = {}  # no tensors beyond its modules and optimizers
        self.net = modules["sampler"]  # a DDP wrapper under torchrun: its forward is the training loss
        self.denoiser = unwrap(self.net)
        betas = (config.optim.beta1, config.optim.beta2)
        self.optimizers = {"net": torch.optim.Adam(self.net.parameters(), lr=config.optim.lr_g, betas=betas)}

    def times(self, n: int, rng: torch.Generator, device: torch.device) -> torch.Tensor:
        if self.denoiser.objective == "flow":
            return torch.rand(n, generator=rng, device=device)
        return torch.randint(TRAIN_TIMESTEPS, (n,), generator=rng, device=device)

    def step(
        self,
        next_real: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
        rng: torch.Generator,
        meter: PhaseMeter,
        step: int = 0,
    ) -> dict[str, torch.Tensor]:
        with meter.phase("data"):
            real, y = next_real()
        with meter.phase("denoise_step"):
            z = torch.randn(len(real), self.denoiser.latent_dim, generator=rng, device=real.device)
            loss = self.net(z, y, real=real, t=self.times(len(real), rng, real.device)).mean()
            opt = self.optimizers["net"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return {"loss": loss.detach()}

    def flop_counts(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, int]:
        """FLOPs of one step, and of one image at the model's sampling steps (counted on a copy)."""
        net = copy.deepcopy(self.denoiser)
        gen = torch.Generator(real.device).manual_seed(0)
        z = torch.randn(len(real), net.latent_dim, generator=gen, device=real.device)
        t = self.times(len(real), gen, real.device)

        def update() -> None:
            net(z, labels, real=real, t=t).mean().backward()

        def one_image() -> None:
            with torch.no_grad():
                net.eval()(z[:1], None if labels is None else labels[:1])

        return {"denoise_step": count_flops(update), "image": count_flops(one_image)}
