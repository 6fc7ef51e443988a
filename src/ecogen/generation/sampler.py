"""A trained generator rebuilt from its checkpoint (architecture from the file, weights from safetensors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ecogen.base.batching import paired_chunks
from ecogen import checkpoint
from ecogen.config import TrainConfig
from ecogen.base.device import resolve_device
from ecogen.energy.flops import count_flops
from ecogen.energy.precision import autocast, resolve_precision
from ecogen.errors import ConfigError, EcogenError
from ecogen.models import MODELS, ModelSpec
from ecogen.models.restore import rebuild, sampling_module
from ecogen.rundir import RunDir


MAX_SAMPLE_BYTES = 4 << 30  # images are returned as one tensor


@dataclass
class TrainedGenerator:
    """A run's newest checkpoint, rebuilt: every module (G and D, or encoder and decoder) in eval mode;
    ``module`` is the one that maps latents to images."""

    modules: nn.ModuleDict
    module: nn.Module
    config: TrainConfig
    step: int
    model_hash: str  # SHA-256 of the checkpoint's tensor file
    device: torch.device
    precision: str = "fp32"  # bf16 after enable_fast() where it pays

    @classmethod
    def from_run(cls, path: str | Path, device: str = "auto", which: str | int = "latest") -> TrainedGenerator:
        """``which``: ``latest``, ``best`` or a step number."""
        run = RunDir(Path(path))
        run.require_run()
        ckpt = checkpoint.select(run.root, which)
        torch_device = resolve_device(device)
        config, modules = rebuild(ckpt, torch_device)
        return cls(modules, sampling_module(modules, config), config, ckpt.step, ckpt.meta["sha256"], torch_device)

    @property
    def spec(self) -> ModelSpec:
        """The model's registry entry: its family, and how it is inverted and evaluated."""
        return MODELS.get(self.config.model.name)

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def steps(self) -> int | None:
        """Sampling steps of a diffusion or flow model (None for one-pass generators)."""
        return self.module.steps if self.spec.iterative else None

    def use_steps(self, steps: int | None) -> None:
        """Sample with ``steps`` network-evaluation steps from now on (None: keep the model's default)."""
        if steps is None:
            return
        if not self.spec.iterative:
            raise ConfigError(f"--steps applies to diffusion and flow models; {self.config.model.name} makes an "
                              f"image in one pass")
        if not 1 <= steps <= 1000:
            raise ConfigError(f"--steps: between 1 and 1000 sampling steps (got {steps})")
        self.module.steps = steps

    @property
    def evaluations(self) -> int:
        """Network evaluations per image (1 for one-pass generators)."""
        return self.module.evaluations() if self.spec.iterative else 1

    @property
    def latent_dim(self) -> int:
        return self.config.model.latent_dim

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """Latents are drawn on the CPU from their own generator: the same seed gives the same images on any device."""
        return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed))

    @property
    def classes(self) -> list[str]:
        """Class names of a conditional model (empty for an unconditional one)."""
        return list(self.config.model.classes or []) if self.config.model.conditional else []

    def class_index(self, name: str | int) -> int:
        """A class by name (``"7"``, ``"face"``) or index; an unknown one is an error listing the valid ones."""
        if not self.classes:
            raise EcogenError("this model is not conditional: train it with --conditional to ask for classes")
        key = str(name)
        if key in self.classes:
            return self.classes.index(key)
        raise EcogenError(f"unknown class {key!r}; valid classes: {', '.join(self.classes)}")

    def labels(self, n: int, classes: list[int] | None = None, start: int = 0) -> torch.Tensor | None:
        """Labels for images ``start .. start+n-1``: the given classes repeated, or every class in turn."""
        if not self.classes:
            if classes:
                raise EcogenError("this model is not conditional: train it with --conditional to ask for classes")
            return None
        pool = torch.tensor(classes if classes else range(len(self.classes)))
        return pool[(torch.arange(n) + start) % len(pool)]

    def enable_fast(self) -> str:
        """The cheapest inference path: bf16 where probed faster, in the family's fastest layout (``spec.fast``:
        channels-last for the DCGAN, bf16 weights for the UNet). Returns the precision chosen."""
        self.precision = resolve_precision("auto", self.device)
        self.module = self.spec.fast(self.module, self.precision)
        return self.precision

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, batch_size: int = 256, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None and self.classes:
            labels = self.labels(len(z))
        with autocast(self.precision, self.device):
            out = [self.module(chunk.to(self.device), None if y is None else y.to(self.device)).float().cpu()
                   for chunk, y in paired_chunks(z, labels, batch_size)]
        return torch.cat(out)

    def flops_per_image(self) -> int:
        z = self.latents(1).to(self.device)
        return count_flops(lambda: self.decode(z, labels=self.labels(1)))

    def sample(self, n: int, seed: int = 0, batch_size: int = 256, classes: list[str | int] | None = None,
               start: int = 0) -> torch.Tensor:
        """``n`` images as a CPU tensor in [-1, 1], N x C x H x W; ``classes`` (names or indices) for a
        conditional model, cycled; without them a conditional model draws every class in turn. ``start``
        skips that many images of the seed's sequence: image ``i`` of seed ``s`` is always the same image."""
        if n <= 0:
            raise ConfigError(f"n: must be > 0 (got {n})")
        size = self.config.data.image_size
        if n * (self.config.data.channels or 1) * size * size * 4 > MAX_SAMPLE_BYTES:
            raise ConfigError(f"n: {n:,} images of {size}x{size} do not fit in memory at once "
                              f"(at most {MAX_SAMPLE_BYTES >> 30} GiB); ask for fewer per call")
        if batch_size <= 0:
            raise ConfigError(f"batch_size: must be > 0 (got {batch_size})")
        if start < 0:
            raise ConfigError(f"index: must be >= 0 (got {start})")
        wanted = [self.class_index(c) for c in classes] if classes else None
        return self.decode(self.latents(start + n, seed)[start:], batch_size, self.labels(n, wanted, start))
