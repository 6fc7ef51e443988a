"""Typer CLI: options -> config -> one API call -> a Rich table (or --json). Nothing else lives here."""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from safetensors import SafetensorError
from rich.console import Console

from ecogen._version import __version__
from ecogen.catalog import DEFAULT_METRICS, names
from ecogen.cli_rate import rate_app
from ecogen.cli_report import add_report_commands
from ecogen.cli_train import add_train_commands
from ecogen.cli_transform import transform_app
from ecogen.energy.machine import others_running, visible_cores
from ecogen.errors import EcogenError
from ecogen.lazy import LazyModule
from ecogen.report.tables import bill_table, compare_table, eval_table, ranks_table, receipt_table, run_summary, si

# torch, and everything that imports it, loads on first use: --help and --version stay under a second.
api = LazyModule("ecogen.api")


def _version(value: bool) -> None:
    if value:
        print(f"ecogen {__version__}")
        raise typer.Exit()


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train, evaluate and use image generators while measuring their energy cost.",
)
@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print ecogen's version and exit.")) -> None:
    """Train, evaluate and use image generators while measuring their energy cost."""


console = Console()  # results; notices and progress go to stderr, so --json output parses

add_train_commands(app)


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
    index: Optional[int] = typer.Option(None, help="Start at this image of the seed's sequence (a receipt's index)."),
) -> None:
    """Generate images from a trained run; each PNG carries a receipt of what it cost."""
    if grid_by_class and n == 64:
        n = 8  # per class
    result = api.sample_to(run, n, out, checkpoint=checkpoint, device=device, country=country,
                           carbon_intensity=carbon_intensity, seed=seed, batch_size=batch_size, overwrite=overwrite,
                           classes=classes or None, grid_by_class=grid_by_class, fast=fast, index=index)
    where = result.paths[0] if len(result.paths) == 1 else f"{out}/ ({len(result.paths)} PNG files)"
    kind = "estimated" if result.estimated else "measured"
    console.print(f"{result.n} images from step {result.step} -> {where}")
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
    metrics: str = typer.Option(DEFAULT_METRICS, help=f"Comma list of: {', '.join(names('metric'))}."),
    n: Optional[int] = typer.Option(None, help="Generated images (default 1000 for a run; all for --fake)."),
    extractor: str = typer.Option("auto", help=f"Feature extractor: auto (mnist for grey, emoji for colour), "
                                               f"{', '.join(names('extractor'))}."),
    weights: Optional[Path] = typer.Option(
        None, help="Weights file for the extractor (classifier; inception without it uses the packaged FID weights)."),
    extractor_precision: str = typer.Option("fp32", help="fp32 | bf16: the extractor's arithmetic."),
    checkpoint: str = typer.Option("latest", help="latest | best | a step number (with a run folder)."),
    no_reference: bool = typer.Option(False, "--no-reference",
                                      help="Skip the real-vs-real floor and the noise reference (cached after a first run)."),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
    quiet: bool = typer.Option(False, help="No progress bars."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Quality of a run's samples (or of one image set against another): FID, KID, IS, precision, recall."""
    spec = f"{extractor}:{weights}" if weights is not None else extractor
    if run is not None:
        result = api.evaluate(run, metrics=metrics, n=n or 1000, extractor=spec, seed=seed, device=device,
                              progress=not quiet, precision=extractor_precision, checkpoint=checkpoint,
                              reference=not no_reference)
    elif real and fake:
        result = api.evaluate_sets(real, fake, metrics=metrics, extractor=spec, n=n, seed=seed, device=device,
                                   progress=not quiet, precision=extractor_precision, reference=not no_reference)
    else:
        raise EcogenError("give a run folder, or both --real and --fake")
    if as_json:
        print(json.dumps(asdict(result)))
        return
    console.print(eval_table(result, str(run or fake)))


@app.command()
def energy(
    runs: list[Path] = typer.Argument(..., help="Run folder(s); several are shown side by side."),
    as_json: bool = typer.Option(False, "--json", help="Print run.json's content (a list for several runs)."),
) -> None:
    """The run's energy bill, by phase; or several runs' bills side by side."""
    records = {str(run): api.bill(run) for run in runs}
    if as_json:
        dumped = [r.model_dump(mode="json") for r in records.values()]
        print(json.dumps(dumped[0] if len(dumped) == 1 else dumped, indent=2))
        return
    if len(records) > 1:
        console.print(compare_table(records))
        return
    (name, record), = records.items()
    console.print(bill_table(record, f"energy bill of {name}"))
    if record.ranks:
        console.print(ranks_table(record))
    for line in run_summary(record):
        console.print(line)


@app.command()
def receipt(
    image: Path = typer.Argument(..., help="A PNG (or JPEG) written by ecogen."),
    as_json: bool = typer.Option(False, "--json", help="Print the receipt as JSON."),
) -> None:
    """Read back the receipt stored in a generated image."""
    data = api.read_receipt(image)
    if as_json:
        print(json.dumps(data))
        return
    console.print(receipt_table(data, f"receipt of {image}"))


@app.command()
def calibrate(
    device: str = typer.Option("auto"),
    seconds: float = typer.Option(1.5, help="Measuring time per precision."),
    force: bool = typer.Option(False, help="Measure again even when a measurement is cached."),
) -> None:
    """This machine's peak FLOP/s (matrix products), measured once; runs then report utilisation against
    the peak of their own precision."""
    from ecogen.energy.calibrate import cache_file

    entry = api.calibrate(device, seconds, force)
    for dtype, peak in entry["peak_flops"].items():
        console.print(f"{entry['device']} {dtype}: {peak / 1e9:,.1f} GFLOP/s")
    if entry["cached"]:
        console.print(f"cached in {cache_file()} (measure again with --force)")
    elif entry["busy"]:
        print(f"warning: the machine was busy (load {entry['load']}): this measurement is too low and was not "
              f"cached; run again when the machine is quiet", file=sys.stderr)
    else:
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
    result = api.compose(out, spec=spec, text=text, model=model, seed=seed, device=device, overwrite=overwrite)
    image, kind = result.composite, "estimated" if result.composite.estimated else "measured"
    console.print(f"{result.elements} elements -> {result.path} ({image.image.shape[1]}x{image.image.shape[0]})")
    console.print(f"energy {si(image.total_wh, 'Wh')} ({kind}): elements "
                  + ", ".join(si(wh, "Wh") for wh in image.element_wh))


@app.command()
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


app.add_typer(transform_app, name="transform")
app.add_typer(rate_app, name="rate")
add_report_commands(app)

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
    report = api.train_extractor(data, out, image_size=image_size, channels=channels, epochs=epochs, seed=seed,
                                 overwrite=overwrite, progress=not quiet)
    console.print(f"held-out accuracy {report.accuracy:.2%} over {len(report.classes)} classes -> {report.path}")
    console.print(f"use it with: ecogen eval ... --extractor classifier --weights {report.path}")


# Failures that mean "this input or this machine cannot do that", not a bug in ecogen: one line, exit 2.
KNOWN_FAILURES: dict[type[BaseException], str] = {
    RecursionError: "the input is nested too deeply",
    MemoryError: "not enough memory for this request",
    SafetensorError: "a safetensors file could not be read or written",
}
DEVICE_OOM = "the device ran out of memory for this request"  # torch.OutOfMemoryError, when torch was loaded


def _known_failures() -> dict[type[BaseException], str]:
    torch = sys.modules.get("torch")  # a torch error can only come from a loaded torch
    return {**KNOWN_FAILURES, torch.OutOfMemoryError: DEVICE_OOM} if torch else KNOWN_FAILURES


def main() -> None:
    """Entry point and the CLI's one error boundary: user errors and known failures become one line on
    stderr and exit code 2 (nothing already written is lost: files are replaced atomically); anything
    else is a bug, shown with its traceback and a request to report it."""
    try:
        _fit_threads()
        app()
    except EcogenError as err:
        _fail(str(err))
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        _fail(f"{err.strerror or err}{where}")
    except tuple(_known_failures()) as err:
        reason = next(text for kind, text in _known_failures().items() if isinstance(err, kind))
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else err.__class__.__name__
        _fail(f"{reason} ({detail})")
    except Exception:  # noqa: BLE001  (the boundary: report, do not hide)
        traceback.print_exc()
        print("error: this is a bug in ecogen; please report it with the command and the traceback above",
              file=sys.stderr)
        sys.exit(1)


def _fit_threads() -> None:
    """On a machine other processes keep busy, torch's threads (one per core) oversubscribe the cores:
    steps got about 10x slower here, and CPU-time energy estimates as much larger. Use the idle cores only."""
    cores = visible_cores()
    other = os.getloadavg()[0]
    now = others_running()
    if now is not None:  # the 1-minute average still counts the command that ran just before this one
        other = min(other, float(now))
    torch = sys.modules.get("torch")
    current = torch.get_num_threads() if torch else int(os.environ.get("OMP_NUM_THREADS") or cores)
    if other > 0.75 * cores and current > 1:
        threads = max(1, min(current, round(cores - other)))
        if threads < current:
            if torch:
                torch.set_num_threads(threads)
            else:
                os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it loads
            print(f"notice: the machine is busy (load {other:.1f} on {cores} cores): using {threads} thread(s)",
                  file=sys.stderr)


def _fail(message: str) -> None:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the message holds
    sys.exit(2)


if __name__ == "__main__":
    main()
