"""The names each registry holds, as plain data, so that ``--help`` lists the choices without importing
torch (which takes seconds). tests/test_catalog.py holds this table to the registries themselves: a
name registered but not listed here fails the suite."""

from __future__ import annotations

CATALOG: dict[str, tuple[str, ...]] = {
    "source": ("cifar10", "digits", "emoji", "faces", "fashion-mnist", "folder", "idx", "mnist", "npz"),
    "sensor": ("codecarbon", "estimate", "nvml", "rapl"),
    "extractor": ("classifier", "emoji", "fashion", "inception", "mnist"),
    "metric": ("fid", "is", "kid", "pr"),
    "model": ("dcgan", "diffusion", "flow", "vae"),
    "augment": ("color", "cutout", "flip", "translation"),
    "loss": ("hinge", "minimax", "nonsaturating"),
    "tracker": ("mlflow", "tensorboard", "wandb"),
}

DEFAULT_METRICS = "fid,kid,is,pr"  # what an evaluation computes unless told otherwise


def names(kind: str, *extra: str) -> list[str]:
    return [*CATALOG[kind], *extra]
