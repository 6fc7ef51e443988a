"""``ecogen eval`` and ``ecogen extractor train``: quality numbers, and the features they stand on."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from ecogen.base.catalog import DEFAULT_METRICS, names
from ecogen.cli.consoles import out as console
from ecogen.config import SEED_MAX
from ecogen.errors import EcogenError
from ecogen.base.lazy import LazyModule
from ecogen.report.tables import eval_table

api = LazyModule("ecogen.api")

extractor_app = typer.Typer(help="Feature extractors for the metrics.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command(name="eval")(evaluate)
    extractor_app.command("train")(extractor_train)
    app.add_typer(extractor_app, name="extractor")


def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run folder (or use --real and --fake)."),
    real: Optional[str] = typer.Option(None, help="Real images: folder:PATH, npz:PATH, mnist, ..."),
    fake: Optional[str] = typer.Option(None, help="Generated images: folder:PATH, npz:PATH, ..."),
    metrics: str = typer.Option(DEFAULT_METRICS, help=f"Comma list of: {', '.join(names('metric'))}."),
    n: Optional[int] = typer.Option(None, help="Generated images (default 1000 for a run; all for --fake)."),
    extractor: str = typer.Option("auto", help=f"Feature extractor: auto (mnist for grey, emoji for colour), "
                                               f"{', '.join(names('extractor'))}."),
    weights: Optional[Path] = typer.Option(
        None, help="Weights file for the extractor (classifier; inception without it uses the packaged FID weights)."),
    extractor_precision: str = typer.Option("fp32", help="fp32 | bf16: the extractor's arithmetic."),
    checkpoint: str = typer.Option("latest", help="latest | best | a step number (with a run folder)."),
    no_reference: bool = typer.Option(
        False, "--no-reference",
        help="Skip the real-vs-real floor and the noise reference: their images are not extracted."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    device: str = typer.Option("auto"),
    quiet: bool = typer.Option(False, help="No progress bars."),
    as_json: bool = typer.Option(False, "--json"),
    steps: Optional[int] = typer.Option(None, help="Diffusion and flow: sampling steps (default: the model's)."),
    against: str = typer.Option("holdout", help="holdout: score against the held-out split; all: the small-set "
                                                "protocol, against every image (floor: held-out vs train)."),
    copies: Optional[bool] = typer.Option(None, "--copies/--no-copies",
                                          help="Check each generated image for a near-copy of a training image "
                                               "(RUN/copies.json, the closest pairs in RUN/copies.png); default: "
                                               "on, but off with Inception and more than 2,000 training images."),
    fast: bool = typer.Option(False, help="Sample as `ecogen sample --fast` does: bf16 where faster."),
) -> None:
    """Quality of a run's samples (or of one image set against another): FID, KID, IS, precision, recall."""
    spec = f"{extractor}:{weights}" if weights is not None else extractor
    if run is not None:
        result = api.evaluate(run, metrics=metrics, n=n or 1000, extractor=spec, seed=seed, device=device,
                              progress=not quiet, precision=extractor_precision, checkpoint=checkpoint,
                              reference=not no_reference, steps=steps, against=against, copies=copies,
                              fast=fast)
    elif real and fake:
        result = api.evaluate_sets(real, fake, metrics=metrics, extractor=spec, n=n, seed=seed, device=device,
                                   progress=not quiet, precision=extractor_precision, reference=not no_reference)
    else:
        raise EcogenError("give a run folder, or both --real and --fake")
    if as_json:
        print(json.dumps(asdict(result)))
        return
    console.print(eval_table(result, str(run or fake)))




def extractor_train(
    data: str = typer.Option(..., help="Labelled images: folder:PATH with one subfolder per class, npz:PATH with y."),
    out: Path = typer.Option(..., help="Where to write the weights (.safetensors, with a .json beside it)."),
    image_size: int = typer.Option(32),
    channels: Optional[int] = typer.Option(None),
    epochs: int = typer.Option(15),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    overwrite: bool = typer.Option(False),
    quiet: bool = typer.Option(False),
) -> None:
    """Train a classifier on your labelled images to use as --extractor classifier:OUT."""
    report = api.train_extractor(data, out, image_size=image_size, channels=channels, epochs=epochs, seed=seed,
                                 overwrite=overwrite, progress=not quiet)
    console.print(f"held-out accuracy {report.accuracy:.2%} over {len(report.classes)} classes -> {report.path}")
    console.print(f"use it with: ecogen eval ... --extractor classifier --weights {report.path}")
