"""Training families: how a model's modules are stepped. The loop is shared by all of them."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ecogen.config import TrainConfig
from ecogen.registry import Registry
from ecogen.training.gan import GanFamily
from ecogen.training.vae import VaeFamily

FAMILIES: Registry[Callable[[nn.ModuleDict, TrainConfig], object]] = Registry("training family")
FAMILIES.add("gan", GanFamily)
FAMILIES.add("vae", VaeFamily)
