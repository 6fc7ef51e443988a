"""Evaluation: features of real and generated images -> metrics, with reference points and energy.

Every evaluation also reports two reference points, so a number can be read:
* ``real_vs_real``: the same metrics between two real sets (a run's training split vs its held-out
  split): the floor a perfect generator would reach at this sample size;
* ``noise``: a trivially bad generator (uniform noise images) against the same real set.

Two protocols (``against``): ``holdout`` scores against the held-out split (the floor: as many training
images); ``all`` is the small-set protocol of few-shot papers, against every image of the data set (the
floor: held-out against train). With ``copies`` the generated images are also checked for near-copies of
the training split (metrics/copies.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ecogen.data import ImageSet, load_source
from ecogen.data.dataset import PreparedData
from ecogen.energy import EnergyTracker, metered
from ecogen.errors import EcogenError
from ecogen.base.images import save_grid
from ecogen.metrics.cache import cached, source_fingerprint
from ecogen.metrics.copies import CopyCheck, check_copies
from ecogen.metrics.extractors import FIT_METHOD, Extractor, Features, load_extractor
from ecogen.metrics.registry import DEFAULT_METRICS, METRICS, NEEDS_PROBS
from ecogen.base.progress import make_progress


@dataclass(frozen=True)
class EvalResult:
    metrics: dict[str, float]  # generated vs real
    real_vs_real: dict[str, float]
    noise: dict[str, float]
    n_real: int
    n_fake: int
    extractor: str
    fit_method: str = FIT_METHOD
    unavailable: dict[str, str] = field(default_factory=dict)  # metric -> why it could not be computed
    real_cached: bool = False
    energy: dict[str, float | bool | list[str]] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)  # model-specific numbers (a VAE's held-out ELBO)
    protocol: str = "holdout"  # what the generated images were scored against: holdout | all (see above)
    copies: dict[str, Any] | None = None  # the near-copy check (CopyCheck.as_dict), when asked for


PROTOCOLS = ("holdout", "all")


@dataclass(frozen=True)
class CopyBank:
    """What the near-copy check compares with: the training split's features (and its images, for the
    pairs shown), and the held-out split's features as the reference."""
    train: Features
    heldout: Features
    train_images: np.ndarray


def parse_metrics(names: str | Sequence[str]) -> list[str]:
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    for name in items:
        METRICS.get(name)  # unknown -> error listing the choices
    if not items:
        raise EcogenError("no metrics asked for")
    return items


def compute(metrics: Sequence[str], real: Features, fake: Features) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in metrics:
        out.update(METRICS.get(name)(real, fake))
    return out


def noise_images(n: int, like: torch.Tensor, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed + 7919)
    return torch.rand((n, *like.shape[1:]), generator=gen) * 2 - 1


def _index_hash(index: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(index, dtype=np.int64).tobytes()).hexdigest()[:16]


