"""A trained generator written for use outside ecogen: ONNX (onnxruntime, browsers, C++), TorchScript
(libtorch) or plain safetensors weights with the architecture in the header.

Every format takes latents ``z`` (N x latent_dim, float32, standard normal) and, for a conditional
model, ``labels`` (N, int64 class indices in the order of the header's ``classes``), and gives
``images`` (N x C x H x W, float32 in [-1, 1]). The batch size is free.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from ecogen.base import atomic
from ecogen.errors import EcogenError
from ecogen.generation.sampler import TrainedGenerator
from ecogen.registry import Registry

ONNX_OPSET = 17  # onnxruntime 1.16+ and every current runtime read it


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str
    inputs: dict[str, list[str | int]]
    output: list[str | int]
    header: dict[str, str]


class _Images(nn.Module):
    """The generator with a fixed signature, in eval mode and fp32: (z) or (z, labels) -> images."""

    def __init__(self, module: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.module, self.conditional = module, conditional

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.module(z, labels if self.conditional else None)


def header(generator: TrainedGenerator) -> dict[str, str]:
    """What a user outside ecogen needs to call the file; stored in it where the format allows."""
    cfg = generator.config
    return {
        "format": "ecogen-generator",
        "model": cfg.model.name,
        "latent_dim": str(generator.latent_dim),
        "image_size": str(cfg.data.image_size),
        "channels": str(cfg.data.channels or 1),
        "classes": json.dumps(generator.classes),
        "output_range": "[-1, 1]",
        "step": str(generator.step),
        "model_sha256": generator.model_hash,
        "config": json.dumps({"model": asdict(cfg.model), "data": asdict(cfg.data)}),
    }


def _signature(generator: TrainedGenerator) -> tuple[dict[str, list[str | int]], list[str | int]]:
    cfg = generator.config
    inputs: dict[str, list[str | int]] = {"z": ["N", generator.latent_dim]}
    if generator.classes:
        inputs["labels"] = ["N"]
    return inputs, ["N", cfg.data.channels or 1, cfg.data.image_size, cfg.data.image_size]


def _example(generator: TrainedGenerator) -> tuple[torch.Tensor, ...]:
    z = generator.latents(2, seed=0)
    return (z, torch.zeros(2, dtype=torch.long)) if generator.classes else (z,)


Exporter = Callable[[TrainedGenerator, nn.Module, Path], None]
EXPORTERS: Registry[Exporter] = Registry("export format")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".safetensors": "safetensors"}


@EXPORTERS.register("onnx")
def _onnx(generator: TrainedGenerator, module: nn.Module, tmp: Path) -> None:
    if importlib.util.find_spec("onnx") is None:
        raise EcogenError("ONNX export needs the onnx package: pip install 'ecogen[export]' (onnx==1.23.2)")
    names = ["z", "labels"] if generator.classes else ["z"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its successor
        torch.onnx.export(module, _example(generator), str(tmp), input_names=names, output_names=["images"],
                          dynamic_axes={name: {0: "N"} for name in [*names, "images"]}, opset_version=ONNX_OPSET,
                          dynamo=False)


@EXPORTERS.register("torchscript")
def _torchscript(generator: TrainedGenerator, module: nn.Module, tmp: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is in maintenance; libtorch still reads it
        traced = torch.jit.trace(module, _example(generator), check_trace=False)
        extra = {"ecogen.json": json.dumps(header(generator))}
        torch.jit.save(traced, str(tmp), _extra_files=extra)


@EXPORTERS.register("safetensors")
def _safetensors(generator: TrainedGenerator, module: nn.Module, tmp: Path) -> None:
    state = {k: v.detach().contiguous().cpu() for k, v in module.module.state_dict().items()}
    save_file(state, str(tmp), metadata=header(generator))


def export(generator: TrainedGenerator, out: str | Path, fmt: str | None = None, overwrite: bool = False) -> Exported:
    """Write the generator to ``out`` in ``fmt`` (default: from the suffix), atomically."""
    out = Path(out)
    fmt = fmt or SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise EcogenError(f"cannot tell the format from {out.name}: pass --format ({', '.join(EXPORTERS.names())}) "
                          f"or use a suffix ({', '.join(SUFFIXES)})")
    writer = EXPORTERS.get(fmt)
    if generator.spec.iterative and fmt != "safetensors":
        raise EcogenError(f"a {generator.config.model.name} model samples in a loop of steps: export its weights with "
                          f"--format safetensors (ONNX and TorchScript take one-pass generators)")
    atomic.refuse_existing(out, overwrite)
    if out.is_dir():
        raise EcogenError(f"--out {out} is a folder; give a file name")
    module = _Images(generator.module, bool(generator.classes)).to("cpu").float().eval()
    with torch.no_grad():
        atomic.write_with(out, lambda tmp: writer(generator, module, tmp))
    generator.module.to(generator.device)  # the export ran on the CPU; the generator stays usable
    return Exported(out, fmt, *_signature(generator), header(generator))
