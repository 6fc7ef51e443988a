"""One place makes a run's config: the CLI and the API layer recipe, file, preset and options alike."""

import pytest
import yaml

from ecogen.config import ModelConfig, TrainConfig, to_dict
from ecogen.errors import ConfigError
from ecogen.session.recipes import RECIPES
from ecogen.session.resolve import changed_fields, resolve, resolve_config

from conftest import run_cli


def _cli_config(*args: str) -> dict:
    proc = run_cli("train", *args, "--print-config")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_cli_and_api_make_the_same_config_conditional_default_included():
    cli = _cli_config("--conditional", "--batch-size", "16")
    by_hand = resolve_config(TrainConfig(model=ModelConfig(conditional=True), batch_size=16))
    by_options = resolve(overrides={"model.conditional": True, "batch_size": 16})
    assert cli == to_dict(by_hand) == to_dict(by_options)
    assert cli["recipe"] == "conditional" and cli["optim"]["lr_g"] == RECIPES.get("conditional").values["optim"]["lr_g"]


def test_layers_recipe_then_file_then_preset_then_options(tmp_path):
    (tmp_path / "run.yaml").write_text("batch_size: 48\nmodel:\n  width_mult: 0.75\noptim:\n  lr_g: 0.001\n")
    cli = _cli_config("--recipe", "green", "--config", str(tmp_path / "run.yaml"), "--preset", "seed",
                      "--lr-g", "0.003")
    api = resolve(recipe="green", file=tmp_path / "run.yaml", preset="seed", overrides={"optim.lr_g": 0.003})
    assert cli == to_dict(api)
    assert api.batch_size == 48  # the file over the recipe's 32
    assert api.model.width_mult == 1.0  # the preset over the file
    assert api.optim.lr_g == 0.003  # the option over everything
    assert api.eval_every == RECIPES.get("green").values["eval_every"]  # untouched recipe fields stay


def test_a_resolved_config_resolves_to_itself():
    cfg = resolve(recipe="green", overrides={"seed": 3})
    assert resolve_config(cfg) == cfg
    assert changed_fields(TrainConfig()) == {}


def test_a_recipe_field_set_back_to_the_default_stays_set():
    """recipe_config("green", {"eval_every": None}) turns green's checks off: training it must not put
    them back (the frontier benchmark relies on it)."""
    from ecogen.session.recipes import recipe_config

    cfg = recipe_config("green", {"eval_every": None, "optim": {"beta1": 0.5}, "seed": 2})
    resolved = resolve_config(cfg)
    assert resolved == cfg and resolved.eval_every is None and resolved.model.width_mult == 0.5


@pytest.mark.parametrize("overrides, field", [
    ({"loss": "nope"}, "loss: unknown loss"),
    ({"data.source": "cifar"}, "data.source: unknown dataset"),
    ({"model.name": "stylegan"}, "model.name: unknown model"),
    ({"energy.sensors": "rapl,geiger"}, "energy.sensors: unknown sensor"),
    ({"eval_metrics": "fid,lpips"}, "eval_metrics: unknown metric"),
    ({"eval_extractor": "clip"}, "eval_extractor: unknown extractor"),
    ({"augment": "mixup"}, "augment: unknown augmentation"),
])
def test_registry_backed_fields_are_checked_when_the_config_is_made(overrides, field):
    with pytest.raises(ConfigError, match=field):
        resolve(overrides=overrides)


def test_print_config_refuses_an_unknown_loss():
    proc = run_cli("train", "--loss", "nope", "--print-config")
    assert proc.returncode == 2 and "loss: unknown loss 'nope'" in proc.stderr and not proc.stdout
