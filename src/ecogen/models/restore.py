"""Rebuilding a run's modules from a checkpoint: the one place that reads a checkpoint's config, builds
the architecture it describes and loads its weights. Training resume and ``load`` both use it."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ecogen import checkpoint
from ecogen.config import TrainConfig, from_dict
from ecogen.errors import CheckpointError, ConfigError
from ecogen.models import MODELS, build_model

EMA = "ema"  # the module name of a generator's exponential moving average, when the run keeps one


def saved_config(ckpt: checkpoint.Checkpoint) -> TrainConfig:
    """The config a checkpoint was trained with; a damaged one is a checkpoint error naming the file."""
    try:
        return from_dict(TrainConfig, ckpt.meta.get("config"), root="checkpoint.config")
    except ConfigError as err:
        raise CheckpointError(f"{ckpt.path}: {err}") from None


def build_modules(config: TrainConfig, with_ema: bool) -> nn.ModuleDict:
    """The architecture ``config`` describes, initialised from its seed; with an EMA copy of the sampler."""
    modules = build_model(config.model, config.data.image_size, config.data.channels or 1, config.seed)
    if with_ema:
        modules[EMA] = copy.deepcopy(modules[MODELS.get(config.model.name).sampler]).requires_grad_(False)
    return modules


def restore_modules(modules: nn.ModuleDict, ckpt: checkpoint.Checkpoint) -> None:
    for name, module in modules.items():
        checkpoint.restore_module(module, ckpt.module_state(name), ckpt.path)


def sampling_module(modules: nn.ModuleDict, config: TrainConfig) -> nn.Module:
    """The module that makes images: the EMA copy when there is one (behind a VAE's fitted prior)."""
    spec = MODELS.get(config.model.name)
    return spec.compose(modules, modules[EMA] if EMA in modules else modules[spec.sampler])


def rebuild(ckpt: checkpoint.Checkpoint, device: torch.device) -> tuple[TrainConfig, nn.ModuleDict]:
    """(config, modules in eval mode on ``device``) from a checkpoint."""
    config = saved_config(ckpt)
    modules = build_modules(config, with_ema=any(k.startswith(f"model.{EMA}.") for k in ckpt.tensors))
    restore_modules(modules, ckpt)
    return config, modules.to(device).eval()
