import pytest

from ecogen.config import TrainConfig, dump_yaml, from_dict, load_yaml, merge, to_dict
from ecogen.errors import ConfigError


def test_the_defaults_round_trip_through_yaml_and_the_cli():
    """What `--print-config` shows with no options is the config a bare TrainConfig() trains."""
    from conftest import run_cli

    cfg = TrainConfig()
    assert from_dict(TrainConfig, to_dict(cfg)) == cfg
    shown = run_cli("train", "--recipe", "reference", "--print-config")
    assert shown.returncode == 0
    reference = from_dict(TrainConfig, __import__("yaml").safe_load(shown.stdout))
    assert (reference.optim, reference.loss, reference.batch_size) == (cfg.optim, cfg.loss, cfg.batch_size)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"data\.imagesize: unknown option"):
        from_dict(TrainConfig, {"data": {"imagesize": 32}})


def test_ill_typed_value_is_named():
    with pytest.raises(ConfigError, match=r"batch_size: .*integer"):
        from_dict(TrainConfig, {"batch_size": "many"})
    with pytest.raises(ConfigError, match=r"epochs: .*greater than 0"):
        from_dict(TrainConfig, {"epochs": -1})


def test_config_is_frozen():
    cfg = TrainConfig()
    with pytest.raises(Exception):
        cfg.batch_size = 3  # type: ignore[misc]


def test_yaml_round_trip(tmp_path):
    cfg = from_dict(TrainConfig, {"loss": "hinge", "model": {"width_mult": 0.5}, "steps": 7})
    path = tmp_path / "run.yaml"
    path.write_text(dump_yaml(cfg))
    assert from_dict(TrainConfig, load_yaml(path)) == cfg


def test_merge_accepts_dotted_keys():
    merged = merge(to_dict(TrainConfig()), {"data.image_size": 28, "loss": "hinge"})
    cfg = from_dict(TrainConfig, merged)
    assert cfg.data.image_size == 28 and cfg.data.source == "mnist" and cfg.loss == "hinge"


def test_bad_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(path)
