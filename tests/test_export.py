"""Exported generators give ecogen's own images for the same latents, outside ecogen."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ecogen import load, train
from ecogen.api import export
from ecogen.errors import EcogenError
from ecogen.models import MODELS, build_model

from conftest import run_cli, tiny_config

ort = pytest.importorskip("onnxruntime")  # a dev dependency; skipped only where it cannot install


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_run):
    cond = tmp_path_factory.mktemp("runs") / "cond"
    train(tiny_config(model={"conditional": True, "width_mult": 0.25, "latent_dim": 16}, steps=4), cond,
          progress=False)
    return {"plain": tiny_run, "conditional": cond}


@pytest.mark.parametrize("kind", ["plain", "conditional"])
def test_onnx_runs_in_onnxruntime_and_matches_ecogen(runs, kind, tmp_path):
    generator = load(runs[kind], device="cpu")
    result = export(runs[kind], tmp_path / "g.onnx")
    assert result.format == "onnx" and set(result.inputs) == ({"z", "labels"} if kind == "conditional" else {"z"})
    z = generator.latents(7, seed=11)  # a batch size the export never saw
    feeds = {"z": z.numpy()}
    labels = None
    if kind == "conditional":
        labels = torch.tensor([3, 1, 4, 1, 5, 9, 2])
        feeds["labels"] = labels.numpy()
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    images = session.run(["images"], feeds)[0]
    expected = generator.decode(z, labels=labels).numpy()
    assert images.shape == expected.shape
    np.testing.assert_allclose(images, expected, atol=1e-4)


def test_torchscript_and_safetensors_match_ecogen(runs, tmp_path):
    generator = load(runs["plain"], device="cpu")
    z = generator.latents(3, seed=5)
    expected = generator.decode(z)
    export(runs["plain"], tmp_path / "g.pt")
    torch.testing.assert_close(torch.jit.load(str(tmp_path / "g.pt"))(z), expected)
    export(runs["plain"], tmp_path / "g.safetensors")
    with safe_open(str(tmp_path / "g.safetensors"), "pt") as handle:
        meta = handle.metadata()
    config = json.loads(meta["config"])
    assert meta["format"] == "ecogen-generator" and int(meta["latent_dim"]) == generator.latent_dim
    from ecogen.config import ModelConfig, from_dict

    modules = build_model(from_dict(ModelConfig, config["model"]), config["data"]["image_size"],
                          int(meta["channels"]), 0)  # rebuilt from the header alone
    sampler = modules[MODELS.get(meta["model"]).sampler]
    sampler.load_state_dict(load_file(str(tmp_path / "g.safetensors")))
    with torch.no_grad():
        torch.testing.assert_close(sampler.eval()(z, None), expected)


def test_export_cli_and_its_errors(runs, tmp_path):
    proc = run_cli("export", str(runs["plain"]), "--out", str(tmp_path / "g.onnx"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["format"] == "onnx"
    before = (tmp_path / "g.onnx").read_bytes()
    proc = run_cli("export", str(runs["plain"]), "--out", str(tmp_path / "g.onnx"))
    assert proc.returncode == 2 and "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "g.onnx").read_bytes() == before  # nothing already written is lost
    with pytest.raises(EcogenError, match="--format"):
        export(runs["plain"], tmp_path / "g.bin")
    with pytest.raises(EcogenError, match="unknown export format 'tflite'"):
        export(runs["plain"], tmp_path / "g.bin", format="tflite")
    assert not (tmp_path / "g.bin").exists()
