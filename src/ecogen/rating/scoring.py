"""HYPE-infinity scores: the human error rate per run, with a bootstrap over raters.

A run's error rate is the mean of its two error rates: generated images of that run judged real
(``false_real``) and real images judged generated (``false_fake``). With as many real as generated
answers, that is exactly HYPE's (fakes judged real + reals judged fake) / all answers; with several runs
in one study the real images are shared, and the mean keeps each run's score balanced. 50% is chance:
people cannot tell the run's images from real ones. The 95% interval resamples raters, not answers,
because answers of one rater are not independent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from statistics import median

import numpy as np

from ecogen.rating.store import Answer
from ecogen.rating.study import Study

BOOTSTRAP = 2000


@dataclass(frozen=True)
class RunScore:
    run: str
    error_rate: float | None
    ci_low: float | None
    ci_high: float | None
    false_real: float | None  # this run's generated images judged real
    false_fake: float | None  # real images judged generated (shared by every run of the study)
    raters: int
    answers: int  # answers on this run's images and on real images


@dataclass(frozen=True)
class RaterRow:
    rater: str
    answers: int
    error_rate: float
    false_real: float | None
    false_fake: float | None
    median_seconds: float


def _counts(answers: list[Answer]) -> Counter:
    """(source, wrong) -> count, and (source, 'n') -> count."""
    counts: Counter = Counter()
    for a in answers:
        counts[(a.source, "n")] += 1
        counts[(a.source, "wrong")] += a.answer != a.truth
    return counts


def _error(counts: Counter, run: str) -> tuple[float | None, float | None, float | None]:
    n_fake, n_real = counts[(run, "n")], counts[("real", "n")]
    false_real = counts[(run, "wrong")] / n_fake if n_fake else None
    false_fake = counts[("real", "wrong")] / n_real if n_real else None
    if false_real is None or false_fake is None:
        return None, false_real, false_fake
    return (false_real + false_fake) / 2, false_real, false_fake


def score_runs(study: Study, answers: list[Answer], seed: int = 0) -> list[RunScore]:
    by_rater: dict[str, Counter] = {}
    for a in answers:
        by_rater.setdefault(a.rater, Counter()).update(_counts([a]))
    raters = sorted(by_rater)
    rng = np.random.default_rng(seed)
    draws = [rng.integers(len(raters), size=len(raters)) for _ in range(BOOTSTRAP)] if raters else []
    total = sum(by_rater.values(), Counter())
    resamples = [sum((by_rater[raters[i]] for i in draw), Counter()) for draw in draws]
    scores = []
    for run in (r.label for r in study.runs):
        error, false_real, false_fake = _error(total, run)
        samples = [v for v in (_error(c, run)[0] for c in resamples) if v is not None]
        low, high = (float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))) if samples else (None, None)
        seen = sum(1 for c in by_rater.values() if c[(run, "n")])
        scores.append(RunScore(run, error, low, high, false_real, false_fake, seen,
                               total[(run, "n")] + total[("real", "n")]))
    return scores


def rater_rows(answers: list[Answer]) -> list[RaterRow]:
    rows = []
    for rater in sorted({a.rater for a in answers}):
        mine = [a for a in answers if a.rater == rater]
        fakes = [a for a in mine if a.truth == "fake"]
        reals = [a for a in mine if a.truth == "real"]
        rows.append(RaterRow(
            rater=rater, answers=len(mine), error_rate=sum(a.answer != a.truth for a in mine) / len(mine),
            false_real=sum(a.answer == "real" for a in fakes) / len(fakes) if fakes else None,
            false_fake=sum(a.answer == "fake" for a in reals) / len(reals) if reals else None,
            median_seconds=median(a.answered_at - a.shown_at for a in mine)))
    return rows
