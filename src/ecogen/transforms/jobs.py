"""The transform commands, registered by name: what each needs (a trained model, input images) and the
function that runs it over files. ``api.transform`` and the CLI look a command up here; a new one is an entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecogen.generation import TrainedGenerator
from ecogen.registry import Registry
from ecogen.transforms.run import TransformResult, apply, corrupt_files, interpolate_files

Run = Callable[..., TransformResult]  # (generator or None, inputs or None, out, **options)


@dataclass(frozen=True)
class Job:
    run: Run
    needs_model: bool = True
    needs_inputs: bool = True


JOBS: Registry[Job] = Registry("transform command")


def _over_files(kind: str) -> Run:
    def run(generator: TrainedGenerator, inputs: Path, out: Path, **options: Any) -> TransformResult:
        return apply(generator, kind, inputs, out, **options)

    return run


for _kind in ("reconstruct", "denoise", "inpaint"):
    JOBS.add(_kind, Job(_over_files(_kind)))
JOBS.add("interpolate", Job(lambda generator, inputs, out, **options: interpolate_files(generator, out, **options),
                            needs_inputs=False))
JOBS.add("corrupt", Job(lambda generator, inputs, out, noise="gaussian:0.3", **options:
                        corrupt_files(inputs, out, noise, **options), needs_model=False))
