"""Every entry of every registry keeps its registry's contract, on a tiny input. A registry that has no
contract here fails the first test: adding an extension point means saying what its entries promise."""

from __future__ import annotations

import importlib
import math
import pkgutil

import numpy as np
import pytest
import torch

import ecogen
from ecogen.registry import Registry


def _registries() -> dict[str, Registry]:
    found = {}
    for info in pkgutil.walk_packages(ecogen.__path__, "ecogen."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Registry):
                found[value.kind] = value
    return found


def _entries(kind: str) -> list[str]:
    return _registries()[kind].names()


CONTRACTS = {"model", "preset", "training family", "loss", "learning-rate decay", "augmentation", "resize filter",
             "extractor", "metric", "sensor", "transformation", "export format", "element source", "blend",
             "recipe", "dataset", "noise", "transform command", "tracker", "likelihood"}


def test_every_registry_has_a_contract():
    kinds = set(_registries())
    assert kinds == CONTRACTS, f"new: {sorted(kinds - CONTRACTS)}, gone: {sorted(CONTRACTS - kinds)}"
    assert all(_registries()[k].names() for k in kinds)  # none is empty


@pytest.mark.parametrize("name", _entries("model"))
def test_models_build_small_and_their_sampler_makes_images_in_range(name):
    from ecogen.config import ModelConfig
    from ecogen.models import MODELS, build_model

    config = ModelConfig(name=name, width_mult=0.25, latent_dim=8, sample_steps=2)
    modules = build_model(config, 16, 1, seed=0)
    again = build_model(config, 16, 1, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(modules.state_dict().values(), again.state_dict().values()))
    spec = MODELS.get(name)
    images = modules[spec.sampler](torch.randn(3, spec.latent_size(config, 16, 1)), None)  # iterative: image noise
    assert images.shape == (3, 1, 16, 16) and images.abs().max() <= 1.0


@pytest.mark.parametrize("name", _entries("preset"))
def test_presets_are_valid_model_configs(name):
    from ecogen.config import ModelConfig, from_dict
    from ecogen.models import PRESETS

    assert isinstance(from_dict(ModelConfig, dict(PRESETS.get(name))), ModelConfig)


@pytest.mark.parametrize("name", _entries("recipe"))
def test_recipes_resolve_to_configs(name):
    from ecogen.session.recipes import recipe_config

    config = recipe_config(name)
    assert config.recipe == name and config.batch_size > 0


@pytest.mark.parametrize("name", _entries("training family"))
def test_each_family_trains_two_steps_with_finite_losses(name, tmp_path):
    from ecogen import train
    from ecogen.models import MODELS

    model = next(m for m in MODELS.names() if MODELS.get(m).family == name)
    from conftest import tiny_config

    result = train(tiny_config(steps=2, model={"name": model, "width_mult": 0.25, "latent_dim": 8}), tmp_path / "r",
                   progress=False)
    assert result.step == 2 and result.last and all(math.isfinite(v) for v in result.last.values())


@pytest.mark.parametrize("name", _entries("loss"))
def test_losses_are_finite_scalars_and_reward_a_discriminator_that_is_right(name):
    from ecogen.training.losses import LOSSES

    loss = LOSSES.get(name)
    right, wrong = (torch.full((8,), 3.0), torch.full((8,), -3.0)), (torch.full((8,), -3.0), torch.full((8,), 3.0))
    assert loss.d(*right).ndim == 0 and loss.d(*right) < loss.d(*wrong)
    assert loss.g(torch.full((8,), 3.0)) < loss.g(torch.full((8,), -3.0))  # G gains when D takes fakes for real
    assert loss.doc


@pytest.mark.parametrize("name", _entries("learning-rate decay"))
def test_decays_start_at_one_and_stay_in_range(name):
    from ecogen.training.schedule import DECAYS

    values = [DECAYS.get(name)(t / 10) for t in range(11)]
    assert values[0] == pytest.approx(1.0) and all(0.0 <= v <= 1.0 for v in values)
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("name", _entries("augmentation"))
def test_augmentations_keep_shape_are_finite_and_follow_their_generator(name):
    from ecogen.training.augment import AUGMENTS

    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = AUGMENTS.get(name)(x, torch.Generator().manual_seed(0))
    b = AUGMENTS.get(name)(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.isfinite(a).all() and torch.equal(a, b)


@pytest.mark.parametrize("name", _entries("resize filter"))
def test_resize_filters_give_the_asked_size(name):
    from ecogen.metrics.extractors.base import RESIZERS

    out = RESIZERS.get(name)(torch.rand(2, 3, 16, 16), 24)
    assert out.shape == (2, 3, 24, 24) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", _entries("metric"))
def test_metrics_are_pure_functions_of_features(name):
    from ecogen.metrics.extractors.base import Features
    from ecogen.metrics.registry import METRICS

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), 64).astype(np.float32)
    real = Features(rng.normal(size=(64, 8)).astype(np.float32), probs)
    fake = Features(rng.normal(1.0, 1.0, size=(64, 8)).astype(np.float32), probs[::-1].copy())
    first, second = METRICS.get(name)(real, fake), METRICS.get(name)(real, fake)
    assert first == second and first and all(math.isfinite(v) for v in first.values())