class Evaluator:
    """Real-set features extracted (or read from cache) once; then any number of generated sets.

    Used by ``ecogen eval`` and by training's ``--eval-every`` (and quality targets).
    """

    def __init__(self, extractor: Extractor, real: Features, floor_pair: Callable[[], tuple[Features, Features]],
                 metrics: Sequence[str], device: torch.device, seed: int = 0, real_cached: bool = False,
                 cache_parts: dict[str, Any] | None = None, protocol: str = "holdout",
                 copy_bank: CopyBank | None = None) -> None:
        # the real-vs-real pair, extracted when the floor is first asked for: a score without reference
        # points (the protocol benchmark's 10,000 Inception images) never pays for its second real set
        self.extractor, self.real, self.floor_pair = extractor, real, floor_pair
        self.protocol, self.copy_bank = protocol, copy_bank
        self.cache_parts = cache_parts  # what identifies the real set, for caching reference features
        self.unavailable = {m: extractor.no_probs_reason for m in metrics
                            if m in NEEDS_PROBS and extractor.no_probs_reason}
        self.metrics = [m for m in metrics if m not in self.unavailable]
        if not self.metrics:
            raise EcogenError("; ".join(self.unavailable.values()))
        self.device, self.seed, self.real_cached = device, seed, real_cached
        self._floor: dict[str, float] | None = None

    @classmethod
    def for_data(cls, data: PreparedData, extractor: str, metrics: Sequence[str], device: torch.device,
                 seed: int = 0, progress: bool = False, precision: str = "fp32", against: str = "holdout",
                 copies: bool = False) -> Evaluator:
        """``against="holdout"``: real = the held-out split, reference = as many training images drawn with
        ``seed``; ``"all"``: real = every image, reference = held-out against train. ``copies``: keep the
        training split's features for the near-copy check."""
        if against not in PROTOCOLS:
            raise EcogenError(f"unknown protocol {against!r}; choose from: {', '.join(PROTOCOLS)}")
        if len(data.split.holdout) < 2:
            raise EcogenError("evaluation needs a held-out split of at least 2 images (data.holdout > 0)")
        ext = load_extractor(extractor, precision, data.config.channels or 1, data.config.source)
        check_fit(ext, data.config.channels or 1, data.config.source)
        holdout = data.split.holdout
        rng = np.random.default_rng(seed)
        ref_index = np.sort(rng.choice(data.split.train, min(len(holdout), len(data.split.train)), replace=False))
        base = {"extractor": ext.name, "weights": ext.key, "source": source_fingerprint(data.config.source),
                "image_size": data.config.image_size, "channels": data.config.channels, "fit": data.config.fit,
                "background": data.config.background}  # every input that changes the pixels

        def features_of(index: np.ndarray, role: str) -> tuple[Features, bool]:
            images = torch.from_numpy(data.images.images[index])
            return cached({**base, "role": role, "index": _index_hash(index)},
                          lambda: extract(ext, images, device, progress, f"features ({role})"))

        held, hit = features_of(holdout, "holdout")
        train = np.sort(data.split.train)
        whole = features_of(train, "train")[0] if against == "all" or copies else None
        if against == "all":
            real, floor = _joined(held, whole), lambda: (held, whole)
        else:
            real, floor = held, lambda: (held, features_of(ref_index, "train-sample")[0])
        bank = CopyBank(whole, held, data.images.images[train]) if copies else None
        return cls(ext, real, floor, metrics, device, seed, hit, base, against, bank)

    def features(self, images: torch.Tensor, progress: bool = False, label: str = "features") -> Features:
        return extract(self.extractor, images, self.device, progress, label)

    def floor(self) -> dict[str, float]:
        if self._floor is None:
            self._floor = compute(self.metrics, *self.floor_pair())
        return self._floor

    def score(self, images: torch.Tensor, progress: bool = False) -> dict[str, float]:
        return compute(self.metrics, self.real, self.features(images, progress, "features (generated)"))

    def noise_features(self, like: torch.Tensor, progress: bool = False) -> Features:
        """The noise reference's features: as many uniform-noise images as generated ones, cached like the
        real features (they depend only on the extractor, the count, the shape and the seed)."""
        noise = noise_images(len(like), like, self.seed)
        work = lambda: self.features(noise, progress, "features (noise reference)")  # noqa: E731
        if self.cache_parts is None:
            return work()
        key = {**self.cache_parts, "role": "noise", "n": len(like), "shape": list(like.shape[1:]), "seed": self.seed}
        return cached(key, work)[0]

    def full(self, images: torch.Tensor, progress: bool = False, reference: bool = True,
             pairs_to: str | None = None) -> EvalResult:
        """Generated vs real, and with ``reference`` the real-vs-real floor and the noise reference; with a
        copy bank, the near-copy check (its closest pairs drawn to ``pairs_to`` when given)."""
        fake = self.features(images, progress, "features (generated)")
        copies = None
        if self.copy_bank is not None:
            check = check_copies(fake.features, self.copy_bank.train.features, self.copy_bank.heldout.features)
            copies = check.as_dict()
            if pairs_to is not None:
                try:
                    save_pairs(check, images, self.copy_bank.train_images, pairs_to)
                    copies["pairs_png"] = str(pairs_to)
                except OSError as err:  # a read-only run folder: the numbers still stand
                    copies["pairs_png"] = None
                    copies["pairs_error"] = str(err.strerror or err)
        return EvalResult(
            metrics=compute(self.metrics, self.real, fake),
            real_vs_real=self.floor() if reference else {},
            noise=compute(self.metrics, self.real, self.noise_features(images, progress)) if reference else {},
            n_real=len(self.real),
            n_fake=len(images),
            extractor=self.extractor.name,
            fit_method=self.extractor.describe(),
            unavailable=self.unavailable,
            real_cached=self.real_cached,
            protocol=self.protocol,
            copies=copies,
        )


def _joined(a: Features, b: Features) -> Features:
    probs = None if a.probs is None or b.probs is None else np.concatenate([a.probs, b.probs])
    return Features(np.concatenate([a.features, b.features]), probs)


def save_pairs(check: CopyCheck, images: torch.Tensor, train_images: np.ndarray, path: str) -> None:
    """The closest pairs side by side: generated images on top, their nearest training images below."""
    fakes = images[[p.fake for p in check.closest]].float().cpu()
    nearest = torch.from_numpy(train_images[[p.train for p in check.closest]]).float()
    save_grid(torch.cat([fakes, nearest]), path, nrow=len(check.closest),
              text={"ecogen": f"near-copy check: ratio {check.ratio:.3f}, share {check.share:.4f}"},
              row_labels=["generated", "nearest training image"])


