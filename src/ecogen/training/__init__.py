"""Training: losses (math), families (what a step does), loop (when things happen)."""

from ecogen.training.families import FAMILIES
from ecogen.training.loop import Trainer, TrainResult
from ecogen.training.losses import LOSSES, AdversarialLoss

__all__ = ["FAMILIES", "LOSSES", "AdversarialLoss", "TrainResult", "Trainer"]
