"""Feature extractors: images in [-1, 1] -> features (for FID, KID, precision/recall) and class
probabilities (for IS). Offline by construction: weights come from the package or a path the user gives.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecogen.errors import EcogenError
from ecogen.registry import Registry

FIT_METHOD = "bilinear resize with antialiasing; grey <-> RGB by repetition / BT.601 luma"
PRECISIONS = ("fp32", "bf16")


def _legacy_linear(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """TF1's resize_bilinear without half-pixel centres (source = dest * in/out), along one axis."""
    n = x.shape[dim]
    pos = torch.arange(size, device=x.device, dtype=torch.float64) * (n / size)
    lo = pos.floor().long().clamp(max=n - 1)
    hi = (lo + 1).clamp(max=n - 1)
    shape = [1] * x.dim()
    shape[dim] = size
    w = (pos - lo).to(x.dtype).view(shape)
    return x.index_select(dim, lo) * (1 - w) + x.index_select(dim, hi) * w


def _interpolate(mode: str, antialias: bool) -> Callable[[torch.Tensor, int], torch.Tensor]:
    def resize(x: torch.Tensor, size: int) -> torch.Tensor:
        extra = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
        return F.interpolate(x, size=(size, size), mode=mode, antialias=antialias, **extra)

    return resize


# How images reach an extractor's input size. Upsampling 28-64 px to 299, antialiasing changes nothing.
RESIZERS: Registry[Callable[[torch.Tensor, int], torch.Tensor]] = Registry("resize filter")
RESIZERS.add("bilinear", _interpolate("bilinear", antialias=True))
RESIZERS.add("bicubic", _interpolate("bicubic", antialias=True))
RESIZERS.add("nearest", _interpolate("nearest-exact", antialias=False))
RESIZERS.add("tf-bilinear", lambda x, size: _legacy_linear(_legacy_linear(x, size, 2), size, 3))


@dataclass(frozen=True)
class Features:
    features: np.ndarray  # N x D float32
    probs: np.ndarray | None  # N x K class probabilities, when the extractor is a classifier

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, index: np.ndarray) -> Features:
        return Features(self.features[index], None if self.probs is None else self.probs[index])


