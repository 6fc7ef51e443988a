"""ecogen: train, evaluate and use image generators while measuring and cutting their energy cost.

The names below load on first use (PEP 562): importing ecogen for its CLI's help does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecogen._version import __version__
from ecogen.base.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "load": "ecogen.api",
    "resume": "ecogen.api",
    "sample_to": "ecogen.api",
    "train": "ecogen.api",
    "DataConfig": "ecogen.config",
    "ModelConfig": "ecogen.config",
    "OptimConfig": "ecogen.config",
    "TrainConfig": "ecogen.config",
    "EcogenError": "ecogen.errors",
    "RECIPES": "ecogen.session.recipes",
    "recipe_config": "ecogen.session.recipes",
    "TrainedGenerator": "ecogen.generation",
    "TrainResult": "ecogen.training",
})
__all__ = ["__version__", *__dir__()]

if TYPE_CHECKING:
    from ecogen.api import load, resume, sample_to, train
    from ecogen.config import DataConfig, ModelConfig, OptimConfig, TrainConfig
    from ecogen.errors import EcogenError
    from ecogen.generation import TrainedGenerator
    from ecogen.session.recipes import RECIPES, recipe_config
    from ecogen.training import TrainResult