@pytest.mark.parametrize("name", _entries("extractor"))
def test_extractors_give_finite_features_or_say_what_they_need(name):
    from ecogen.errors import EcogenError
    from ecogen.metrics.extractors.base import EXTRACTORS

    try:
        extractor = EXTRACTORS.get(name)(None)
    except EcogenError as err:  # a classifier needs its weights file: the message names it
        assert "weights" in str(err).lower() or "path" in str(err).lower()
        return
    images = torch.rand(2, extractor.channels if hasattr(extractor, "channels") else 1, 32, 32) * 2 - 1
    from ecogen.metrics.evaluate import extract

    feats = extract(extractor, images, torch.device("cpu"), False, "contract")
    assert len(feats) == 2 and np.isfinite(feats.features).all()


@pytest.mark.parametrize("name", _entries("sensor"))
def test_sensors_open_and_read_or_say_why_not(name):
    from ecogen.energy.sensors.base import SENSORS, SensorContext
    from ecogen.errors import EcogenError

    try:
        sensor = SENSORS.get(name)(SensorContext(torch.device("cpu"), cpu_watts=50.0))
    except (EcogenError, OSError, ImportError) as err:  # no RAPL, no NVML, no GPU here: said, not crashed
        assert str(err)
        return
    sensor.start() if hasattr(sensor, "start") else None
    assert sensor.name


@pytest.mark.parametrize("name", _entries("transformation"))
def test_transformations_keep_the_image_shape(name, vae_run):
    from ecogen import load
    from ecogen.transforms.run import latent_model
    from ecogen.transforms.ops import TRANSFORMS

    generator = load(vae_run, device="cpu")
    images = generator.sample(2, seed=0)
    model, fn = latent_model(generator, steps=2, seed=0), TRANSFORMS.get(name)
    if name == "interpolate":  # latents in, a strip of frames out
        z = generator.latents(2, seed=0)
        out = fn(model, z[:1], z[1:], frames=3)
        assert out.shape == (3, *images.shape[1:])
    else:
        extra = {"missing": torch.zeros(1, 1, *images.shape[-2:])} if name == "inpaint" else {}
        out = fn(model, images, **extra)
        assert out.shape == images.shape
    assert torch.isfinite(out).all() and out.abs().max() <= 1.0


@pytest.mark.parametrize("name", _entries("export format"))
def test_exporters_write_a_file(name, tiny_run, tmp_path):
    from ecogen import api

    suffix = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}[name]
    result = api.export(tiny_run, tmp_path / f"g{suffix}", format=name)
    assert result.path.is_file() and result.path.stat().st_size > 0


@pytest.mark.parametrize("name", _entries("element source"))
def test_element_sources_make_an_image_in_range(name, tmp_path):
    from PIL import Image

    from ecogen import load
    from ecogen.compose.registries import ELEMENT_SOURCES
    from ecogen.compose.spec import Element

    Image.new("L", (8, 8), 200).save(tmp_path / "e.png")
    fields = {"class": {"cls": "3"}, "image": {"path": str(tmp_path / "e.png")}, "interpolate": {"seeds": [1, 2]},
              "mix": {"seeds": [1, 2], "weights": [0.5, 0.5]}}.get(name, {})
    element = Element.model_validate({"source": name, "x": 4, "y": 4, **fields})
    from conftest import tiny_config

    from ecogen import train

    train(tiny_config(steps=2, model={"conditional": True, "width_mult": 0.25, "latent_dim": 8}), tmp_path / "c",
          progress=False)
    image = ELEMENT_SOURCES.get(name)(element, load(tmp_path / "c", device="cpu"))
    assert image.ndim == 3 and 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("name", _entries("blend"))
def test_blends_give_an_alpha_in_range(name, tmp_path):
    from PIL import Image

    from ecogen.compose.canvas import ALPHAS
    from ecogen.compose.spec import Element

    Image.new("L", (8, 8), 255).save(tmp_path / "m.png")
    element = Element.model_validate({"source": "seed", "x": 4, "y": 4, "blend": name, "mask": str(tmp_path / "m.png")})
    alpha = ALPHAS.get(name)(np.random.default_rng(0).random((8, 8, 1)), element)
    assert alpha.shape[:2] == (8, 8) and 0.0 <= alpha.min() and alpha.max() <= 1.0


