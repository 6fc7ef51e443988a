"""The loop steps; callbacks do the rest. A callback can stop a run, and a process that does not
write (a non-zero rank) gets none of the writing callbacks."""

import torch

from ecogen import api
from ecogen.data import prepare_data
from ecogen.resolve import resolve_config
from ecogen.rundir import RunDir
from ecogen.training import Trainer
from ecogen.training.callbacks import Hooks, default_callbacks

from conftest import tiny_config


class StopAt(Hooks):
    def __init__(self, step: int) -> None:
        self.step, self.seen = step, []

    def after_step(self, trainer):
        self.seen.append(trainer.step)
        return "enough" if trainer.step == self.step else None


def _trainer(tmp_path, writer=True):
    config = resolve_config(tiny_config(steps=6, checkpoint_every=2, log_every=1, sample_every=2))
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
    trainer, run = _trainer(tmp_path, writer=False)
    result = trainer.run()
    assert result.step == 6 and result.record is None
    assert sorted(p.name for p in run.root.iterdir()) == []  # no checkpoints, logs, grids or run.json
    kept = [type(c).__name__ for c in default_callbacks(None) if not c.writes]
    assert kept == ["Stops", "LearningRates", "ShareBill", "CarbonTicks", "Divergence"]  # it stops like the others, sends its bill


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
