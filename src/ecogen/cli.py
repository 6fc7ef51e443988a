"""Typer CLI: options -> config -> one API call -> a Rich table (or --json). Nothing else lives here."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ecogen import api
from ecogen.cli_transform import transform_app
from ecogen.compose import compose as compose_image
from ecogen.compose import load_spec, save_composite, text_spec
from ecogen.config import DataConfig, TrainConfig, dump_yaml, from_dict, load_yaml, merge
from ecogen.errors import EcogenError
from ecogen.metrics import EXTRACTORS, METRICS, evaluate_sets
from ecogen.metrics.extractors.classifier import train_classifier
from ecogen.models import MODELS, PRESETS
from ecogen.recipes import RECIPES, default_recipe
from ecogen.device import resolve_device
from ecogen.energy.calibrate import cache_file
from ecogen.generation.receipt import receipt_text
from ecogen.energy.calibrate import calibrate as measure_calibration
from ecogen.report import record as records
from ecogen.report.tables import bill_table, eval_table, run_summary, si
from ecogen.rundir import RunDir
from ecogen.training import TrainResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train, evaluate and use image generators while measuring their energy cost.",
)
console = Console()  # results; notices and progress go to stderr, so --json output parses

# CLI option -> dotted config key. Only options the user actually gives override the config.
TRAIN_KEYS = {
    "data": "data.source",
    "image_size": "data.image_size",
    "channels": "data.channels",
    "fit": "data.fit",
    "holdout": "data.holdout",
    "split_seed": "data.split_seed",
    "model": "model.name",
    "latent_dim": "model.latent_dim",
    "width_mult": "model.width_mult",
    "d_downsample": "model.d_downsample",
    "d_norm": "model.d_norm",
    "conditional": "model.conditional",
    "beta": "model.beta",
    "recon": "model.recon",
    "kl_warmup": "model.kl_warmup",
    "lr_g": "optim.lr_g",
    "lr_d": "optim.lr_d",
    "beta1": "optim.beta1",
    "beta2": "optim.beta2",
    "loss": "loss",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "steps": "steps",
    "d_steps": "d_steps",
    "seed": "seed",
    "device": "device",
    "log_every": "log_every",
    "sample_every": "sample_every",
    "checkpoint_every": "checkpoint_every",
    "keep_checkpoints": "keep_checkpoints",
    "sensors": "energy.sensors",
    "country": "energy.country",
    "carbon_intensity": "energy.carbon_intensity",
    "pue": "energy.pue",
    "cpu_watts": "energy.cpu_watts",
    "max_wh": "energy.max_wh",
    "max_gco2": "energy.max_gco2",
    "max_seconds": "energy.max_seconds",
    "eval_every": "eval_every",
    "eval_n": "eval_n",
    "eval_metrics": "eval_metrics",
    "eval_extractor": "eval_extractor",
    "target_fid": "target_fid",
    "target_kid": "target_kid",
    "precision": "precision",
    "channels_last": "channels_last",
    "ema_decay": "ema_decay",
    "augment": "augment",
}


def _overrides(options: dict[str, Any]) -> dict[str, Any]:
    return {TRAIN_KEYS[k]: v for k, v in options.items() if k in TRAIN_KEYS and v is not None}


def _emit(result: TrainResult, as_json: bool) -> None:
    """Print the result; an interrupted run exits 130 (after its checkpoint was saved), as shells expect."""
    if as_json:
        data = {**asdict(result), "run_dir": str(result.run_dir)}
        data["record"] = result.record.model_dump() if result.record else None
        print(json.dumps(data))
    else:
        console.print(f"{result.run_dir}: {result.stop_reason} at step {result.step} of {result.total_steps}; "
                      + "  ".join(f"{k} {v:.3f}" for k, v in result.last.items()))
        if result.record is not None:
            console.print(bill_table(result.record, "energy bill"))
            for line in run_summary(result.record):
                console.print(line)
        console.print(f"samples: {result.run_dir / 'samples' / 'latest.png'}")
        if result.stop_reason == "already_done":
            console.print("Nothing to do: the run is already at its end; ask for more --epochs or --steps.")
        if result.stop_reason == "interrupted":
            console.print(f"Interrupted; checkpoint saved. Continue with: ecogen train --resume {result.run_dir}")
    if result.stop_reason == "interrupted":
        raise typer.Exit(130)


@app.command()
def train(
    data: Optional[str] = typer.Option(None, help="mnist | digits | faces | folder:PATH | npz:PATH"),
    model: Optional[str] = typer.Option(None, help=f"Model: {', '.join(MODELS.names())}."),
    preset: Optional[str] = typer.Option(None, help=f"Architecture preset: {', '.join(PRESETS.names())}."),
    loss: Optional[str] = typer.Option(None, help="minimax | nonsaturating | hinge"),
    image_size: Optional[int] = typer.Option(None, help="Square image size the model works at (default 32)."),
    channels: Optional[int] = typer.Option(None, help="1 or 3 (default: the data's own)."),
    fit: Optional[str] = typer.Option(None, help="auto | resize | pad: how images reach --image-size."),
    holdout: Optional[float] = typer.Option(None, help="Held-out share for evaluation (default 0.1)."),
    split_seed: Optional[int] = typer.Option(None),
    latent_dim: Optional[int] = typer.Option(None),
    width_mult: Optional[float] = typer.Option(None, help="Channel width multiplier (1.0 = 64 at full resolution)."),
    d_downsample: Optional[str] = typer.Option(None, help="stride | avgpool"),
    d_norm: Optional[str] = typer.Option(None, help="none | batch"),
    conditional: Optional[bool] = typer.Option(None, "--conditional/--unconditional",
                                               help="Class-conditional model (needs labelled data)."),
    beta: Optional[float] = typer.Option(None, help="VAE: weight of the KL term (1.0 = the ELBO)."),
    recon: Optional[str] = typer.Option(None, help="VAE: mse (Gaussian) | bce (Bernoulli) reconstruction."),
    kl_warmup: Optional[int] = typer.Option(None, help="VAE: steps over which KL's weight ramps up from 0."),
    lr_g: Optional[float] = typer.Option(None, help="Generator (or VAE) learning rate (default 2e-4)."),
    lr_d: Optional[float] = typer.Option(None),
    beta1: Optional[float] = typer.Option(None),
    beta2: Optional[float] = typer.Option(None),
    batch_size: Optional[int] = typer.Option(None),
    epochs: Optional[int] = typer.Option(None),
    steps: Optional[int] = typer.Option(None, help="Generator steps; overrides --epochs."),
    d_steps: Optional[int] = typer.Option(None, help="Discriminator steps per generator step."),
    seed: Optional[int] = typer.Option(None),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda | cuda:N"),
    log_every: Optional[int] = typer.Option(None),
    sample_every: Optional[int] = typer.Option(None),
    checkpoint_every: Optional[int] = typer.Option(None),
    keep_checkpoints: Optional[int] = typer.Option(None),
    sensors: Optional[str] = typer.Option(None, help="auto, or a comma list of: rapl, nvml, estimate, codecarbon."),
    country: Optional[str] = typer.Option(None, help="ISO 3166 alpha-3 country for grid carbon intensity."),
    carbon_intensity: Optional[float] = typer.Option(None, help="gCO2eq per kWh; overrides --country."),
    pue: Optional[float] = typer.Option(None, help="Data-centre power usage effectiveness (>= 1)."),
    cpu_watts: Optional[float] = typer.Option(None, help="Estimate sensor: W of all usable cores at full load."),
    max_wh: Optional[float] = typer.Option(None, help="Stop cleanly once the run has used this many Wh."),
    max_gco2: Optional[float] = typer.Option(None, help="Stop cleanly at this many gCO2eq."),
    max_seconds: Optional[float] = typer.Option(None, help="Stop cleanly after this many training seconds."),
    eval_every: Optional[int] = typer.Option(None, help="Check quality every N steps (logged with the Wh spent)."),
    eval_n: Optional[int] = typer.Option(None, help="Generated images per quality check (default 500)."),
    eval_metrics: Optional[str] = typer.Option(None, help="Metrics for the checks (default fid,kid)."),
    eval_extractor: Optional[str] = typer.Option(None, help="mnist | inception | inception:PATH | classifier:PATH"),
    target_fid: Optional[float] = typer.Option(None, help="Stop once FID reaches this (checked every --eval-every)."),
    target_kid: Optional[float] = typer.Option(None, help="Stop once KID reaches this."),
    precision: Optional[str] = typer.Option(None, help="fp32 | bf16 | auto (bf16 where this device runs it faster)."),
    channels_last: Optional[bool] = typer.Option(None, "--channels-last/--no-channels-last"),
    ema_decay: Optional[float] = typer.Option(None, help="Keep an EMA of the generator (e.g. 0.999) and sample from it."),
    augment: Optional[str] = typer.Option(None, help="GAN: DiffAugment policy for D, e.g. translation,cutout (color too)."),
    recipe: Optional[str] = typer.Option(None, help=f"Named preset: {', '.join(RECIPES.names())} (see --print-config)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML config; options given here override it."),
    out: Path = typer.Option(Path("runs/default"), help="Run folder."),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this folder."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config and exit."),
    quiet: bool = typer.Option(False, help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train a generator (or continue one with --resume)."""
    options = {k: v for k, v in locals().items() if k in TRAIN_KEYS}
    if resume is not None:
        result = api.resume(resume, progress=not quiet, **_overrides(options))
        return _emit(result, as_json)
    values: dict[str, Any] = load_yaml(config) if config else {}
    if recipe is None and (recipe := default_recipe(merge(values, _overrides(options)))):
        print(f"recipe: {recipe} (the default for this kind of run; see --print-config)", file=sys.stderr)
    if recipe is not None:  # a recipe is the base; the config file and options override it
        values = merge(RECIPES.get(recipe).values, values)
    if preset is not None:
        values = merge(values, {"model": PRESETS.get(preset)})
    cfg = from_dict(TrainConfig, merge(values, _overrides(options)))
    if print_config:
        print(dump_yaml(cfg), end="")
        return
    _emit(api.train(cfg, out, overwrite=overwrite, progress=not quiet), as_json)


