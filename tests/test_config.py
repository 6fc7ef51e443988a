import pytest

from ecogen.config import TrainConfig, dump_yaml, from_dict, load_yaml, merge, to_dict
from ecogen.errors import ConfigError


def test_defaults_match_the_documented_recipe():
    cfg = TrainConfig()
    assert (cfg.optim.lr_g, cfg.optim.beta1, cfg.optim.beta2) == (2e-4, 0.5, 0.999)
    assert cfg.loss == "nonsaturating" and cfg.data.image_size == 32 and cfg.data.holdout == 0.1


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
