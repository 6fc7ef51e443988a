"""Latent composition: one image from several latents, by arithmetic on z or by blending a generator's
activations after a chosen layer (where the model allows: DCGAN-style Sequential generators)."""

from __future__ import annotations

import torch

from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator


def latent_mix(generator: TrainedGenerator, latents: torch.Tensor, weights: list[float], layer: int | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
    """sum_k w_k z_k decoded (``layer`` None), or sum_k w_k h_k(z_k) continued from ``layer`` on."""
    w = torch.tensor(weights, dtype=torch.float32).view(-1, 1)
    if len(w) != len(latents):
        raise EcogenError(f"latent mix needs one weight per latent ({len(latents)} latents, {len(w)} weights)")
    if layer is None:
        return generator.decode((w * latents).sum(0, keepdim=True), labels=None if labels is None else labels[:1])
    module = generator.module
    if not all(hasattr(module, name) for name in ("head", "tail", "depth")):
        raise EcogenError("per-layer mixing needs a generator that splits into head and tail (a DCGAN-style one)")
    if not 1 <= layer < module.depth:
        raise EcogenError(f"layer must be within 1..{module.depth - 1} for this generator (got {layer})")
    with torch.inference_mode():
        y = None if labels is None else labels.to(generator.device)
        h = module.head(latents.to(generator.device), y, layer)
        mixed = (w.to(h.device).view(-1, *[1] * (h.dim() - 1)) * h).sum(0, keepdim=True)
        return module.tail(mixed, None if y is None else y[:1], layer).float().cpu()