@app.command()
def sample(
    run: Path = typer.Argument(..., help="Run folder."),
    n: int = typer.Option(64, help="How many images."),
    seed: int = typer.Option(0),
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
) -> None:
    """Generate images from a trained run; each PNG carries a receipt of what it cost."""
    generator = api.load(run, device=device, checkpoint=checkpoint)
    energy = generator.config.energy
    if country is not None or carbon_intensity is not None:
        energy = replace(energy, country=country, carbon_intensity=carbon_intensity)
    if grid_by_class and n == 64:
        n = 8  # per class
    result = api.sample_to(generator, n, out, seed=seed, batch_size=batch_size, overwrite=overwrite, energy=energy,
                           classes=classes or None, grid_by_class=grid_by_class, fast=fast)
    where = result.paths[0] if len(result.paths) == 1 else f"{out}/ ({len(result.paths)} PNG files)"
    kind = "estimated" if result.estimated else "measured"
    console.print(f"{result.n} images from step {generator.step} -> {where}")
    console.print(
        f"per image: {si(result.wh_per_image, 'Wh')}, {si(result.gco2_per_image, 'g')}CO2eq, "
        f"{si(result.flops_per_image)}FLOPs ({kind}: {', '.join(result.sensors)}); "
        f"total {si(result.wh, 'Wh')} in {result.seconds:.2f} s"
    )


