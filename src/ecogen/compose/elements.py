"""Element sources, registered by name: each turns a spec element into an image (H x W x C in [0, 1])."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ecogen.compose.latent_mix import latent_mix
from ecogen.compose.spec import Element
from ecogen.data.reader import load_image
from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator
from ecogen.compose.registries import ELEMENT_SOURCES
from ecogen.transforms.ops import slerp

ElementSource = Callable[[Element, TrainedGenerator | None], np.ndarray]


def _hwc(images: torch.Tensor) -> np.ndarray:
    return ((images[0].permute(1, 2, 0).float().numpy() + 1) / 2).clip(0, 1)


def _model(element: Element, generator: TrainedGenerator | None) -> TrainedGenerator:
    if generator is None:
        raise EcogenError(f"element source {element.source!r} needs a model (--model RUN or 'model:' in the spec)")
    return generator


def _labels(element: Element, generator: TrainedGenerator, n: int) -> torch.Tensor | None:
    if element.cls is not None:
        return torch.full((n,), generator.class_index(element.cls))
    return generator.labels(n)


@ELEMENT_SOURCES.register("class")
def from_class(element: Element, generator: TrainedGenerator | None) -> np.ndarray:
    gen = _model(element, generator)
    return _hwc(gen.sample(1, seed=element.seed, classes=[element.cls]))


@ELEMENT_SOURCES.register("seed")
def from_seed(element: Element, generator: TrainedGenerator | None) -> np.ndarray:
    gen = _model(element, generator)
    return _hwc(gen.decode(gen.latents(1, element.seed), labels=_labels(element, gen, 1)))


@ELEMENT_SOURCES.register("interpolate")
def from_interpolation(element: Element, generator: TrainedGenerator | None) -> np.ndarray:
    gen = _model(element, generator)
    a, b = (gen.latents(1, s) for s in element.seeds)
    return _hwc(gen.decode(slerp(a, b, element.t), labels=_labels(element, gen, 1)))


@ELEMENT_SOURCES.register("mix")
def from_mix(element: Element, generator: TrainedGenerator | None) -> np.ndarray:
    gen = _model(element, generator)
    latents = torch.cat([gen.latents(1, s) for s in element.seeds])
    return _hwc(latent_mix(gen, latents, element.weights, element.layer, _labels(element, gen, len(latents))))


@ELEMENT_SOURCES.register("image")
def from_image(element: Element, generator: TrainedGenerator | None) -> np.ndarray:
    return read_unit_image(Path(element.path))


def read_unit_image(path: Path) -> np.ndarray:
    array = np.asarray(load_image(path), dtype=np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array
