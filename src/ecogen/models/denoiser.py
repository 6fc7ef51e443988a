"""Diffusion and flow matching on one small UNet: diffusers' ``UNet2DModel`` built from a config (nothing
downloaded), wrapped in a module whose forward turns noise into images by integrating the learned
process, so every part of ecogen that samples a generator (grids, checks, ``ecogen sample``, receipts)
samples these too.

The latent of an image is its starting noise, flattened: ``latent_dim = C x H x W``, and the same seed
gives the same image. ``steps`` (network evaluations: DDIM steps; Euler steps, Heun takes two per step
but its last) is the quality/energy dial, set per call.

- ``diffusion``: the DDPM objective (Ho et al. 2020) with diffusers' ``DDPMScheduler`` for the noise
  schedule (``linear`` or ``cosine``) and the target (``epsilon`` or ``v``), sampled with deterministic
  DDIM (``DDIMScheduler``, eta 0, trailing timesteps, so one step starts from pure noise).
- ``flow``: rectified flow / flow matching (Liu et al. 2022, Lipman et al. 2022): x_t = (1 - t) z + t x,
  the network predicts the velocity x - z; sampled by Euler or Heun from t = 0 (noise) to t = 1.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ecogen.config import ModelConfig
from ecogen.errors import ConfigError

TRAIN_TIMESTEPS = 1000
SCHEDULES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}  # ecogen's name -> diffusers' beta_schedule
PREDICTIONS = {"epsilon": "epsilon", "v": "v_prediction"}


def unet_config(config: ModelConfig, image_size: int, channels: int, num_classes: int) -> dict[str, Any]:
    """A small UNet: width 64 x width_mult at full resolution, doubled below, attention at the lowest level."""
    base = max(8, round(64 * config.width_mult))
    levels = 3 if image_size % 4 == 0 and image_size >= 16 else 2
    if image_size % 2 ** (levels - 1):
        raise ConfigError(f"data.image_size: {image_size} does not halve {levels - 1} times for the UNet; use an "
                          f"even size such as 16, 28 or 32")
    widths = tuple(base * min(2 ** i, 2) for i in range(levels))
    return {
        "sample_size": image_size, "in_channels": channels, "out_channels": channels,
        "block_out_channels": widths, "layers_per_block": 1, "norm_num_groups": 8,
        "down_block_types": ("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
        "up_block_types": ("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
        "num_class_embeds": num_classes or None, "attention_head_dim": 8,
    }


@torch.no_grad()
def default_init(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's own default initialisations, drawn from ``generator`` (a build never reads the global RNG)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.GroupNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, generator=generator)


class Denoiser(nn.Module):
    """The trained UNet and how to sample with it. ``forward(z, y)`` makes images from flat noise ``z``;
    ``forward(z, y, real=x, t=t)`` is the training loss per image for noise ``z`` at times ``t`` (one entry
    point, so a DDP wrapper sees the training use)."""

    def __init__(self, config: ModelConfig, objective: str, image_size: int, channels: int, num_classes: int) -> None:
        super().__init__()
        from diffusers import UNet2DModel

        self.objective, self.shape = objective, (channels, image_size, image_size)
        self.net = UNet2DModel(**unet_config(config, image_size, channels, num_classes))
        self.latent_dim = channels * image_size * image_size
        self.steps = config.sample_steps
        self.solver, self.schedule, self.prediction = config.solver, config.schedule, config.prediction
        self.num_classes = num_classes

    def initialise(self, generator: torch.Generator | None = None) -> None:
        default_init(self.net, generator)

    def _noise_scheduler(self) -> Any:
        from diffusers import DDPMScheduler

        return DDPMScheduler(num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule=SCHEDULES[self.schedule],
                             prediction_type=PREDICTIONS[self.prediction], clip_sample=False)

    def _predict(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("a conditional model needs class labels")
        labels = y if self.num_classes else None
        if self.net.dtype == x.dtype:
            return self.net(x, t, class_labels=labels).sample
        # bf16 weights (bf16_weights): the network runs wholly in them, autocast off (it would put the group
        # norms back in fp32); the state integrated between steps stays in the caller's fp32
        with torch.autocast(x.device.type, enabled=False):
            return self.net(x.to(self.net.dtype), t, class_labels=labels).sample.to(x.dtype)

    def loss(self, z: torch.Tensor, y: torch.Tensor | None, real: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        noise = z.view(len(real), *self.shape)
        if self.objective == "flow":  # t in [0, 1): x_t on the straight line from noise to data
            tt = t.view(-1, 1, 1, 1)
            x_t = (1 - tt) * noise + tt * real
            target = real - noise
            pred = self._predict(x_t, t * TRAIN_TIMESTEPS, y)
        else:  # t: integer timesteps
            scheduler = self._noise_scheduler()
            x_t = scheduler.add_noise(real, noise, t)
            target = noise if self.prediction == "epsilon" else scheduler.get_velocity(real, noise, t)
            pred = self._predict(x_t, t, y)
        return F.mse_loss(pred.float(), target.float(), reduction="none").flatten(1).mean(1)

    def evaluations(self, steps: int | None = None) -> int:
        """Network evaluations per image at ``steps`` (Heun: two per step, one for the last)."""
        n = self.steps if steps is None else steps
        return 2 * n - 1 if self.objective == "flow" and self.solver == "heun" else n

    def _sample(self, noise: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        steps = self.steps
        if steps < 1:
            raise ConfigError(f"steps: at least 1 sampling step (got {steps})")
        x = noise
        if self.objective == "flow":
            ts = torch.linspace(0.0, 1.0, steps + 1, device=x.device)
            for i in range(steps):
                t0, t1 = ts[i], ts[i + 1]
                v = self._predict(x, (t0 * TRAIN_TIMESTEPS).expand(len(x)), y)
                if self.solver == "heun" and i < steps - 1:
                    v2 = self._predict(x + (t1 - t0) * v, (t1 * TRAIN_TIMESTEPS).expand(len(x)), y)
                    v = (v + v2) / 2
                x = x + (t1 - t0) * v
            return x.clamp(-1, 1)
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler(num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule=SCHEDULES[self.schedule],
                                  prediction_type=PREDICTIONS[self.prediction], clip_sample=True,
                                  set_alpha_to_one=True, timestep_spacing="trailing")
        scheduler.set_timesteps(steps)
        for t in scheduler.timesteps:
            out = self._predict(x, t.to(x.device).expand(len(x)), y)
            x = scheduler.step(out, t, x, eta=0.0).prev_sample
        return x.clamp(-1, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, real: torch.Tensor | None = None,
                t: torch.Tensor | None = None) -> torch.Tensor:
        if real is not None:
            return self.loss(z, y, real, t)
        return self._sample(z.view(len(z), *self.shape), y)


def bf16_weights(sampler: nn.Module, precision: str) -> nn.Module:
    """The UNet's weights in bf16 for inference (``precision="bf16"``), in place. Measured by
    benchmarks/sampling_precision.py (2 Xeon AMX cores): 2,000 MNIST images at 8 steps took 25.5 s with bf16
    weights, 26.0 with bf16 autocast and 50.6 in fp32 (flow; diffusion 26.4, 29.4 and 54.0), FIDs within
    0.2: bf16 weights the faster of the two bf16 forms in sampling, by 2-10%, and a pass over a batch of 1,024
    took about 1.45x as long per image as over 256."""
    if precision == "bf16":
        for module in sampler.modules():
            if isinstance(module, Denoiser):
                # nn.Module's own cast: diffusers' .to() warns of fp32 modules to keep, and lists none here
                nn.Module.to(module.net, torch.bfloat16)
    return sampler


def build_denoiser(objective: str):
    def build(config: ModelConfig, image_size: int, channels: int) -> nn.ModuleDict:
        k = len(config.classes or ()) if config.conditional else 0
        return nn.ModuleDict({"sampler": Denoiser(config, objective, image_size, channels, k)})

    return build
