"""The composition registries: element sources and blends. Declared apart from their entries so the
spec can check its fields against them (entries: elements.py and canvas.py)."""

from __future__ import annotations

from typing import Any

from ecogen.registry import Registry

ELEMENT_SOURCES: Registry[Any] = Registry("element source")
ALPHAS: Registry[Any] = Registry("blend")
