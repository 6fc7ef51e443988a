"""Transformations as users call them: files in, files out, each output carrying a receipt of its cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ecogen.data.reader import load_image
from ecogen.energy import EnergyTracker, metered
from ecogen.errors import EcogenError
from ecogen.generation import TrainedGenerator
from ecogen.generation.receipt import build_receipt, receipt_text
from ecogen.base.images import save_grid, save_png, to_uint8
from ecogen.transforms.io import RESIZE_METHOD, box_mask, check_outputs, model_mask, output_paths, read_inputs, read_mask
from ecogen.transforms.latent import LatentModel
from ecogen.transforms.ops import TRANSFORMS, corrupt



@dataclass(frozen=True)
class TransformResult:
    kind: str
    paths: list[Path]
    n: int
    wh: float
    gco2: float
    seconds: float
    estimated: bool
    method: str = RESIZE_METHOD

    @property
    def wh_per_image(self) -> float:
        return self.wh / max(self.n, 1)


def latent_model(generator: TrainedGenerator, steps: int | None, seed: int) -> LatentModel:
    if generator.classes:
        raise EcogenError("transformations need an unconditional model (this one generates by class)")
    if generator.spec.iterative:
        raise EcogenError(f"transformations invert a one-pass generator (a GAN or a VAE); a {generator.config.model.name} "
                          f"model samples in steps and has no such inverse here")
    return LatentModel(generator, generator.spec.inversion_steps if steps is None else steps, seed=seed)


def _write(images: list[np.ndarray], paths: list[Path], receipt: dict) -> None:
    text = receipt_text(receipt)
    for image, path in zip(images, paths):
        save_png(image, path, text)


def _receipt(kind: str, generator: TrainedGenerator | None, tracker: EnergyTracker, n: int) -> dict:
    return build_receipt(tracker.report(), n, transform=kind, images=1,
                         model_sha256=generator.model_hash if generator else None)


def _result(kind: str, paths: list[Path], n: int, tracker: EnergyTracker) -> TransformResult:
    report = tracker.report()
    return TransformResult(kind, paths, n, report.wh(), report.gco2(), report.total.seconds, report.estimated)


def apply(generator: TrainedGenerator, kind: str, inputs: str | Path, out: str | Path, *, mask: str | Path | None = None,
          box: str | None = None, steps: int | None = None, seed: int = 0, overwrite: bool = False) -> TransformResult:
    """reconstruct / denoise / inpaint every image of ``inputs`` (a file or a folder) into ``out``."""
    fn = TRANSFORMS.get(kind)
    if kind == "interpolate":
        raise EcogenError("use interpolate_files for interpolate (it takes --from/--to or --seeds)")
    size, channels = generator.config.data.image_size, generator.config.data.channels or 1
    data = read_inputs(inputs, size, channels, generator.config.data.fit)
    paths = output_paths(data, out, overwrite)
    extra, missing = {}, None
    if kind == "inpaint":
        if (mask is None) == (box is None):
            raise EcogenError("inpaint needs exactly one of --mask PNG or --box x,y,w,h")
        if data.folder and len(set(data.sizes)) > 1:
            raise EcogenError("inpaint over a folder needs images of one size (the mask is shared)")
        missing = read_mask(mask, data.sizes[0]) if mask else box_mask(box, data.sizes[0])
        extra["missing"] = model_mask(missing, size, data.methods[0])
    model = latent_model(generator, steps, seed)
    with metered(generator.config.energy, generator.device) as tracker:
        with tracker.phase("transform"):
            results = torch.cat([fn(model, chunk, **extra) for chunk in data.images.split(256)])
    _write(data.restore(results, missing), paths, _receipt(kind, generator, tracker, len(paths)))
    return _result(kind, paths, len(paths), tracker)


def interpolate_files(generator: TrainedGenerator, out: str | Path, *, start: str | Path | None = None,
                      end: str | Path | None = None, seeds: tuple[int, int] | None = None, frames: int = 8,
                      path: str = "slerp", steps: int | None = None, seed: int = 0,
                      overwrite: bool = False) -> TransformResult:
    """A strip of ``frames`` images between two images' latents (``start``/``end``) or two seeds;
    ``steps`` is the latent optimisation that finds an image's latent, as in the other transformations."""
    out = Path(out)
    if (seeds is None) == (start is None or end is None):
        raise EcogenError("interpolate needs --from and --to images, or --seeds A,B")
    inputs = [Path(start), Path(end)] if seeds is None else []
    check_outputs([out], inputs, overwrite)
    model = latent_model(generator, steps, seed)
    size, channels = generator.config.data.image_size, generator.config.data.channels or 1
    with metered(generator.config.energy, generator.device) as tracker:
        with tracker.phase("transform"):
            if seeds is None:
                fit = generator.config.data.fit
                pair = torch.cat([read_inputs(p, size, channels, fit).images for p in inputs])
                latents = model.encode(pair)
            else:
                latents = torch.cat([generator.latents(1, s) for s in seeds]).to(generator.device)
            strip = TRANSFORMS.get("interpolate")(model, latents[:1], latents[1:], frames, path)
    save_grid(strip, out, nrow=frames, text=receipt_text(_receipt("interpolate", generator, tracker, frames)))
    return _result("interpolate", [out], frames, tracker)


def corrupt_files(inputs: str | Path, out: str | Path, noise: str, *, seed: int = 0, size: int | None = None,
                  overwrite: bool = False) -> TransformResult:
    """Test inputs for denoising: Gaussian or salt-and-pepper noise, at the inputs' own size."""
    first = Path(inputs)
    if size is not None and not 8 <= size <= 4096:
        raise EcogenError(f"--size must be 8..4096 pixels (got {size})")
    probe = read_inputs(first, 8, 1, "resize")  # validates the inputs and learns their sizes
    if size is None:
        if len(set(probe.sizes)) > 1 or probe.sizes[0][0] != probe.sizes[0][1]:
            raise EcogenError("corrupt needs square images of one size, or --size N")
        size = probe.sizes[0][0]
    channels = 3 if _any_rgb(probe.paths) else 1
    data = read_inputs(first, size, channels, "resize")
    paths = output_paths(data, out, overwrite)
    with metered(None) as tracker, tracker.phase("transform"):
        noisy = corrupt(data.images, noise, seed)
    _write(list(to_uint8(noisy)), paths, _receipt(f"corrupt {noise}", None, tracker, len(paths)))
    return _result("corrupt", paths, len(paths), tracker)


def _any_rgb(paths: list[Path]) -> bool:
    return any(load_image(p).mode == "RGB" for p in paths)