def check_fit(ext: Extractor, channels: int, source: str) -> None:
    """Digit features mean nothing on colour images (a folder of photos scored FID 588 on them)."""
    if ext.name in ("mnist", "fashion") and channels == 3:
        raise EcogenError(f"the {ext.name} extractor knows grey images; {source} is colour: use --extractor inception "
                          f"(or a classifier trained on your images: ecogen extractor train)")


def extract(ext: Extractor, images: torch.Tensor, device: torch.device, progress: bool, label: str) -> Features:
    if not bool(torch.isfinite(images).all()):
        raise EcogenError(f"{label}: the images hold NaN or infinite values (a diverged model?); nothing to score")
    with make_progress(progress) as bar:
        task = bar.add_task(label, total=len(images), info=ext.name)
        return ext.extract(images, device=device, progress=lambda n: bar.advance(task, n))


def evaluate_run(generator, data: PreparedData, *, metrics: str | Sequence[str] = DEFAULT_METRICS, n: int = 1000,
                 extractor: str = "auto", seed: int = 0, progress: bool = True,
                 tracker: EnergyTracker | None = None, precision: str = "fp32", reference: bool = True,
                 against: str = "holdout", copies: bool = False, pairs_to: str | None = None) -> EvalResult:
    """Generated images from ``generator`` vs the run's data (``against``: the held-out split, or all of
    it), with reference points, and with ``copies`` the near-copy check (pairs drawn to ``pairs_to``)."""
    names = parse_metrics(metrics)
    if n < 2:
        raise EcogenError(f"n: evaluation needs at least 2 generated images (got {n})")
    if tracker is None:  # meter it ourselves, on the device that does the work
        with metered(None, generator.device) as own:
            return evaluate_run(generator, data, metrics=names, n=n, extractor=extractor, seed=seed,
                                progress=progress, tracker=own, precision=precision, reference=reference,
                                against=against, copies=copies, pairs_to=pairs_to)
    with tracker.phase("eval"):
        evaluator = Evaluator.for_data(data, extractor, names, generator.device, seed, progress, precision,
                                       against, copies)
        result = evaluator.full(generator.sample(n, seed=seed), progress, reference, pairs_to)
    return _with_energy(result, tracker)


def evaluate_sets(real: str, fake: str, *, metrics: str | Sequence[str] = DEFAULT_METRICS, extractor: str = "auto",
                  n: int | None = None, seed: int = 0, device: torch.device | None = None,
                  progress: bool = True, precision: str = "fp32", reference: bool = True) -> EvalResult:
    """Two image sources (``folder:PATH``, ``npz:PATH``, ``mnist``...) compared directly.

    The floor compares two random halves of the real set.
    """
    names = parse_metrics(metrics)
    device = device or torch.device("cpu")
    with metered(None, device) as tracker, tracker.phase("eval"):
        real_set, fake_set = load_source(real, 0), load_source(fake, 0)  # native sizes; the extractor fits them
        ext = load_extractor(extractor, precision, max(real_set.channels, fake_set.channels))
        check_fit(ext, max(real_set.channels, fake_set.channels), real)
        if n is not None and n > len(real_set):
            raise EcogenError(f"n: {n} images asked for, but the real set {real} has {len(real_set)}")
        real_images, fake_images = _limit(real_set, n, seed), _limit(fake_set, n, seed)
        parts = {"extractor": ext.name, "weights": ext.key, "source": source_fingerprint(real), "n": len(real_images),
                 "seed": seed}
        real_feats, hit = cached(parts, lambda: extract(ext, real_images, device, progress, "features (real)"))
        order = np.random.default_rng(seed).permutation(len(real_feats))
        halves = (real_feats.subset(order[: len(order) // 2]), real_feats.subset(order[len(order) // 2 :]))
        result = Evaluator(ext, real_feats, lambda: halves, names, device, seed, hit, parts).full(fake_images, progress,
                                                                                        reference)
    return _with_energy(result, tracker)


def _limit(data: ImageSet, n: int | None, seed: int) -> torch.Tensor:
    images = torch.from_numpy(data.images)
    if n is not None and n < len(images):
        images = images[np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))]
    return images


def _with_energy(result: EvalResult, tracker: EnergyTracker) -> EvalResult:
    report = tracker.report()
    energy = {"wh": report.wh("eval"), "gco2": report.gco2("eval"), "seconds": report.phases["eval"].seconds,
              "estimated": report.estimated, "sensors": [s["name"] for s in report.sensors]}
    return replace(result, energy=energy)
