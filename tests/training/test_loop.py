import json

import numpy as np
import pytest
import torch

from ecogen import checkpoint, load, resume, train
from ecogen.errors import ConfigError, EcogenError

from conftest import tiny_config


def _weights(run):
    return checkpoint.latest(run / "checkpoints").tensors


def test_real_short_training_on_mnist(tmp_path):
    """The real digits at the default size and architecture: losses stay finite, the generator moves."""
    cfg = tiny_config(data={"source": "mnist"}, model={}, batch_size=64, steps=12, log_every=4)
    before = train(tiny_config(data={"source": "mnist"}, model={}, steps=1), tmp_path / "a", progress=False)
    assert before.step == 1
    result = train(cfg, tmp_path / "b", progress=False)
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [4, 8, 12]
    assert all(np.isfinite([r["loss_d"], r["loss_g"]]).all() for r in log)
    assert result.stop_reason == "completed" and result.step == 12
    z = torch.randn(8, 100, generator=torch.Generator().manual_seed(0))
    g0, g1 = load(tmp_path / "a", device="cpu"), load(tmp_path / "b", device="cpu")
    assert (g0.decode(z) - g1.decode(z)).abs().mean() > 1e-3  # same init seed, so the difference is training
    assert (tmp_path / "b" / "samples" / "latest.png").is_file()
    split = json.loads((tmp_path / "b" / "split.json").read_text())
    assert len(split["holdout"]) == 500 and len(split["train"]) == 4500


@pytest.mark.parametrize("augment", ["none", "translation,cutout,color"])
def test_resume_is_bitwise_equal_to_an_uninterrupted_run(tmp_path, augment):
    k = 5
    train(tiny_config(steps=2 * k, checkpoint_every=3, augment=augment), tmp_path / "straight", progress=False)
    train(tiny_config(steps=k, augment=augment), tmp_path / "halves", progress=False)
    result = resume(tmp_path / "halves", steps=2 * k, progress=False)
    assert result.step == 2 * k
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "halves")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_resume_with_epochs_and_training_time_adds_up(tmp_path):
    first = train(tiny_config(steps=None, epochs=1), tmp_path / "r", progress=False)
    assert first.step == (1797 - 180) // 32  # 1,797 digits minus 10% held out, full batches of 32
    meta1 = checkpoint.latest(tmp_path / "r" / "checkpoints").meta
    second = resume(tmp_path / "r", epochs=2, progress=False)
    assert second.step == 2 * first.step
    meta2 = checkpoint.latest(tmp_path / "r" / "checkpoints").meta
    assert meta2["elapsed_seconds"] > meta1["elapsed_seconds"] and meta2["epoch"] == pytest.approx(2.0)
    again = resume(tmp_path / "r", epochs=2, progress=False)
    assert again.stop_reason == "already_done"


def test_resume_refuses_to_change_what_defines_the_run(tiny_run):
    with pytest.raises(ConfigError, match="cannot change loss"):
        resume(tiny_run, loss="hinge", progress=False)


def test_existing_run_is_not_overwritten_without_asking(tiny_run):
    before = {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()}
    with pytest.raises(EcogenError, match="already holds a run"):
        train(tiny_config(), tiny_run, progress=False)
    assert {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()} == before


def test_bad_input_does_not_clear_a_run_even_with_overwrite(tiny_run):
    before = sorted(p for p in tiny_run.rglob("*"))
    with pytest.raises(EcogenError):
        train(tiny_config(data={"source": "nope"}), tiny_run, overwrite=True, progress=False)
    assert sorted(p for p in tiny_run.rglob("*")) == before


@pytest.mark.parametrize("loss", ["minimax", "hinge"])
def test_every_loss_and_d_steps_train(tmp_path, loss):
    result = train(tiny_config(loss=loss, d_steps=2, steps=3), tmp_path / loss, progress=False)
    assert result.step == 3 and all(np.isfinite(v) for v in result.last.values())
    assert {"data", "d_step", "g_step", "checkpoint", "sample"} <= set(result.record.phases)


def test_checkpoints_and_grids_follow_their_schedule(tiny_run):
    names = sorted(p.name for p in (tiny_run / "samples").iterdir())
    assert names == ["latest.png", "step_00000004.png"]
    steps = [checkpoint.read(p).step for p in checkpoint.list_checkpoints(tiny_run / "checkpoints")]
    assert steps == [4, 6]
