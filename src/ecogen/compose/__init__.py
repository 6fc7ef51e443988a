"""Composition: one image built from several generated or given elements, or from mixed latents."""

from ecogen.compose.compose import Composite, compose, save_composite, text_spec
from ecogen.compose.registries import ALPHAS, ELEMENT_SOURCES
from ecogen.compose.latent_mix import latent_mix
from ecogen.compose.spec import Canvas, Element, Spec, dump_spec, load_spec, parse_spec

__all__ = [
    "ALPHAS",
    "ELEMENT_SOURCES",
    "Canvas",
    "Composite",
    "Element",
    "Spec",
    "compose",
    "dump_spec",
    "latent_mix",
    "load_spec",
    "parse_spec",
    "save_composite",
    "text_spec",
]
