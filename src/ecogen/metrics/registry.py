"""The metric registry: each metric is a pure function of two Features sets -> named numbers."""

from __future__ import annotations

from collections.abc import Callable

from ecogen.base.catalog import DEFAULT_METRICS  # one definition; the CLI reads it without torch
from ecogen.metrics.extractors.base import Features
from ecogen.metrics.fid import fid
from ecogen.metrics.inception_score import inception_score
from ecogen.metrics.kid import kid
from ecogen.metrics.precision_recall import precision_recall
from ecogen.registry import Registry

Metric = Callable[[Features, Features], dict[str, float]]
METRICS: Registry[Metric] = Registry("metric")


@METRICS.register("fid")
def _fid(real: Features, fake: Features) -> dict[str, float]:
    return {"fid": fid(real.features, fake.features)}


@METRICS.register("kid")
def _kid(real: Features, fake: Features) -> dict[str, float]:
    mean, std = kid(real.features, fake.features)
    return {"kid": mean, "kid_std": std}


@METRICS.register("is")
def _is(real: Features, fake: Features) -> dict[str, float]:
    mean, std = inception_score(fake.probs)
    return {"is": mean, "is_std": std}


@METRICS.register("pr")
def _pr(real: Features, fake: Features) -> dict[str, float]:
    precision, recall = precision_recall(real.features, fake.features)
    return {"precision": precision, "recall": recall}


NEEDS_PROBS = frozenset({"is"})  # metrics that need a classifier head, not only features
