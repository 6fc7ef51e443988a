"""A human rating study (HYPE-infinity, Zhou et al. 2019), frozen when it is made.

A study folder holds ``study.json`` (which image came from where: run, checkpoint step and hash, seed
and index, or the held-out split), the images themselves under ``images/`` named by an opaque id, and
later ``answers.sqlite``. Freezing the images means every rater, and every later ``rate results``,
judges exactly the same pictures, whatever happens to the runs afterwards.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from ecogen.base.atomic import write_json, write_text
from ecogen.data import prepare_data
from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator
from ecogen.base.images import save_png, to_uint8
from ecogen.rundir import RunDir

STUDY_FILE = "study.json"
IMAGES = "images"
TUTORIAL_EACH = 2  # labelled examples of each kind shown before the first judged image


class StudyImage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str  # opaque: the only handle a browser ever gets
    truth: Literal["real", "fake"]
    source: str  # "real", or the run's label
    run: str | None = None  # the run folder, for generated images
    step: int | None = None  # the checkpoint's step
    checkpoint_sha256: str | None = None
    seed: int | None = None  # image `index` of `seed` in the run's sample sequence
    index: int | None = None
    holdout_index: int | None = None  # position in the held-out split, for real images
    tutorial: bool = False


class StudyRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    path: str
    checkpoint: str
    step: int
    checkpoint_sha256: str


class Study(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = 1
    real: str
    per_rater: int = Field(ge=2)
    seed: int
    image_size: int
    channels: int
    runs: list[StudyRun]
    images: list[StudyImage]

    def image(self, image_id: str) -> StudyImage | None:
        return next((i for i in self.images if i.id == image_id), None)

    @property
    def judged(self) -> list[StudyImage]:
        return [i for i in self.images if not i.tutorial]

    @property
    def tutorial(self) -> list[StudyImage]:
        return [i for i in self.images if i.tutorial]


def _image_id(study_seed: int, key: str) -> str:
    return hashlib.sha256(f"{study_seed}:{key}".encode()).hexdigest()[:16]


def _run_label(path: Path, taken: set[str]) -> str:
    label, k = path.name or str(path), 2
    while label in taken:
        label, k = f"{path.name}-{k}", k + 1
    return label


def create_study(folder: str | Path, runs: list[str | Path], *, real: str | None = None, per_rater: int = 100,
                 checkpoint: str = "latest", seed: int = 0, overwrite: bool = False) -> Study:
    """Freeze the images a study shows: ``per_rater // 2`` held-out real images and as many generated
    images from every run (fixed seeds), plus a few labelled tutorial examples of each kind."""
    folder = Path(folder)
    if not runs:
        raise EcogenError("a study needs at least one --run")
    if per_rater < 2 or per_rater % 2:
        raise EcogenError(f"--per-rater must be an even number >= 2 (got {per_rater}): half real, half generated")
    if (folder / STUDY_FILE).exists() and not overwrite:
        raise EcogenError(f"{folder} already holds a study; pass --overwrite to replace it (its answers are lost)")
    generators = [TrainedGenerator.from_run(Path(r), "cpu", checkpoint) for r in runs]
    first = generators[0].config.data
    for path, gen in zip(runs[1:], generators[1:]):
        if (gen.config.data.image_size, gen.config.data.channels) != (first.image_size, first.channels):
            raise EcogenError(f"{path} makes {gen.config.data.image_size}px images with {gen.config.data.channels} "
                              f"channel(s); {runs[0]} makes {first.image_size}px with {first.channels}: a study "
                              "compares runs of one image size and channel count")
    real = real or first.source
    if real == first.source:  # the first run's own held-out split: images it never trained on
        data = prepare_data(first, split=RunDir(Path(runs[0])).read_split())
    else:
        data = prepare_data(replace(first, source=real))
    held = data.holdout
    half = per_rater // 2
    if len(held) < half + TUTORIAL_EACH:
        raise EcogenError(f"{real}'s held-out split has {len(held)} images; --per-rater {per_rater} needs "
                          f"{half + TUTORIAL_EACH}")
    order = random.Random(seed).sample(range(len(held)), half + TUTORIAL_EACH)
    images_dir = folder / IMAGES
    images_dir.mkdir(parents=True, exist_ok=True)
    entries: list[StudyImage] = []

    def keep(pixels: np.ndarray, entry: StudyImage) -> None:
        save_png(pixels, images_dir / f"{entry.id}.png")
        entries.append(entry)

    real_pixels = to_uint8(torch.from_numpy(held.images[order]))
    for k, (pos, pixels) in enumerate(zip(order, real_pixels)):
        keep(pixels, StudyImage(id=_image_id(seed, f"real:{pos}"), truth="real", source="real",
                                holdout_index=int(pos), tutorial=k >= half))
    study_runs, labels = [], set()
    for path, gen in zip(runs, generators):
        label = _run_label(Path(path), labels)
        labels.add(label)
        study_runs.append(StudyRun(label=label, path=str(path), checkpoint=checkpoint, step=gen.step,
                                   checkpoint_sha256=gen.model_hash))
        run_seed = seed + 1000 * len(study_runs)
        pixels = to_uint8(gen.sample(half + TUTORIAL_EACH, seed=run_seed))
        for index, image in enumerate(pixels):
            tutorial = index >= half
            if tutorial and len(study_runs) > 1:
                continue  # the tutorial's generated examples come from the first run
            keep(image, StudyImage(id=_image_id(seed, f"{label}:{index}"), truth="fake", source=label,
                                   run=str(path), step=gen.step, checkpoint_sha256=gen.model_hash, seed=run_seed,
                                   index=index, tutorial=tutorial))
    study = Study(real=real, per_rater=per_rater, seed=seed, image_size=first.image_size,
                  channels=first.channels or 1, runs=study_runs, images=entries)
    write_text(folder / STUDY_FILE, study.model_dump_json(indent=2))
    for path in dict.fromkeys(Path(r) for r in runs):  # each run remembers the studies that judged it
        note_study(RunDir(path), folder)
    return study


def note_study(run: RunDir, study: Path) -> None:
    known: list[str] = []
    if run.studies.is_file():
        try:
            known = [str(p) for p in json.loads(run.studies.read_text())]
        except (ValueError, TypeError):
            known = []
    where = str(study.resolve())
    if where not in known:
        write_json(run.studies, [*known, where])


def load_study(folder: str | Path) -> Study:
    path = Path(folder) / STUDY_FILE
    if not path.is_file():
        raise EcogenError(f"{folder} is not a study (no {STUDY_FILE}); make one with `ecogen rate new`")
    try:
        return Study.model_validate_json(path.read_text())
    except ValueError as err:
        raise EcogenError(f"{path}: not a valid study file ({str(err).splitlines()[0]})") from None


def rater_sequence(study: Study, rater_key: str) -> list[str]:
    """The image ids one rater judges, in order: every real image, and as many generated ones drawn evenly
    from the runs; shuffled by a seed of the study and the rater, so a rater always gets the same order."""
    rng = random.Random(f"{study.seed}:{rater_key}")
    reals = [i.id for i in study.judged if i.truth == "real"]
    half, n_runs = len(reals), len(study.runs)
    fakes: list[str] = []
    for k, run in enumerate(study.runs):
        pool = [i.id for i in study.judged if i.source == run.label]
        take = half // n_runs + (1 if k < half % n_runs else 0)
        fakes += rng.sample(pool, take)
    sequence = reals + fakes
    rng.shuffle(sequence)
    return sequence