@pytest.mark.parametrize("name", _entries("dataset"))
def test_data_sources_give_images_in_range_with_labels(name, tmp_path):
    from PIL import Image

    from ecogen.data.emoji import DEFAULT_FONT
    from ecogen.data.sources import load_source

    from ecogen.data.sources import FASHION_DIR

    if name == "emoji" and not DEFAULT_FONT.is_file():
        pytest.skip("needs fonts-noto-color-emoji (.ci/run installs it)")
    if name == "fashion-mnist" and not FASHION_DIR.is_dir():
        pytest.skip("needs dataset-fashion-mnist (.ci/run installs it)")
    folder = tmp_path / "f"
    for k, cls in enumerate(("a", "b")):
        (folder / cls).mkdir(parents=True)
        Image.new("RGB", (12, 12), (40 * k, 100, 200)).save(folder / cls / "x.png")
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 8, 8), np.uint8), y=np.array([0, 1, 0]))
    record = np.zeros(3073, np.uint8)
    record[0] = 7
    (tmp_path / "data_batch_1.bin").write_bytes(np.tile(record, 2).tobytes())
    from test_idx_data import mnist_like

    spec = {"folder": f"folder:{folder}", "npz": f"npz:{tmp_path / 'd.npz'}", "cifar10": f"cifar10:{tmp_path}",
            "idx": f"idx:{mnist_like(tmp_path / 'idx')}"}.get(name, name)
    images = load_source(spec, 16)
    assert len(images) > 0 and images.images.min() >= -1.0 and images.images.max() <= 1.0
    assert images.labels is None or len(images.labels) == len(images)


@pytest.mark.parametrize("name", _entries("noise"))
def test_noises_stay_in_range_follow_their_seed_and_grow_with_their_level(name):
    from ecogen.transforms.ops import corrupt

    x = torch.zeros(2, 3, 16, 16)
    a, b = corrupt(x, f"{name}:0.3", seed=1), corrupt(x, f"{name}:0.3", seed=1)
    assert torch.equal(a, b) and a.shape == x.shape and a.abs().max() <= 1.0
    assert torch.equal(corrupt(x, f"{name}:0", seed=1), x)
    assert (corrupt(x, f"{name}:0.6", seed=1) - x).abs().mean() > (a - x).abs().mean()


@pytest.mark.parametrize("name", _entries("likelihood"))
def test_likelihoods_are_per_image_finite_and_least_for_the_image_itself(name):
    from ecogen.config import ModelConfig
    from ecogen.models import build_model
    from ecogen.models.vae import LIKELIHOODS

    modules = build_model(ModelConfig(name="vae", width_mult=0.25, latent_dim=8, recon=name), 16, 1, seed=0)
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8
    exact, off = torch.atanh(x), torch.atanh(x.roll(1, 0))  # pre-activations whose tanh is x, and the others'
    nll = LIKELIHOODS.get(name)(exact, x, modules)
    assert nll.shape == (3,) and bool(torch.isfinite(nll).all())
    assert bool((nll < LIKELIHOODS.get(name)(off, x, modules)).all())


@pytest.mark.parametrize("name", _entries("transform command"))
def test_transform_commands_write_their_outputs_with_receipts(name, vae_run, tmp_path):
    from ecogen import api, load
    from ecogen.base.images import save_png, to_uint8
    from ecogen.generation.receipt import read_receipt
    from ecogen.transforms.jobs import JOBS

    image = tmp_path / "in.png"
    save_png(to_uint8(load(vae_run, device="cpu").sample(1, seed=0))[0], image)
    options = {"interpolate": {"seeds": (1, 2), "frames": 3}, "inpaint": {"box": "2,2,8,8"}}.get(name, {})
    out = tmp_path / "out.png"
    result = api.transform(name, out, run=vae_run if JOBS.get(name).needs_model else None,
                           inputs=image if JOBS.get(name).needs_inputs else None, device="cpu", **options)
    assert result.kind == name and result.n >= 1 and out.is_file() and read_receipt(out)


@pytest.mark.parametrize("name", _entries("tracker"))
def test_trackers_take_every_call_and_continue_from_their_state(name, tmp_path, monkeypatch):
    import json

    from PIL import Image

    from ecogen.training.trackers import TRACKERS, TrackerStart, open_tracker

    pytest.importorskip(TRACKERS.get(name).requires, reason=f"the {name} extra is not installed")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.chdir(tmp_path)  # mlflow's default store (./mlruns) lands here
    Image.new("RGB", (8, 8), "red").save(tmp_path / "grid.png")
    (tmp_path / "report.html").write_text("<p>report</p>")
    tracker = open_tracker(name, TrackerStart(tmp_path, "contract", 0))
    assert not tracker.continued
    tracker.params({"lr": 0.1, "model.name": "dcgan", "ema": False})
    tracker.scalars({"loss/d": 1.0, "energy/wh": 0.5}, 1)
    tracker.image("samples", tmp_path / "grid.png", 1)
    tracker.artifact(tmp_path / "report.html")
    tracker.summary({"bill/wh": 0.5})
    state = json.loads(json.dumps(tracker.state))  # what trackers.json keeps
    tracker.close(ok=True)
    again = open_tracker(name, TrackerStart(tmp_path, "contract", 1, state))
    assert again.continued and again.state == state
    again.scalars({"loss/d": 0.5}, 2)
    again.close(ok=True)
