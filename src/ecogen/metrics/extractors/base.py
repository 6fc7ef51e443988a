"""Feature extractors: images in [-1, 1] -> features (for FID, KID, precision/recall) and class
probabilities (for IS). Offline by construction: weights come from the package or a path the user gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecogen.registry import Registry

FIT_METHOD = "bilinear resize with antialiasing; grey <-> RGB by repetition / BT.601 luma"


@dataclass(frozen=True)
class Features:
    features: np.ndarray  # N x D float32
    probs: np.ndarray | None  # N x K class probabilities, when the extractor is a classifier

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, index: np.ndarray) -> Features:
        return Features(self.features[index], None if self.probs is None else self.probs[index])


class Extractor:
    """A network that returns (features, logits) for images at its own size and channel count."""

    def __init__(self, name: str, net: nn.Module, image_size: int, channels: int, key: str, info: dict,
                 feature_scale: float = 1.0) -> None:
        self.name, self.net, self.image_size, self.channels = name, net.eval(), image_size, channels
        self.feature_scale = feature_scale
        self.key = key  # identifies the weights, for feature caches
        self.info = info

    def fit(self, images: torch.Tensor) -> torch.Tensor:
        """Bring images to the extractor's size and channels (see FIT_METHOD)."""
        if images.shape[1] != self.channels:
            if self.channels == 3:
                images = images.expand(-1, 3, -1, -1)
            else:
                weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
                images = (images * weights).sum(1, keepdim=True)
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            size = (self.image_size, self.image_size)
            images = F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
        return images

    @torch.inference_mode()
    def extract(self, images: torch.Tensor, batch_size: int = 200, device: torch.device | None = None,
                progress: Callable[[int], None] | None = None) -> Features:
        device = device or next(self.net.parameters()).device
        self.net.to(device)
        feats, probs = [], []
        for chunk in images.split(batch_size):
            f, logits = self.net(self.fit(chunk.to(device).float()))
            feats.append(f.float().cpu() * self.feature_scale)
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
            if progress:
                progress(len(chunk))
        return Features(torch.cat(feats).numpy(), torch.cat(probs).numpy())


EXTRACTORS: Registry[Callable[[str | None], Extractor]] = Registry("extractor")


def load_extractor(spec: str) -> Extractor:
    """``mnist``, ``inception:PATH`` (or ``inception`` with --weights) or ``classifier:PATH``."""
    name, _, arg = spec.partition(":")
    return EXTRACTORS.get(name)(arg or None)
