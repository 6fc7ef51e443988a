"""The ``ecogen transform`` commands: thin shells over ecogen.transforms."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ecogen.cli.consoles import out as console
from ecogen.config import SEED_MAX
from ecogen.errors import EcogenError
from ecogen.base.lazy import LazyModule
from ecogen.report.tables import si

api = LazyModule("ecogen.api")

transform_app = typer.Typer(help="Change existing images with a trained model.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(transform_app, name="transform")

def _report_transform(result) -> None:
    kind = "estimated" if result.estimated else "measured"
    where = result.paths[0] if len(result.paths) == 1 else f"{result.paths[0].parent}/ ({len(result.paths)} files)"
    console.print(f"{result.kind}: {result.n} image(s) -> {where}")
    console.print(f"per image: {si(result.wh_per_image, 'Wh')} ({kind}); total {si(result.wh, 'Wh')}, "
                  f"{si(result.gco2, 'g')}CO2eq in {result.seconds:.2f} s; inputs fitted {result.method}")


def _transform_command(kind: str, doc: str):
    def command(
        run: Path = typer.Argument(..., help="Run folder of a trained VAE or GAN."),
        input: Path = typer.Option(..., "--input", help="An image or a folder of images."),
        out: Path = typer.Option(..., help="Output .png (single input) or folder."),
        steps: Optional[int] = typer.Option(None, help="Latent-optimisation steps (GAN inversion: 300 by default)."),
        seed: int = typer.Option(0, min=0, max=SEED_MAX),
        device: str = typer.Option("auto"),
        overwrite: bool = typer.Option(False, help="Replace existing outputs (inputs are never overwritten)."),
        checkpoint: str = typer.Option("latest", help="latest | best | a step number."),
    ) -> None:
        _report_transform(api.transform(kind, out, run=run, inputs=input, device=device, checkpoint=checkpoint,
                                        steps=steps, seed=seed, overwrite=overwrite))

    command.__doc__ = doc
    transform_app.command(kind)(command)


_transform_command("reconstruct", "Encode and decode (GAN: inversion by latent optimisation).")
_transform_command("denoise", "Project noisy images onto the model's manifold.")


@transform_app.command("inpaint")
def transform_inpaint(
    run: Path = typer.Argument(...),
    input: Path = typer.Option(..., "--input"),
    out: Path = typer.Option(...),
    mask: Optional[Path] = typer.Option(None, help="PNG of the input's size; non-zero pixels are missing."),
    box: Optional[str] = typer.Option(None, help="Missing rectangle x,y,w,h in the input's pixels."),
    steps: Optional[int] = typer.Option(None),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    device: str = typer.Option("auto"),
    overwrite: bool = typer.Option(False),
) -> None:
    """Fill missing pixels; the known pixels are kept exactly."""
    _report_transform(api.transform("inpaint", out, run=run, inputs=input, device=device, mask=mask, box=box,
                                    steps=steps, seed=seed, overwrite=overwrite))


@transform_app.command("interpolate")
def transform_interpolate(
    run: Path = typer.Argument(...),
    start: Optional[Path] = typer.Option(None, "--from", help="First image."),
    end: Optional[Path] = typer.Option(None, "--to", help="Last image."),
    seeds: Optional[str] = typer.Option(None, help="Two latent seeds A,B instead of images."),
    frames: int = typer.Option(8, help="Images in the strip, both ends included."),
    path: str = typer.Option("slerp", help="slerp | linear"),
    out: Path = typer.Option(...),
    steps: Optional[int] = typer.Option(None, help="Latent-optimisation steps to find --from/--to's latents."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    device: str = typer.Option("auto"),
    overwrite: bool = typer.Option(False),
) -> None:
    """A strip of images along a latent path between two images or two seeds."""
    pair = None
    if seeds is not None:
        try:
            a, b = (int(v) for v in seeds.split(","))
        except ValueError:
            raise EcogenError(f"--seeds must be two integers A,B (got {seeds!r})") from None
        pair = (a, b)
    _report_transform(api.transform("interpolate", out, run=run, device=device, start=start, end=end, seeds=pair,
                                    frames=frames, path=path, steps=steps, seed=seed,
                                    overwrite=overwrite))


@transform_app.command("corrupt")
def transform_corrupt(
    input: Path = typer.Option(..., "--input"),
    out: Path = typer.Option(...),
    noise: str = typer.Option("gaussian:0.3", help="gaussian:SIGMA (0..1 pixel scale) or saltpepper:P"),
    size: Optional[int] = typer.Option(None, help="Resize to N x N (default: the inputs' own square size)."),
    seed: int = typer.Option(0, min=0, max=SEED_MAX),
    overwrite: bool = typer.Option(False),
) -> None:
    """Make noisy test inputs for denoising."""
    _report_transform(api.transform("corrupt", out, inputs=input, noise=noise, seed=seed, size=size,
                                    overwrite=overwrite))
