"""Model registry: a name -> how to build its modules and which training family steps them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ecogen.config import ModelConfig
from ecogen.models.dcgan import Discriminator, Generator, build_dcgan
from ecogen.models.denoiser import bf16_weights, build_denoiser
from ecogen.models.latent_prior import compose as behind_prior
from ecogen.models.vae import build_vae, encode_mean, fit_prior, held_out_elbo
from ecogen.errors import ConfigError
from ecogen.registry import Registry


# What evaluation adds for a model that has a likelihood: (modules, held-out images, config, seed, labels) -> figures
ExtraEval = Callable[[nn.ModuleDict, torch.Tensor, ModelConfig, int, "torch.Tensor | None"], dict[str, float]]
# What sampling reads from the training images, refreshed before a check, a grid or a checkpoint:
# (modules, training images, their labels, seed, final) -> None (a VAE's fitted prior); final: the refit of a
# stopped run's last grid and checkpoint, which must leave no trace in later refits
Refit = Callable[[nn.ModuleDict, torch.Tensor, "torch.Tensor | None", int, bool], None]


def _as_is(modules: nn.ModuleDict, sampler: nn.Module) -> nn.Module:
    return sampler


def _channels_last(sampler: nn.Module, precision: str) -> nn.Module:
    """Channels-last memory, with bf16 left to the caller's autocast: the DCGAN's convolutions run fastest so."""
    return sampler.to(memory_format=torch.channels_last)


@dataclass(frozen=True)
class ModelSpec:
    """What differs between model families, in one place: transforms, evaluation and the loop read it
    here, so a new family is a new entry, not an edit of their code."""

    build: Callable[[ModelConfig, int, int], nn.ModuleDict]
    family: str  # the training family (see ecogen.training.families) that steps these modules
    sampler: str  # the module that maps latents to images
    # images -> latents in one pass (a VAE's posterior mean); None: inverted by latent optimisation
    encode: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor] | None = None
    inversion_steps: int = 300  # latent-optimisation steps when the user gives none (GAN inversion needs many)
    extra_eval: ExtraEval | None = None  # `ecogen eval` adds these figures (a VAE's held-out ELBO)
    # samples by integrating in steps (diffusion, flow): the latent is the starting noise, C x H x W values;
    # `--steps` applies; no export, latent transforms or layer mixing (they need a one-pass generator)
    iterative: bool = False
    # the module that samples, from the modules and the sampler (or its EMA copy): a VAE's prior goes in front
    compose: Callable[[nn.ModuleDict, nn.Module], nn.Module] = _as_is
    refit: Refit | None = None
    # the sampler made cheapest for inference at a precision (``fp32`` or ``bf16``), in place: what
    # ``enable_fast`` and a bf16 run's quality checks sample with
    fast: Callable[[nn.Module, str], nn.Module] = _channels_last
    fast_batch: int = 1024  # fast sampling's batch (the UNet's is 256: at 1,024 an image took ~1.45x as long)

    def latent_size(self, config: ModelConfig, image_size: int, channels: int) -> int:
        return channels * image_size * image_size if self.iterative else config.latent_dim


def _elbo(modules: nn.ModuleDict, images: torch.Tensor, config: ModelConfig, seed: int,
          labels: torch.Tensor | None) -> dict[str, float]:
    return held_out_elbo(modules, images, config.recon, seed, labels=labels)  # a conditional VAE encodes with its class


MODELS: Registry[ModelSpec] = Registry("model")
MODELS.add("dcgan", ModelSpec(build_dcgan, family="gan", sampler="G"))
MODELS.add("vae", ModelSpec(build_vae, family="vae", sampler="decoder", encode=encode_mean, inversion_steps=100,
                            extra_eval=_elbo, compose=behind_prior, refit=fit_prior))
MODELS.add("diffusion", ModelSpec(build_denoiser("diffusion"), family="denoising", sampler="sampler", iterative=True,
                                  fast=bf16_weights, fast_batch=256))
MODELS.add("flow", ModelSpec(build_denoiser("flow"), family="denoising", sampler="sampler", iterative=True,
                             fast=bf16_weights, fast_batch=256))

# Named architecture presets: overrides of ModelConfig fields.
PRESETS: Registry[dict[str, object]] = Registry("preset")
# The reference design ecogen started from; at 32x32 it is exactly
#   G: ConvT 100->256 (k4 s1 p0), 256->128, 128->64, 64->C (k4 s2 p1)
#   D: Conv C->64, 64->128, 128->256 (k4 s2 p1), 256->1 (k4 s1 p0)
PRESETS.add("seed", {"name": "dcgan", "latent_dim": 100, "width_mult": 1.0, "d_downsample": "stride", "d_norm": "batch"})


MAX_PARAMETERS = 2_000_000_000  # 8 GB of fp32 weights: beyond what ecogen's models are meant for


def build_model(config: ModelConfig, image_size: int, channels: int, seed: int = 0) -> nn.ModuleDict:
    """Build on the CPU with initial weights drawn from a generator seeded with ``seed``: no global RNG is
    read or written. The modules are laid out on the meta device first (no memory), so an absurd config is
    refused, not allocated; then every module draws its weights with ``initialise(generator)``."""
    spec = MODELS.get(config.name)
    with torch.device("meta"):
        modules = spec.build(config, image_size, channels)
    count = sum(p.numel() for p in modules.parameters())
    if count > MAX_PARAMETERS:
        raise ConfigError(f"model: {count:,} parameters ({count * 4 / 2**30:.0f} GiB) at image size {image_size}, "
                          f"width {config.width_mult}, latent {config.latent_dim}: more than ecogen builds")
    modules = modules.to_empty(device="cpu")
    _poison(modules)
    generator = torch.Generator().manual_seed(seed)
    for module in modules.values():
        module.initialise(generator)
    _check_initialised(modules, config.name)
    return modules


@torch.no_grad()
def _poison(modules: nn.Module) -> None:
    """NaN in every float tensor, so one that ``initialise`` forgets is caught, not left as stale memory."""
    for tensor in [*modules.parameters(), *modules.buffers()]:
        if tensor.is_floating_point():
            tensor.fill_(float("nan"))
        else:
            tensor.zero_()


def _check_initialised(modules: nn.Module, name: str) -> None:
    for key, tensor in [*modules.named_parameters(), *modules.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RuntimeError(f"model {name}: {key} was not initialised (its initialise() misses that layer)")


__all__ = ["MODELS", "PRESETS", "Discriminator", "Generator", "ModelSpec", "build_model"]
