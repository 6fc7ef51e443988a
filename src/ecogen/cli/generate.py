"""``ecogen sample``, ``compose`` and ``export``: a trained generator's images, composites and files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from ecogen.cli.consoles import out as console
from ecogen.config import SEED_MAX
from ecogen.errors import EcogenError
from ecogen.base.lazy import LazyModule
from ecogen.report.tables import si

api = LazyModule("ecogen.api")  # torch loads on first use: --help stays quick


def register(app: typer.Typer) -> None:
    app.command()(sample)
    app.command()(compose)
    app.command()(export)


def sample(
    run: Path = typer.Argument(..., help="Run folder."),
    n: int = typer.Option(64, help="How many images."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    out: Path = typer.Option(Path("samples.png"), help="A .png for a grid, or a folder for one PNG per image."),
    batch_size: int = typer.Option(256),
    device: str = typer.Option("auto"),
    overwrite: bool = typer.Option(False, help="Replace existing output files."),
    country: Optional[str] = typer.Option(None, help="Price the energy at this country's grid intensity."),
    carbon_intensity: Optional[float] = typer.Option(None, help="gCO2eq per kWh; overrides --country."),
    classes: Optional[list[str]] = typer.Option(None, "--class", help="Class to generate (repeatable)."),
    grid_by_class: bool = typer.Option(False, help="A row per class, --n images each (default 8)."),
    fast: bool = typer.Option(False, help="Cheapest path: inference mode, big batches, bf16 where faster."),
    checkpoint: str = typer.Option("latest", help="latest | best (the best quality check) | a step number."),
    index: Optional[int] = typer.Option(None, help="Start at this image of the seed's sequence (a receipt's index)."),
    steps: Optional[int] = typer.Option(None, help="Diffusion and flow: sampling steps, the quality/energy dial "
                                        "(default: the model's --sample-steps)."),
) -> None:
    """Generate images from a trained run; each PNG carries a receipt of what it cost."""
    if grid_by_class and n == 64:
        n = 8  # per class
    result = api.sample_to(run, n, out, checkpoint=checkpoint, device=device, country=country,
                           carbon_intensity=carbon_intensity, seed=seed, batch_size=batch_size, overwrite=overwrite,
                           classes=classes or None, grid_by_class=grid_by_class, fast=fast, index=index, steps=steps)
    where = result.paths[0] if len(result.paths) == 1 else f"{out}/ ({len(result.paths)} PNG files)"
    kind = "estimated" if result.estimated else "measured"
    console.print(f"{result.n} images from step {result.step} -> {where}")
    console.print(
        f"per image: {si(result.wh_per_image, 'Wh')}, {si(result.gco2_per_image, 'g')}CO2eq, "
        f"{si(result.flops_per_image)}FLOPs"
        f"{f', {result.steps} steps ({result.evaluations} network evaluations)' if result.steps else ''} "
        f"({kind}: {', '.join(result.sensors)}); "
        f"total {si(result.wh, 'Wh')} in {result.seconds:.2f} s"
    )



def compose(
    out: Path = typer.Option(..., help="The composite .png."),
    spec: Optional[Path] = typer.Option(None, help="YAML or JSON spec: canvas and elements."),
    text: Optional[str] = typer.Option(None, help="Shortcut: a row of generated classes, e.g. 2026."),
    model: Optional[Path] = typer.Option(None, help="Run folder for generated elements (overrides the spec's)."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX, help="First seed for --text."),
    device: str = typer.Option("auto"),
    overwrite: bool = typer.Option(False),
) -> None:
    """Build one image from several generated or given elements."""
    if (spec is None) == (text is None):
        raise EcogenError("give --spec FILE or --text STRING")
    result = api.compose(out, spec=spec, text=text, model=model, seed=seed, device=device, overwrite=overwrite)
    image, kind = result.composite, "estimated" if result.composite.estimated else "measured"
    console.print(f"{result.elements} elements -> {result.path} ({image.image.shape[1]}x{image.image.shape[0]})")
    console.print(f"energy {si(image.total_wh, 'Wh')} ({kind}): elements "
                  + ", ".join(si(wh, "Wh") for wh in image.element_wh))



def export(
    run: Path = typer.Argument(..., help="Run folder."),
    out: Path = typer.Option(..., help="The file to write: .onnx, .pt (TorchScript) or .safetensors."),
    format: Optional[str] = typer.Option(None, "--format", help="onnx | torchscript | safetensors (default: from --out)."),
    checkpoint: str = typer.Option("latest", help="latest | best | a step number."),
    overwrite: bool = typer.Option(False),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the generator for use outside ecogen: latents (and class labels) in, images in [-1, 1] out."""
    result = api.export(run, out, format=format, checkpoint=checkpoint, overwrite=overwrite)
    if as_json:
        print(json.dumps({**asdict(result), "path": str(result.path)}))
        return
    inputs = ", ".join(f"{name} {shape}" for name, shape in result.inputs.items())
    console.print(f"{result.format} -> {result.path}: inputs {inputs}; output images {result.output} in [-1, 1]")
