"""One GAN training step: d_steps discriminator updates, then one generator update.

The loss registry owns the math; this file owns only the order of updates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ecogen.config import TrainConfig
from ecogen.energy.flops import count_flops
from ecogen.training.losses import LOSSES
from ecogen.training.phases import PhaseMeter


class GanFamily:
    def __init__(self, modules: nn.ModuleDict, config: TrainConfig) -> None:
        self.G, self.D = modules["G"], modules["D"]
        self.loss = LOSSES.get(config.loss)
        self.d_steps = config.d_steps
        self.batches_per_step = config.d_steps  # each discriminator update takes a fresh real batch
        self.batch_size = config.batch_size
        self.latent_dim = config.model.latent_dim
        betas = (config.optim.beta1, config.optim.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=config.optim.lr_g, betas=betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=config.optim.lr_d, betas=betas),
        }

    def step(
        self,
        next_real: Callable[[], torch.Tensor],
        noise: Callable[[int], torch.Tensor],
        meter: PhaseMeter,
        step: int = 0,
    ) -> dict[str, torch.Tensor]:
        """Returns detached losses and mean discriminator outputs (no host sync here)."""
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        for _ in range(self.d_steps):
            with meter.phase("data"):
                real = next_real()
            with meter.phase("d_step"):
                with torch.no_grad():
                    fake = self.G(noise(len(real)))
                real_logits, fake_logits = self.D(real), self.D(fake)
                loss_d = self.loss.d(real_logits, fake_logits)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
        with meter.phase("g_step"):
            fake_logits_g = self.D(self.G(noise(self.batch_size)))
            loss_g = self.loss.g(fake_logits_g)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def flop_counts(self, real: torch.Tensor) -> dict[str, int]:
        """FLOPs per training step by phase (d_steps D updates, one G update) and of one generated image,
        counted on copies (no state changes)."""
        G, D = copy.deepcopy(self.G), copy.deepcopy(self.D)
        gen = torch.Generator(real.device).manual_seed(0)
        z = torch.randn(len(real), self.latent_dim, device=real.device, generator=gen)

        def d_update() -> None:
            with torch.no_grad():
                fake = G(z)
            self.loss.d(D(real), D(fake)).backward()

        def g_update() -> None:
            self.loss.g(D(G(z))).backward()

        def one_image() -> None:
            with torch.no_grad():
                G.eval()(z[:1])

        return {"d_step": count_flops(d_update) * self.d_steps, "g_step": count_flops(g_update),
                "image": count_flops(one_image)}