@app.command(name="eval")
def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run folder (or use --real and --fake)."),
    real: Optional[str] = typer.Option(None, help="Real images: folder:PATH, npz:PATH, mnist, ..."),
    fake: Optional[str] = typer.Option(None, help="Generated images: folder:PATH, npz:PATH, ..."),
    metrics: str = typer.Option("fid,kid,is,pr", help=f"Comma list of: {', '.join(METRICS.names())}."),
    n: Optional[int] = typer.Option(None, help="Generated images (default 1000 for a run; all for --fake)."),
    extractor: str = typer.Option("mnist", help=f"Feature extractor: {', '.join(EXTRACTORS.names())}."),
    weights: Optional[Path] = typer.Option(
        None, help="Weights file for the extractor (classifier; inception without it uses the packaged FID weights)."),
    extractor_precision: str = typer.Option("fp32", help="fp32 | bf16: the extractor's arithmetic."),
    checkpoint: str = typer.Option("latest", help="latest | best | a step number (with a run folder)."),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
    quiet: bool = typer.Option(False, help="No progress bars."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Quality of a run's samples (or of one image set against another): FID, KID, IS, precision, recall."""
    spec = f"{extractor}:{weights}" if weights is not None else extractor
    if run is not None:
        result = api.evaluate(run, metrics=metrics, n=n or 1000, extractor=spec, seed=seed, device=device,
                              progress=not quiet, precision=extractor_precision, checkpoint=checkpoint)
    elif real and fake:
        result = evaluate_sets(real, fake, metrics=metrics, extractor=spec, n=n, seed=seed,
                               device=resolve_device(device), progress=not quiet, precision=extractor_precision)
    else:
        raise EcogenError("give a run folder, or both --real and --fake")
    if as_json:
        print(json.dumps(asdict(result)))
        return
    console.print(eval_table(result, str(run or fake)))


@app.command()
def energy(
    run: Path = typer.Argument(..., help="Run folder."),
    as_json: bool = typer.Option(False, "--json", help="Print run.json's content."),
) -> None:
    """The run's energy bill, by phase."""
    RunDir(run).require_run()
    record = records.read(RunDir(run).record)
    if as_json:
        print(record.model_dump_json(indent=2))
        return
    console.print(bill_table(record, f"energy bill of {run}"))
    for line in run_summary(record):
        console.print(line)


@app.command()
def receipt(image: Path = typer.Argument(..., help="A PNG written by 'ecogen sample'.")) -> None:
    """Read back the receipt stored in a generated image."""
    data = api.read_receipt(image)
    table = Table(title=f"receipt of {image}", show_header=False)
    for key, value in data.items():
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command()
def calibrate(
    device: str = typer.Option("auto"),
    seconds: float = typer.Option(1.5, help="Measuring time per precision."),
) -> None:
    """Measure this machine's peak FLOP/s (matrix products) once; runs then report utilisation."""
    entry = measure_calibration(resolve_device(device), seconds)
    for dtype, peak in entry["peak_flops"].items():
        console.print(f"{entry['device']} {dtype}: {peak / 1e9:,.1f} GFLOP/s")
    console.print(f"cached in {cache_file()}")


@app.command()
def compose(
    out: Path = typer.Option(..., help="The composite .png."),
    spec: Optional[Path] = typer.Option(None, help="YAML or JSON spec: canvas and elements."),
    text: Optional[str] = typer.Option(None, help="Shortcut: a row of generated classes, e.g. 2026."),
    model: Optional[Path] = typer.Option(None, help="Run folder for generated elements (overrides the spec's)."),
    seed: int = typer.Option(0, help="First seed for --text."),
    device: str = typer.Option("auto"),
    overwrite: bool = typer.Option(False),
) -> None:
    """Build one image from several generated or given elements."""
    if (spec is None) == (text is None):
        raise EcogenError("give --spec FILE or --text STRING")
    if out.exists() and not overwrite:
        raise EcogenError(f"{out} already exists; pass --overwrite to replace it")
    parsed = load_spec(spec) if spec else None
    run = model or (Path(parsed.model) if parsed and parsed.model else None)
    generator = api.load(run, device=device) if run else None
    if text is not None:
        if generator is None:
            raise EcogenError("--text needs --model RUN (a conditional model)")
        parsed = text_spec(text, generator, seed)
    result = compose_image(parsed, generator)
    receipt = {"composite": len(parsed.elements), "energy_wh": result.total_wh, "element_wh": result.element_wh,
               "gco2": result.gco2, "estimated": result.estimated,
               "model_sha256": generator.model_hash if generator else None}
    save_composite(result, out, receipt_text(receipt))
    kind = "estimated" if result.estimated else "measured"
    console.print(f"{len(parsed.elements)} elements -> {out} ({result.image.shape[1]}x{result.image.shape[0]})")
    console.print(f"energy {si(result.total_wh, 'Wh')} ({kind}): elements "
                  + ", ".join(si(wh, "Wh") for wh in result.element_wh))


app.add_typer(transform_app, name="transform")

extractor_app = typer.Typer(help="Feature extractors for the metrics.", no_args_is_help=True)
app.add_typer(extractor_app, name="extractor")


@extractor_app.command("train")
def extractor_train(
    data: str = typer.Option(..., help="Labelled images: folder:PATH with one subfolder per class, npz:PATH with y."),
    out: Path = typer.Option(..., help="Where to write the weights (.safetensors, with a .json beside it)."),
    image_size: int = typer.Option(32),
    channels: Optional[int] = typer.Option(None),
    epochs: int = typer.Option(15),
    seed: int = typer.Option(0),
    overwrite: bool = typer.Option(False),
    quiet: bool = typer.Option(False),
) -> None:
    """Train a classifier on your labelled images to use as --extractor classifier:OUT."""
    if out.suffix != ".safetensors":
        raise EcogenError(f"--out must end in .safetensors (got {out})")
    if out.exists() and not overwrite:
        raise EcogenError(f"{out} already exists; pass --overwrite to replace it")
    if epochs <= 0:
        raise EcogenError(f"--epochs must be > 0 (got {epochs})")
    cfg = from_dict(DataConfig, {"source": data, "image_size": image_size, "channels": channels}, root="data")
    report = train_classifier(cfg, out, epochs=epochs, seed=seed, progress=not quiet)
    console.print(f"held-out accuracy {report.accuracy:.2%} over {len(report.classes)} classes -> {report.path}")
    console.print(f"use it with: ecogen eval ... --extractor classifier --weights {report.path}")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except EcogenError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
