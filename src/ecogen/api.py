"""The Python API: everything the CLI does is one call here (train, resume, load, sample_to, evaluate,
evaluate_sets, compose, transform, read_receipt)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ecogen.base import atomic
from ecogen.base.atomic import refuse_existing
from ecogen.compose import Spec, load_spec, save_composite, text_spec
from ecogen.compose import compose as compose_image
from ecogen.compose.compose import Composite
from ecogen.config import DataConfig, EnergyConfig, from_dict
from ecogen.energy.calibrate import calibrate as measure_peaks
from ecogen.metrics.extractors.classifier import ClassifierReport, train_classifier
from ecogen.data import prepare_data
from ecogen.base.device import resolve_device
from ecogen.errors import EcogenError
from ecogen.energy import metered
from ecogen.generation import TrainedGenerator
from ecogen.generation.export import Exported
from ecogen.generation.export import export as export_generator
from ecogen.metrics import DEFAULT_METRICS, EvalResult, evaluate_run
from ecogen.metrics import evaluate_sets as metrics_evaluate_sets
from ecogen.generation.receipt import build_receipt, read_receipt, receipt_text
from ecogen.energy import record as records
from ecogen.base.images import save_grid, save_png, to_uint8
from ecogen.report.pages import write_compare, write_run_report
from ecogen.rundir import RunDir
from ecogen.session.planning import Cancelled, Plan, Schedule
from ecogen.session.runs import RESUMABLE, plan, resume, train
from ecogen.transforms import TransformResult
from ecogen.transforms.jobs import JOBS

log = logging.getLogger(__name__)  # notices for the caller: the CLI shows them on stderr


COPY_CHECK_INCEPTION_MAX = 2000  # training images a default near-copy check puts through Inception


def evaluate(
    run: str | Path,
    *,
    metrics: str = DEFAULT_METRICS,
    n: int = 1000,
    extractor: str = "auto",
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    precision: str = "fp32",
    checkpoint: str | int = "latest",
    reference: bool = True,
    steps: int | None = None,
    against: str = "holdout",
    copies: bool | None = None,
    fast: bool = False,
) -> EvalResult:
    """Generated images vs the run's held-out split (with reference points); the work joins the bill.

    ``extractor="inception"`` gives the standard FID (packaged weights); ``precision="bf16"`` runs the
    extractor in bfloat16; ``checkpoint``: latest, best or a step; ``steps``: a diffusion or flow model's
    sampling steps; ``against="all"``: the small-set protocol (every image of the data set; the floor is
    held-out against train). ``copies``: the near-copy check against the training split, written to
    RUN/copies.json with its closest pairs in RUN/copies.png (the report page shows them); None: on,
    except with Inception features of more than COPY_CHECK_INCEPTION_MAX training images (minutes on a
    CPU), where a notice says how to ask for it. ``fast``: the generator samples as ``sample_to(fast=True)``
    does (bf16 where probed faster, in its family's fastest form), so a score matches that sampling."""
    rundir = RunDir(Path(run))
    generator = load(run, device=device, checkpoint=checkpoint)
    generator.use_steps(steps)
    if fast:
        generator.enable_fast()
    data = prepare_data(generator.config.data, split=rundir.read_split())
    if copies is None:
        copies = extractor.partition(":")[0] != "inception" or len(data.split.train) <= COPY_CHECK_INCEPTION_MAX
        if not copies:
            log.warning(f"notice: near-copy check skipped: Inception features of {len(data.split.train):,} training "
                        f"images take minutes on a CPU (--copies runs it, once: they are cached)")
    with metered(generator.config.energy, generator.device) as tracker:
        result = evaluate_run(generator, data, metrics=metrics, n=n, extractor=extractor, seed=seed,
                              progress=progress, tracker=tracker, precision=precision, reference=reference,
                              against=against, copies=copies, pairs_to=str(rundir.copies_grid) if copies else None)
        if generator.spec.extra_eval is not None:
            with tracker.phase("eval"):
                held = data.holdout
                labels = torch.from_numpy(held.labels) if generator.classes and held.labels is not None else None
                extra = generator.spec.extra_eval(generator.modules, torch.from_numpy(held.images),
                                                  generator.config.model, seed, labels)
                result = replace(result, extra=extra)
    if result.copies is not None:
        try:
            atomic.write_json(rundir.copies, {"checkpoint": str(checkpoint), "n": n, "extractor": result.extractor,
                                              "seed": seed, "protocol": against, **result.copies})
        except OSError as err:
            log.warning(f"notice: the near-copy check was not written to {rundir.copies} ({err.strerror or err})")
    if rundir.record.exists():
        try:
            records.add_phase(rundir.record, "eval", tracker.report())
        except OSError as err:  # a read-only or full disk: the metrics are still worth showing
            log.warning(f"notice: the evaluation's energy was not added to {rundir.record} ({err.strerror or err})")
    return result


def load(path: str | Path, device: str = "auto", checkpoint: str | int = "latest") -> TrainedGenerator:
    """A run's checkpoint as a generator: ``load("runs/mnist").sample(16, seed=0)``.

    ``checkpoint``: ``latest`` (default), ``best`` (the best quality check) or a step number."""
    return TrainedGenerator.from_run(path, device, checkpoint)


@dataclass(frozen=True)
class SampleResult:
    paths: list[Path]
    n: int
    wh: float
    gco2: float
    flops_per_image: int
    seconds: float
    estimated: bool
    sensors: list[str]
    step: int = 0  # the checkpoint's step
    steps: int | None = None  # sampling steps (diffusion, flow)
    evaluations: int = 1  # network evaluations per image

    @property
    def wh_per_image(self) -> float:
        return self.wh / self.n

    @property
    def gco2_per_image(self) -> float:
        return self.gco2 / self.n


def sample_to(
    generator: TrainedGenerator | str | Path,
    n: int,
    out: str | Path,
    *,
    checkpoint: str | int = "latest",
    device: str = "auto",
    country: str | None = None,
    carbon_intensity: float | None = None,
    seed: int = 0,
    batch_size: int = 256,
    overwrite: bool = False,
    energy: EnergyConfig | None = None,
    classes: list[str | int] | None = None,
    grid_by_class: bool = False,
    fast: bool = False,
    index: int | None = None,
    steps: int | None = None,
) -> SampleResult:
    """Write ``n`` samples, metered: a grid when ``out`` ends in .png/.jpg, else one PNG per image in ``out``.

    ``classes`` asks a conditional model for those classes; ``grid_by_class`` makes a grid with one row
    per class and ``n`` images in each, each row labelled with its class. Each PNG carries a receipt (energy, carbon, FLOPs per image,
    model hash, sensor); see read_receipt. ``steps``: sampling steps of a diffusion or flow model (its
    default otherwise); the receipt records them with the network evaluations per image.
    """
    if not isinstance(generator, TrainedGenerator):  # a run folder
        generator = load(generator, device=device, checkpoint=checkpoint)
    generator.use_steps(steps)
    out = Path(out)
    grid = out.suffix.lower() in (".png", ".jpg", ".jpeg")
    if not grid and out.suffix and not out.is_dir():  # grid.pgn: a typo, not a folder name
        raise EcogenError(f"--out {out}: a grid is a .png or .jpg; a folder of PNGs has no suffix")
    if grid:
        refuse_existing(out, overwrite)
    if not grid and out.is_dir() and any(out.glob("*.png")) and not overwrite:
        raise EcogenError(f"{out} already holds PNG files; pass --overwrite to replace them")
    if not grid and out.exists() and not out.is_dir():
        raise EcogenError(f"output path {out} exists and is not a folder")
    energy = energy or generator.config.energy
    if country is not None or carbon_intensity is not None:  # price this sampling at another grid
        energy = replace(energy, country=country, carbon_intensity=carbon_intensity)
    flops = generator.flops_per_image()
    if fast:
        generator.enable_fast()
        batch_size = max(batch_size, generator.spec.fast_batch)
    nrow, labels = None, None
    if grid_by_class:
        if not grid or not generator.classes:
            raise EcogenError("--grid-by-class needs a conditional model and a .png grid as --out")
        k, per_class = len(generator.classes), n
        classes, n, nrow = [c for c in range(k) for _ in range(per_class)], k * per_class, per_class
        labels = list(generator.classes)
    with metered(energy, generator.device) as tracker:
        with tracker.phase("sample"):
            images = generator.sample(n, seed=seed, batch_size=batch_size, classes=classes, start=index or 0)
        tracker.add_flops("sample", flops * n)
    report = tracker.report()
    share = 1 if grid else n
    receipt = build_receipt(
        report, share,
        model_sha256=generator.model_hash,
        step=generator.step,
        seed=seed,
        classes=sorted({generator.classes[c] if isinstance(c, int) else str(c) for c in classes}) if classes else None,
        images=n if grid else 1,  # how many images this file holds and the numbers cover
        flops=flops * n // share,
        precision=generator.precision,
        **({"steps": generator.steps, "evaluations": generator.evaluations} if generator.steps else {}),
    )
    if grid:
        paths = [save_grid(images, out, nrow=nrow, text=receipt_text({**receipt, "index": index or 0}),
                           row_labels=labels)]
    else:  # each file says which image of the seed's sequence it is: `sample --seed S --index I` redraws it
        first = index or 0
        paths = [save_png(image, out / f"{first + i:06d}.png", receipt_text({**receipt, "index": first + i}))
                 for i, image in enumerate(to_uint8(images))]
    return SampleResult(paths, n, report.wh(), report.gco2(), flops, report.total.seconds, report.estimated,
                        [s["name"] for s in report.sensors], generator.step, generator.steps, generator.evaluations)


@dataclass(frozen=True)
class ComposeResult:
    path: Path
    composite: Composite
    elements: int


def compose(out: str | Path, *, spec: str | Path | Spec | None = None, text: str | None = None,
            model: str | Path | None = None, seed: int = 0, device: str = "auto",
            overwrite: bool = False) -> ComposeResult:
    """One image from a spec (a file or a Spec) or from ``text`` (a row of generated classes), metered;
    the PNG carries a receipt with each element's energy. ``model`` overrides the spec's model."""
    out = Path(out)
    if (spec is None) == (text is None):
        raise EcogenError("give a spec or a text")
    refuse_existing(out, overwrite)
    parsed = spec if isinstance(spec, Spec) or spec is None else load_spec(spec)
    run = model or (parsed.model if parsed is not None and parsed.model else None)
    generator = load(run, device=device) if run else None
    if text is not None:
        if generator is None:
            raise EcogenError("--text needs --model RUN (a conditional model)")
        parsed = text_spec(text, generator, seed)
    result = compose_image(parsed, generator)
    receipt = build_receipt(result.report, 1, composite=len(parsed.elements), element_wh=result.element_wh,
                            model_sha256=generator.model_hash if generator else None)
    path = save_composite(result, out, receipt_text(receipt))
    return ComposeResult(path, result, len(parsed.elements))


def transform(kind: str, out: str | Path, *, run: str | Path | None = None, inputs: str | Path | None = None,
              device: str = "auto", checkpoint: str | int = "latest", **options: Any) -> TransformResult:
    """``reconstruct``, ``denoise``, ``inpaint`` (``mask=`` or ``box=``), ``interpolate`` (``start``/``end``
    or ``seeds``) with a run's model; ``corrupt`` (``noise=``) needs none. Every output carries a receipt."""
    job = JOBS.get(kind)
    if job.needs_model and run is None:
        raise EcogenError(f"{kind} needs a trained run")
    if job.needs_inputs and inputs is None:
        raise EcogenError(f"{kind} needs inputs (an image or a folder)")
    generator = load(run, device=device, checkpoint=checkpoint) if job.needs_model else None
    return job.run(generator, inputs, out, **options)


def evaluate_sets(real: str, fake: str, *, metrics: str = DEFAULT_METRICS, extractor: str = "auto",
                  n: int | None = None, seed: int = 0, device: str = "auto", progress: bool = True,
                  precision: str = "fp32", reference: bool = True) -> EvalResult:
    """Two image sources (``folder:PATH``, ``npz:PATH``, ``mnist``...) compared directly, metered."""
    return metrics_evaluate_sets(real, fake, metrics=metrics, extractor=extractor, n=n, seed=seed,
                                 device=resolve_device(device), progress=progress, precision=precision,
                                 reference=reference)


def bill(run: str | Path) -> records.RunRecord:
    """A run's energy bill (run.json), validated."""
    rundir = RunDir(Path(run))
    rundir.require_run()
    return records.read(rundir.record)


def export(run: str | Path | TrainedGenerator, out: str | Path, *, format: str | None = None,
           checkpoint: str | int = "latest", overwrite: bool = False) -> Exported:
    """The run's generator as ONNX, TorchScript or safetensors (``format``, default from ``out``'s suffix),
    for use outside ecogen: latents (and labels) in, images in [-1, 1] out."""
    generator = run if isinstance(run, TrainedGenerator) else load(run, device="cpu", checkpoint=checkpoint)
    return export_generator(generator, out, format, overwrite)


def calibrate(device: str = "auto", seconds: float = 1.5, force: bool = False) -> dict[str, Any]:
    """This machine's peak FLOP/s (fp32 and bf16; the best of matrix products and convolutions): cached, or
    measured with ``force``."""
    return measure_peaks(resolve_device(device), seconds, force)


def train_extractor(data: str, out: str | Path, *, image_size: int = 32, channels: int | None = None,
                    epochs: int = 15, seed: int = 0, overwrite: bool = False, progress: bool = True) -> ClassifierReport:
    """A classifier on the user's labelled images, for ``--extractor classifier:OUT``."""
    out = Path(out)
    if out.suffix != ".safetensors":
        raise EcogenError(f"--out must end in .safetensors (got {out})")
    refuse_existing(out, overwrite)
    if epochs <= 0:
        raise EcogenError(f"--epochs must be > 0 (got {epochs})")
    cfg = from_dict(DataConfig, {"source": data, "image_size": image_size, "channels": channels}, root="data")
    return train_classifier(cfg, out, epochs=epochs, seed=seed, progress=progress)


def report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write a run's self-contained HTML report (default ``RUN/report.html``); returns its path."""
    return write_run_report(run, out)


def compare(runs: Sequence[str | Path], out: str | Path) -> Path:
    """Write one HTML page comparing ``runs`` (a table and FID-vs-Wh curves); returns its path."""
    return write_compare(list(runs), out)


__all__ = ["RESUMABLE", "Cancelled", "Plan", "Schedule", "plan", "ComposeResult", "SampleResult", "bill", "calibrate", "compose", "evaluate", "evaluate_sets",
           "compare", "load", "read_receipt", "report", "resume", "sample_to", "train", "train_extractor", "transform"]
