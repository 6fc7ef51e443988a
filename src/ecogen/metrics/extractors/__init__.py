"""Registered feature extractors: mnist (bundled), inception (user's weights), classifier:PATH."""

from ecogen.metrics.extractors import classifier, inception  # noqa: F401  (registration)
from ecogen.metrics.extractors.base import EXTRACTORS, FIT_METHOD, Extractor, Features, load_extractor

__all__ = ["EXTRACTORS", "FIT_METHOD", "Extractor", "Features", "load_extractor"]
