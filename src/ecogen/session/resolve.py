"""Making a run's config: the one place where recipe, config file, preset and options are layered.

``api.train`` and ``ecogen train`` both call ``resolve``, so the same options give the same config
from Python and from the shell (a test holds them to it). Layers, each overriding the one before:
the recipe (named, or the default for the kind of run: class-conditional models get theirs), the
YAML file, the architecture preset, then the options. Registry-backed fields (data source, model,
loss, sensors, metrics, extractor, augmentation, recipe) are checked against their registries here,
so ``--print-config --loss nope`` fails as training would. This sits above every layer because it
reads every layer's registry; ``ecogen.config`` below it only knows types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecogen.config import TrainConfig, from_dict, load_yaml, merge, to_dict
from ecogen.data import SOURCES
from ecogen.energy.sensors import SENSORS
from ecogen.errors import ConfigError, EcogenError
from ecogen.metrics.evaluate import parse_metrics
from ecogen.metrics.extractors.base import check_extractor_name
from ecogen.models import MODELS, PRESETS
from ecogen.session.recipes import RECIPES, default_recipe
from ecogen.training.augment import parse_policy
from ecogen.training.losses import LOSSES
from ecogen.training.trackers import check_trackers


def resolve(*, recipe: str | None = None, file: str | Path | None = None, preset: str | None = None,
            overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A validated config from the layers; ``overrides`` may use nested or dotted keys."""
    values: dict[str, Any] = load_yaml(file) if file else {}
    overrides = dict(overrides or {})
    recipe = recipe or overrides.pop("recipe", None) or values.pop("recipe", None)
    values.pop("recipe", None)
    if recipe is None:
        recipe = default_recipe(merge(values, overrides))
    base = dict(RECIPES.get(recipe).values) if recipe else {}
    layered = merge(base, values)
    if preset is not None:
        layered = merge(layered, {"model": PRESETS.get(preset)})
    config = from_dict(TrainConfig, {**merge(layered, overrides), "recipe": recipe})
    check_choices(config)
    return config


def changed_fields(config: TrainConfig, base: TrainConfig | None = None) -> dict[str, Any]:
    """The fields of ``config`` that differ from ``base`` (TrainConfig's defaults), as dotted keys: what a
    user chose."""
    def diff(ours: dict[str, Any], default: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in ours.items():
            if isinstance(value, dict) and isinstance(default.get(key), dict):
                out |= diff(value, default[key], f"{prefix}{key}.")
            elif value != default.get(key):
                out[f"{prefix}{key}"] = value
        return out

    return diff(to_dict(config), to_dict(base or TrainConfig()), "")


def resolve_config(config: TrainConfig) -> TrainConfig:
    """A TrainConfig layered as the CLI would: what differs from its recipe (``recipe_config``), or from the
    defaults when it names none, are the options; so a conditional model gets the conditional recipe, as
    ``ecogen train --conditional`` does, and ``recipe_config("green", {"eval_every": None})`` keeps its None."""
    base = None
    if config.recipe is not None:
        RECIPES.get(config.recipe)  # an unknown recipe is an error naming it
        base = from_dict(TrainConfig, {**RECIPES.get(config.recipe).values, "recipe": config.recipe})
    changes = changed_fields(config, base)
    changes.pop("recipe", None)
    return resolve(recipe=config.recipe, overrides=changes)


def check_choices(config: TrainConfig) -> None:
    """Every registry-backed field names something registered; the error names the field."""
    checks = {
        "data.source": lambda: SOURCES.get(config.data.source.partition(":")[0]),
        "model.name": lambda: MODELS.get(config.model.name),
        "loss": lambda: LOSSES.get(config.loss),
        "energy.sensors": lambda: [SENSORS.get(n.strip()) for n in config.energy.sensors.split(",")
                                   if n.strip() and config.energy.sensors != "auto"],
        "eval_metrics": lambda: parse_metrics(config.eval_metrics),
        "eval_extractor": lambda: check_extractor_name(config.eval_extractor),
        "augment": lambda: parse_policy(config.augment),
        "recipe": lambda: config.recipe is None or RECIPES.get(config.recipe),
        "trackers": lambda: check_trackers(config.trackers),
    }
    for field, check in checks.items():
        try:
            check()
        except EcogenError as err:
            message = str(err).removeprefix(f"{field}: ").removeprefix("augment: ")
            raise ConfigError(message if message.startswith("--log") else f"{field}: {message}") from None
    if config.ada_target is not None and not parse_policy(config.augment):
        raise ConfigError("ada_target adapts how often --augment applies: give a policy too "
                          "(e.g. --augment color,translation,cutout)")
