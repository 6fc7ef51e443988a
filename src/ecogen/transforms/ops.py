"""The transformations, each a function of (model, images, ...) -> images, registered by name.

Images are N x C x H x W tensors in [-1, 1] at the model's size; masks are N x 1 x H x W with
1 marking a missing pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ecogen.errors import EcogenError
from ecogen.registry import Registry
from ecogen.transforms.latent import LatentModel

TRANSFORMS: Registry[Callable[..., torch.Tensor]] = Registry("transformation")


@TRANSFORMS.register("reconstruct")
def reconstruct(model: LatentModel, images: torch.Tensor) -> torch.Tensor:
    """Encode and decode: the VAE's encoder, or GAN inversion."""
    return model.decode(model.encode(images)).cpu()


@TRANSFORMS.register("denoise")
def denoise(model: LatentModel, images: torch.Tensor) -> torch.Tensor:
    """Project a corrupted image onto the model's manifold: the clean image the model finds closest."""
    return reconstruct(model, images)


@TRANSFORMS.register("inpaint")
def inpaint(model: LatentModel, images: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """Fill the missing pixels from a latent fitted to the known ones; known pixels are kept exactly."""
    if missing.shape[0] not in (1, images.shape[0]) or missing.shape[-2:] != images.shape[-2:]:
        raise EcogenError(f"mask of size {tuple(missing.shape[-2:])} does not fit images of {tuple(images.shape[-2:])}")
    missing = missing.expand(images.shape[0], 1, *images.shape[-2:]).float()
    known = 1 - missing
    start = images * known - missing  # missing pixels start as background (-1)
    init = model.encode(start) if model.has_encoder else model.generator.latents(len(images), model.seed)
    z = model.fit(images, known, init, steps=max(model.steps, 1))
    filled = model.decode(z).cpu()
    return images * known + filled * missing


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: keeps latents at the norm Gaussian samples have."""
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True)).clamp(min=1e-12)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


PATHS = {"linear": lambda a, b, t: (1 - t) * a + t * b, "slerp": slerp}


@TRANSFORMS.register("interpolate")
def interpolate(model: LatentModel, start: torch.Tensor, end: torch.Tensor, frames: int = 8,
                path: str = "slerp") -> torch.Tensor:
    """``frames`` images from ``start``'s latent to ``end``'s (latents, N x latent_dim), both ends included."""
    if frames < 2:
        raise EcogenError(f"interpolate needs --frames >= 2 (got {frames})")
    if path not in PATHS:
        raise EcogenError(f"unknown path {path!r}; choose from: {', '.join(PATHS)}")
    ts = torch.linspace(0, 1, frames).tolist()
    return model.decode(torch.cat([PATHS[path](start, end, t) for t in ts])).cpu()


Noise = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]
NOISES: Registry[Noise] = Registry("noise")


@NOISES.register("gaussian")
def _gaussian(images: torch.Tensor, level: float, gen: torch.Generator) -> torch.Tensor:
    """Additive Gaussian noise; ``level`` is sigma on the [0, 1] pixel scale."""
    return (images + 2 * level * torch.randn(images.shape, generator=gen)).clamp(-1, 1)


@NOISES.register("saltpepper")
def _salt_and_pepper(images: torch.Tensor, level: float, gen: torch.Generator) -> torch.Tensor:
    """A share ``level`` of the pixels set to black or white (all channels alike)."""
    hit = torch.rand(images.shape[0], 1, *images.shape[2:], generator=gen) < level
    salt = torch.rand(hit.shape, generator=gen) < 0.5
    value = salt.float() * 2 - 1
    return torch.where(hit.expand_as(images), value.expand_as(images), images)


def corrupt(images: torch.Tensor, noise: str, seed: int = 0) -> torch.Tensor:
    """``KIND:LEVEL`` with a registered kind: ``gaussian:SIGMA`` or ``saltpepper:P``; LEVEL in [0, 1]."""
    kind, _, amount = noise.partition(":")
    try:
        level = float(amount)
    except ValueError:
        raise EcogenError(f"--noise must be KIND:LEVEL, one of {', '.join(NOISES.names())} (got {noise!r})") from None
    if not 0 <= level <= 1:
        raise EcogenError(f"noise level must be within [0, 1] (got {level})")
    return NOISES.get(kind)(images, level, torch.Generator().manual_seed(seed))
