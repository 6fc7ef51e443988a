"""One GAN training step: d_steps discriminator updates, then one generator update.

The loss registry owns the math; this file owns only the order of updates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ecogen.config import TrainConfig
from ecogen.energy.flops import count_flops
from ecogen.models.dcgan import num_classes
from ecogen.training.augment import AdaptiveProbability, apply_policy, parse_policy
from ecogen.training.distributed import unwrap
from ecogen.training.losses import LOSSES
from ecogen.training.phases import PhaseMeter


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """gamma / 2 x E ||grad_x D(x)||^2 at real images (Mescheder et al. 2018): D stays flat where the data
    is, which keeps the game from circling around its equilibrium."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return 0.5 * gamma * grad.float().pow(2).flatten(1).sum(1).mean()


class GanFamily:
    """G and D may be DDP wrappers (training/distributed.py): each update's backward then averages that
    module's gradients over the ranks once; the other module is used unwrapped, so its gradients, which
    its own update discards, are never reduced."""

    def __init__(self, modules: nn.ModuleDict, config: TrainConfig) -> None:
        self.G, self.D = modules["G"], modules["D"]
        self.loss = LOSSES.get(config.loss)
        self.d_steps = config.d_steps
        self.batches_per_step = config.d_steps  # each discriminator update takes a fresh real batch
        self.update_phase = "g_step"
        self.batch_size = config.batch_size
        self.latent_dim = config.model.latent_dim
        self.num_classes = num_classes(config.model)
        self.augment = parse_policy(config.augment)
        device = next(self.D.parameters()).device
        self.ada = AdaptiveProbability(config.ada_target, config.ada_kimg, device) if config.ada_target else None
        self.state = self.ada.state if self.ada else {}  # tensors checkpoints keep (training/families.py)
        self.r1_gamma, self.r1_every = config.r1_gamma, config.r1_every
        betas = (config.optim.beta1, config.optim.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=config.optim.lr_g, betas=betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=config.optim.lr_d, betas=betas),
        }

    def latents(self, n: int, rng: torch.Generator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Noise and, for a conditional model, uniformly drawn class labels, from the run's own RNG."""
        z = torch.randn(n, self.latent_dim, generator=rng, device=device)
        y = torch.randint(self.num_classes, (n,), generator=rng, device=device) if self.num_classes else None
        return z, y

    def step(
        self,
        next_real: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
        rng: torch.Generator,
        meter: PhaseMeter,
        step: int = 0,
    ) -> dict[str, torch.Tensor]:
        """Returns detached losses and mean discriminator outputs (no host sync here, but one read of ADA's
        p per step when it is on)."""
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        # ADA's probability for this step (None: DiffAugment, always; 0.0: skip the augmentations' work)
        p = None if self.ada is None else (self.ada.p if float(self.ada.p) > 0 else 0.0)
        for i in range(self.d_steps):
            with meter.phase("data"):
                real, y_real = next_real()
            with meter.phase("d_step"):
                z, y_fake = self.latents(len(real), rng, real.device)
                with torch.no_grad():
                    fake = unwrap(self.G)(z, y_fake)
                real_in = apply_policy(real, self.augment, rng, p)
                r1 = self.r1_gamma > 0 and (step * self.d_steps + i) % self.r1_every == 0
                if r1:
                    real_in = real_in.detach().requires_grad_(True)
                real_logits, real_cls = self.D(real_in, y_real, aux=True)
                fake_logits = self.D(apply_policy(fake, self.augment, rng, p), y_fake)
                loss_d = self.loss.d(real_logits, fake_logits)
                if r1:
                    loss_d = loss_d + self.r1_every * r1_penalty(real_logits, real_in, self.r1_gamma)
                if real_cls is not None:  # AC-GAN: D learns the classes from real images only
                    loss_d = loss_d + F.cross_entropy(real_cls, y_real)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                if self.ada is not None:
                    self.ada.observe(real_logits, step * self.d_steps + i)
        with meter.phase("g_step"):
            z, y = self.latents(self.batch_size, rng, real.device)
            fake_logits_g, fake_cls = unwrap(self.D)(apply_policy(self.G(z, y), self.augment, rng, p), y, aux=True)
            loss_g = self.loss.g(fake_logits_g)
            if fake_cls is not None:  # and G is rewarded when its image is classified as the asked class
                loss_g = loss_g + F.cross_entropy(fake_cls, y)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        out = {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }
        if self.ada is not None:
            out["ada_p"] = self.ada.p.clone()
        return out

    def flop_counts(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, int]:
        """FLOPs per training step by phase (d_steps D updates, one G update) and of one generated image,
        counted on copies (no state changes)."""
        G, D = copy.deepcopy(unwrap(self.G)), copy.deepcopy(unwrap(self.D))
        z, y = self.latents(len(real), torch.Generator(real.device).manual_seed(0), real.device)

        def d_update() -> None:
            with torch.no_grad():
                fake = G(z, y)
            self.loss.d(D(real, labels), D(fake, y)).backward()

        def g_update() -> None:
            self.loss.g(D(G(z, y), y)).backward()

        def one_image() -> None:
            with torch.no_grad():
                G.eval()(z[:1], None if y is None else y[:1])

        return {"d_step": count_flops(d_update) * self.d_steps, "g_step": count_flops(g_update),
                "image": count_flops(one_image)}
