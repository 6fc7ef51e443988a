"""Experiment trackers (TensorBoard, MLflow, W&B): a registry of sinks, each an optional extra.

A spec is ``NAME`` or ``NAME:ARG`` (``mlflow:URI``, ``tensorboard:DIR``, ``wandb:PROJECT``). The tracker's
module is imported only when a run opens it, so ecogen runs without any of the libraries installed; a
missing one is one line naming the command that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from ecogen.errors import ConfigError
from ecogen.registry import Registry
from ecogen.training.trackers.base import Tracker, TrackerStart


@dataclass(frozen=True)
class TrackerSpec:
    module: str  # the ecogen module holding the tracker class ``Sink``
    requires: str  # the library it imports
    extra: str  # pip install 'ecogen[EXTRA]'
    arg: str  # what NAME:ARG means, for the help text


TRACKERS: Registry[TrackerSpec] = Registry("tracker")
TRACKERS.add("tensorboard", TrackerSpec("ecogen.training.trackers.to_tensorboard", "tensorboard", "tensorboard",
                                        "the event folder (default RUN/tb)"))
TRACKERS.add("mlflow", TrackerSpec("ecogen.training.trackers.to_mlflow", "mlflow", "mlflow",
                                   "a tracking URI or folder (default ./mlruns, a local file store)"))
TRACKERS.add("wandb", TrackerSpec("ecogen.training.trackers.to_wandb", "wandb", "wandb",
                                  "the project (default ecogen); offline unless W&B is configured"))


def check_trackers(specs: Sequence[str]) -> None:
    """Every spec names a tracker whose library is installed; otherwise one line says how to get it."""
    seen = set()
    for spec in specs:
        name = spec.partition(":")[0]
        entry = TRACKERS.get(name)
        if name in seen:
            raise ConfigError(f"--log {name} is given twice")
        seen.add(name)
        if importlib.util.find_spec(entry.requires) is None:
            raise ConfigError(f"--log {name} needs the {entry.requires} package: pip install 'ecogen[{entry.extra}]'")


def open_tracker(spec: str, start: TrackerStart) -> Tracker:
    name, _, arg = spec.partition(":")
    module = importlib.import_module(TRACKERS.get(name).module)
    return module.Sink(arg, start)


__all__ = ["TRACKERS", "Tracker", "TrackerSpec", "TrackerStart", "check_trackers", "open_tracker"]