class Extractor:
    """A network that returns (features, logits or None) for images at its own size and channel count.

    ``input_range`` is the value range the network was trained on; ecogen's images are in [-1, 1] and
    are mapped linearly to it. ``precision`` bf16 runs the network in bfloat16 (faster where the
    hardware has it; its FID difference from fp32 is in benchmarks/results/metrics_speed.json).
    """

    def __init__(self, name: str, net: nn.Module, image_size: int, channels: int, key: str, info: dict,
                 feature_scale: float = 1.0, *, input_range: tuple[float, float] = (-1.0, 1.0),
                 resize: str = "bilinear", precision: str = "fp32", batch_size: int = 200,
                 no_probs_reason: str = "") -> None:
        RESIZERS.get(resize)
        if precision not in PRECISIONS:
            raise EcogenError(f"unknown precision {precision!r}; choose from: {', '.join(PRECISIONS)}")
        self.name, self.net, self.image_size, self.channels = name, net.eval(), image_size, channels
        self.feature_scale = feature_scale
        self.weights_key = key  # identifies the weights, for feature caches
        self.info = info
        self.input_range, self.resize, self.precision = input_range, resize, precision
        self.batch_size = batch_size
        self.no_probs_reason = no_probs_reason  # why there is no IS, when the network has no classifier

    @property
    def key(self) -> str:
        """Everything that decides the features: weights, resize filter, input range and precision."""
        if (self.resize, self.precision, self.input_range) == ("bilinear", "fp32", (-1.0, 1.0)):
            return self.weights_key
        return f"{self.weights_key}|{self.resize}|{self.precision}|{self.input_range[0]:g},{self.input_range[1]:g}"

    def describe(self) -> str:
        """The exact preprocessing, stated with every result."""
        lo, hi = self.input_range
        grey = "grey repeated to 3 channels" if self.channels == 3 else "RGB to grey by BT.601 luma"
        return (f"{self.resize} resize to {self.image_size}x{self.image_size}; {grey}; "
                f"values [-1, 1] -> [{lo:.8g}, {hi:.8g}]; {self.precision}")

    def variant(self, *, resize: str | None = None, precision: str | None = None) -> Extractor:
        """The same weights with another resize filter or precision (a new object; this one is kept)."""
        net = self.net
        precision = precision or self.precision
        if precision != self.precision:
            net = copy.deepcopy(self.net).to(torch.bfloat16 if precision == "bf16" else torch.float32)
        return Extractor(self.name, net, self.image_size, self.channels, self.weights_key, self.info,
                         self.feature_scale, input_range=self.input_range, resize=resize or self.resize,
                         precision=precision, batch_size=self.batch_size, no_probs_reason=self.no_probs_reason)

    def fit(self, images: torch.Tensor) -> torch.Tensor:
        """Bring images to the extractor's size, channels and value range (see ``describe``)."""
        if images.shape[1] != self.channels:
            if self.channels == 3:
                images = images.expand(-1, 3, -1, -1)
            else:
                weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
                images = (images * weights).sum(1, keepdim=True)
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            images = RESIZERS.get(self.resize)(images, self.image_size)
        lo, hi = self.input_range
        if (lo, hi) != (-1.0, 1.0):
            images = (images + 1) * ((hi - lo) / 2) + lo
        return images

    def check_input(self, images: torch.Tensor) -> None:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise EcogenError(f"extractor {self.name!r} takes N x 1 or N x 3 images (got {tuple(images.shape)})")
        if min(images.shape[-2:]) < 8:
            raise EcogenError(f"extractor {self.name!r}: images of {images.shape[-2]}x{images.shape[-1]} px are "
                              f"too small to compare (at least 8x8)")

    @torch.inference_mode()
    def extract(self, images: torch.Tensor, batch_size: int | None = None, device: torch.device | None = None,
                progress: Callable[[int], None] | None = None) -> Features:
        self.check_input(images)
        device = device or next(self.net.parameters()).device
        self.net.to(device)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        feats, probs = [], []
        if batch_size is None:  # small batches suit a CPU's caches; a GPU wants large ones
            batch_size = self.batch_size if device.type == "cpu" else max(self.batch_size, 128)
        for chunk in images.split(batch_size):
            f, logits = self.net(self.fit(chunk.to(device).float()).to(dtype))
            feats.append(f.float().cpu() * self.feature_scale)
            if logits is not None:
                probs.append(torch.softmax(logits.float(), dim=1).cpu())
            if progress:
                progress(len(chunk))
        return Features(torch.cat(feats).numpy(), torch.cat(probs).numpy() if probs else None)


EXTRACTORS: Registry[Callable[[str | None], Extractor]] = Registry("extractor")


AUTO = "auto"
BY_CHANNELS = {1: "mnist", 3: "emoji"}  # what ``auto`` means: the bundled, cheap extractor for the data's kind
BY_SOURCE = {"fashion-mnist": "fashion"}  # ... or for the data set itself, where one was trained on it


def check_extractor_name(spec: str) -> None:
    """Fail now on an unknown extractor name (``auto`` is resolved once the data's channels are known)."""
    if spec != AUTO:
        EXTRACTORS.get(spec.partition(":")[0])


def load_extractor(spec: str, precision: str = "fp32", channels: int = 1, source: str | None = None) -> Extractor:
    """``auto`` (fashion for Fashion-MNIST, else mnist for grey data, emoji for colour), ``mnist``,
    ``emoji``, ``fashion``, ``inception`` (packaged weights), ``inception:PATH`` or ``classifier:PATH``."""
    if spec == AUTO:
        spec = BY_SOURCE.get((source or "").partition(":")[0]) or BY_CHANNELS[channels]
    name, _, arg = spec.partition(":")
    ext = EXTRACTORS.get(name)(arg or None)
    return ext if precision == ext.precision else ext.variant(precision=precision)
