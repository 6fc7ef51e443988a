"""The loop steps; callbacks do the rest. A callback can stop a run, and a process that does not
write (a non-zero rank) gets none of the writing callbacks."""

import torch

from ecogen import api
from ecogen.data import prepare_data
from ecogen.session.resolve import resolve_config
from ecogen.rundir import RunDir
from ecogen.training import Trainer
from ecogen.training.hooks import Hooks

from conftest import tiny_config


class StopAt(Hooks):
    def __init__(self, step: int) -> None:
        self.step, self.seen = step, []

    def after_step(self, state, run):
        self.seen.append(state.step)
        return "enough" if state.step == self.step else None


def _trainer(tmp_path, writer=True, **changes):
    config = resolve_config(tiny_config(**{"steps": 6, "checkpoint_every": 2, "log_every": 1, "sample_every": 2,
                                           **changes}))
    data = prepare_data(config.data)
    from dataclasses import replace

    config = replace(config, data=data.config)
    run = RunDir(tmp_path / "run")
    run.root.mkdir()
    trainer = Trainer(config, run, data, torch.device("cpu"), progress=False)
    trainer.writer = writer
    return trainer, run


def test_a_callback_stops_the_run_and_the_end_hooks_still_run(tmp_path):
    trainer, run = _trainer(tmp_path)
    stop = StopAt(3)
    result = trainer.run([stop])
    assert (result.step, result.stop_reason) == (3, "enough") and stop.seen == [1, 2, 3]
    saved = sorted(p.name for p in run.checkpoints.glob("*.json"))
    assert saved == ["step_00000002.json", "step_00000003.json"]  # the periodic one and the final one
    assert (run.samples / "latest.png").is_file() and result.record.stop_reason == "enough"


def test_a_process_that_does_not_write_gets_no_writing_callbacks(tmp_path):
    trainer, run = _trainer(tmp_path, writer=False, eval_every=2, eval_n=32)
    result = trainer.run()
    assert result.step == 6 and result.record is None
    assert sorted(p.name for p in run.root.iterdir()) == []  # no checkpoints, logs, grids, checks or run.json


def test_a_process_that_does_not_write_still_stops_like_the_others(tmp_path):
    """Stops are decided on every rank (budgets, divergence), so every rank ends at the same step."""
    (tmp_path / "budget").mkdir()
    (tmp_path / "lr").mkdir()
    trainer, run = _trainer(tmp_path / "budget", writer=False, steps=5000, energy={"max_seconds": 0.5})
    result = trainer.run()
    assert result.stop_reason == "budget_seconds" and result.step < 5000
    trainer, run = _trainer(tmp_path / "lr", writer=False, steps=300, optim={"lr_g": 10.0, "lr_d": 10.0})
    assert trainer.run().stop_reason in ("collapsed", "diverged")
    assert sorted(p.name for p in run.root.iterdir()) == []


def test_conditional_vae_is_evaluated_with_its_classes(tmp_path):
    """The held-out ELBO of a conditional VAE needs the labels: evaluate passes them."""
    out = tmp_path / "cvae"
    api.train({"data": {"source": "digits", "image_size": 16}, "model": {"name": "vae", "conditional": True,
               "width_mult": 0.25, "latent_dim": 8}, "steps": 3, "batch_size": 16, "device": "cpu"}, out,
              progress=False)
    result = api.evaluate(out, metrics="fid", n=10, progress=False)
    assert result.extra["neg_elbo"] > 0 and "fid" in result.metrics


def test_compose_and_transform_are_one_api_call_each(tmp_path):
    from PIL import Image

    Image.new("L", (16, 16), 200).save(tmp_path / "in.png")
    noisy = api.transform("corrupt", tmp_path / "noisy.png", inputs=tmp_path / "in.png", noise="gaussian:0.2")
    assert noisy.n == 1 and (tmp_path / "noisy.png").is_file()
    spec = tmp_path / "s.yaml"
    spec.write_text(f"canvas: {{width: 32, height: 16}}\nelements:\n  - {{source: image, path: {tmp_path / 'in.png'}, "
                    f"x: 8, y: 8}}\n")
    made = api.compose(tmp_path / "scene.png", spec=spec)
    assert made.elements == 1 and api.read_receipt(made.path)["composite"] == 1
