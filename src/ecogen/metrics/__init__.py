"""Quality metrics on offline feature extractors: FID, KID, IS, precision/recall."""

from ecogen.metrics.evaluate import EvalResult, Evaluator, evaluate_run, evaluate_sets
from ecogen.metrics.extractors import EXTRACTORS, Extractor, Features, load_extractor
from ecogen.metrics.registry import DEFAULT_METRICS, METRICS

__all__ = [
    "DEFAULT_METRICS",
    "EXTRACTORS",
    "METRICS",
    "EvalResult",
    "Evaluator",
    "Extractor",
    "Features",
    "evaluate_run",
    "evaluate_sets",
    "load_extractor",
]
