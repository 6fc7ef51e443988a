"""Compose one image from a spec, metering each element's generation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecogen.compose.canvas import background, place
from ecogen.compose.elements import ELEMENT_SOURCES
from ecogen.compose.spec import Element, Spec
from ecogen.energy import EnergyReport, metered
from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator


@dataclass(frozen=True)
class Composite:
    image: np.ndarray  # H x W x C in [0, 1]
    element_wh: list[float]  # energy of each element, in spec order
    total_wh: float  # elements + compositing
    gco2: float
    estimated: bool
    report: EnergyReport  # the whole bill, for the receipt


def compose(spec: Spec, generator: TrainedGenerator | None = None) -> Composite:
    if spec.generated and generator is None:
        raise EcogenError("this spec has generated elements: give a model (--model RUN or 'model:' in the spec)")
    images = {}
    channels = 3 if isinstance(spec.canvas.background, list) else (generator.config.data.channels if generator else 1)
    with metered(generator.config.energy if generator else None, generator.device if generator else "cpu") as tracker:
        for i, element in enumerate(spec.elements):
            with tracker.phase(f"element_{i}"):
                images[i] = ELEMENT_SOURCES.get(element.source)(element, generator)
        channels = max([channels or 1] + [img.shape[2] for img in images.values()])
        with tracker.phase("composite"):
            canvas = background(spec.canvas, channels)
            for i, element in enumerate(spec.elements):
                place(canvas, images[i], element)
    report = tracker.report()
    element_wh = [report.wh(f"element_{i}") for i in range(len(spec.elements))]
    return Composite(canvas, element_wh, report.wh(), report.gco2(), report.estimated, report)


def text_spec(text: str, generator: TrainedGenerator, seed: int = 0) -> Spec:
    """``--text 2026``: a row of generated digits (or any class names that are one character)."""
    if not text:
        raise EcogenError("--text is empty")
    for ch in text:
        generator.class_index(ch)  # unknown -> error listing the valid classes
    size = generator.config.data.image_size
    elements = [Element(source="class", cls=ch, seed=seed + i, x=size * (i + 0.5), y=size / 2) for i, ch in enumerate(text)]
    return Spec(canvas={"width": size * len(text), "height": size, "background": 0}, elements=elements)


def save_composite(composite: Composite, out: str | Path, text: dict[str, str] | None = None) -> Path:
    from ecogen.base.images import save_png

    pixels = (composite.image * 255).round().astype(np.uint8)
    return save_png(pixels, Path(out), text)
