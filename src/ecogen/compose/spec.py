"""The composition spec: a canvas and the elements placed on it, validated so a bad field is named.

    canvas: {width: 128, height: 64, background: 0}      # grey 0-255, or [r, g, b]
    model: runs/cgan                                      # for generated elements
    elements:
      - {source: class, class: "7", x: 32, y: 32, scale: 1.5, rotation: 10, blend: intensity}
      - {source: image, path: logo.png, x: 96, y: 32, blend: feather, feather: 6}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecogen.base import atomic
from ecogen.compose.registries import ALPHAS, ELEMENT_SOURCES
from ecogen.config import Seed, parse_yaml, read_text_file
from ecogen.errors import ConfigError
from ecogen.registry import Registry

_STRICT = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _registered(registry: Registry, name: str) -> str:
    """Checked against the registry, so a new source or blend is valid once registered."""
    if name not in registry:
        raise ValueError(f"unknown {registry.kind} {name!r}; choose from: {', '.join(registry.names())}")
    return name


class Canvas(BaseModel):
    model_config = _STRICT
    width: int = Field(128, gt=0, le=8192)
    height: int = Field(64, gt=0, le=8192)
    background: Annotated[int, Field(ge=0, le=255)] | Annotated[list[Annotated[int, Field(ge=0, le=255)]],
                                                                 Field(min_length=3, max_length=3)] = 0  # grey or [r, g, b]


class Element(BaseModel):
    model_config = _STRICT
    source: str  # a registered element source (compose/elements.py)
    cls: str | None = Field(None, alias="class")  # class, or with seed/interpolate/mix on a conditional model
    seed: Seed = 0
    path: str | None = None  # image
    seeds: list[Seed] | None = None  # interpolate: two; mix: two or more
    t: float = Field(0.5, ge=0.0, le=1.0)  # interpolate
    weights: list[float] | None = None  # mix: one per seed
    layer: int | None = Field(None, ge=1)  # mix: blend activations after this generator layer
    x: float  # centre, canvas pixels
    y: float
    scale: float = Field(1.0, gt=0.0, le=64.0)
    rotation: float = 0.0  # degrees, counter-clockwise
    blend: str = "intensity"  # a registered blend (compose/canvas.py)
    mask: str | None = None
    feather: int = Field(4, ge=0)
    opacity: float = Field(1.0, ge=0.0, le=1.0)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return _registered(ELEMENT_SOURCES, value)

    @field_validator("blend")
    @classmethod
    def _known_blend(cls, value: str) -> str:
        return _registered(ALPHAS, value)

    @model_validator(mode="after")
    def _needs(self) -> Element:
        need = {"class": "cls", "image": "path", "interpolate": "seeds", "mix": "seeds"}.get(self.source)
        if need and getattr(self, need) is None:
            field = "class" if need == "cls" else need
            raise ValueError(f"source {self.source!r} needs {field!r}")
        if self.source == "interpolate" and len(self.seeds or []) != 2:
            raise ValueError("source 'interpolate' needs exactly two seeds")
        if self.source == "mix" and (len(self.seeds or []) < 2 or len(self.weights or []) != len(self.seeds or [])):
            raise ValueError("source 'mix' needs two or more seeds and one weight per seed")
        if self.blend == "mask" and self.mask is None:
            raise ValueError("blend 'mask' needs 'mask' (a PNG)")
        return self


class Spec(BaseModel):
    model_config = _STRICT
    canvas: Canvas = Field(default_factory=Canvas)
    model: str | None = None
    elements: list[Element] = Field(min_length=1)

    @property
    def generated(self) -> bool:
        return any(e.source != "image" for e in self.elements)


def parse_spec(values: object, where: str = "spec") -> Spec:
    try:
        return Spec.model_validate(values)
    except ValidationError as err:
        parts = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"])
            msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        raise ConfigError(f"{where}: " + "; ".join(parts)) from None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    text = read_text_file(path, "spec file")
    if path.suffix != ".json":
        return parse_spec(parse_yaml(text, str(path)), str(path))
    try:
        values = json.loads(text)
    except ValueError:
        raise ConfigError(f"{path}: not valid JSON") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    return parse_spec(values, str(path))


def dump_spec(spec: Spec, path: str | Path) -> None:
    data = spec.model_dump(by_alias=True, exclude_none=True)
    text = json.dumps(data, indent=2) if str(path).endswith(".json") else yaml.safe_dump(data, sort_keys=False)
    atomic.write_text(path, text)
