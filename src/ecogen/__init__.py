"""ecogen: train, evaluate and use image generators while measuring and cutting their energy cost."""

from ecogen._version import __version__

from ecogen.api import load, resume, sample_to, train
from ecogen.config import DataConfig, ModelConfig, OptimConfig, TrainConfig
from ecogen.errors import EcogenError
from ecogen.recipes import RECIPES, recipe_config
from ecogen.generation import TrainedGenerator
from ecogen.training import TrainResult

__all__ = [
    "__version__",
    "DataConfig",
    "EcogenError",
    "ModelConfig",
    "OptimConfig",
    "RECIPES",
    "TrainConfig",
    "TrainResult",
    "TrainedGenerator",
    "load",
    "recipe_config",
    "resume",
    "sample_to",
    "train",
]
