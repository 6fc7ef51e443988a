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
    net = getattr(module, "net", None)
    if net is None or not hasattr(module, "run"):
        raise EcogenError("per-layer mixing needs a DCGAN-style generator")
    if not 1 <= layer < len(net):
        raise EcogenError(f"layer must be within 1..{len(net) - 1} for this generator (got {layer})")
    with torch.inference_mode():
        y = None if labels is None else labels.to(generator.device)
        h = module.run(module._input(latents.to(generator.device), y), y, stop=layer)
        mixed = (w.to(h.device).view(-1, *[1] * (h.dim() - 1)) * h).sum(0, keepdim=True)
        return module.run(mixed, None if y is None else y[:1], start=layer).float().cpu()
