import json
import os
import pickle
import shutil

import pytest
import torch

from ecogen import checkpoint, load
from ecogen.errors import CheckpointError


class Payload:
    """Unpickling this runs code that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_round_trip_restores_models_optimizers_and_rng(tmp_path):
    modules = torch.nn.ModuleDict({"G": torch.nn.Linear(3, 2)})
    opt = torch.optim.Adam(modules.parameters())
    modules["G"](torch.randn(4, 3)).sum().backward()
    opt.step()
    gen = torch.Generator().manual_seed(9)
    path = checkpoint.save(tmp_path, 12, modules, {"G": opt}, {"noise": gen.get_state()}, {"note": "x"})
    ckpt = checkpoint.latest(tmp_path)
    assert ckpt.path == path and ckpt.step == 12 and ckpt.meta["note"] == "x"
    fresh = torch.nn.ModuleDict({"G": torch.nn.Linear(3, 2)})
    checkpoint.restore_module(fresh["G"], ckpt.module_state("G"), path)
    assert torch.equal(fresh["G"].weight, modules["G"].weight)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    checkpoint.restore_optimizer(fresh_opt, "G", ckpt)
    a, b = opt.state_dict()["state"][0], fresh_opt.state_dict()["state"][0]
    assert all(torch.equal(a[k], b[k]) for k in a)
    restored = torch.Generator()
    restored.set_state(ckpt.tensors["rng.noise"])
    assert torch.equal(torch.randn(3, generator=restored), torch.randn(3, generator=gen))


def test_keeps_only_the_last_k(tmp_path):
    modules = torch.nn.ModuleDict({"G": torch.nn.Linear(1, 1)})
    for step in (1, 2, 3, 4):
        checkpoint.save(tmp_path, step, modules, {}, {}, {})
    checkpoint.prune(tmp_path, keep=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["step_00000003.json", "step_00000004.json"]
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_malicious_pickle_is_refused_and_never_runs(tiny_run, tmp_path):
    marker = tmp_path / "pwned"
    run = shutil.copytree(tiny_run, tmp_path / "run")
    ckpt = checkpoint.latest(run / "checkpoints")
    tensor_file = ckpt.path.with_suffix(".safetensors")
    tensor_file.write_bytes(pickle.dumps(Payload(marker)))
    meta = json.loads(ckpt.path.read_text())
    meta["sha256"] = checkpoint.sha256(tensor_file)  # even with a matching hash, it is not safetensors
    ckpt.path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load(run)
    assert not marker.exists()


def test_pickle_in_place_of_the_json_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "config.yaml").write_text("{}")
    (tmp_path / "checkpoints" / "step_00000001.json").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match="not an ecogen checkpoint"):
        load(tmp_path)
    assert not marker.exists()


def test_foreign_and_corrupt_checkpoints(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "step_00000001.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="format tag"):
        checkpoint.latest(folder)
    modules = torch.nn.ModuleDict({"G": torch.nn.Linear(1, 1)})
    checkpoint.save(folder, 2, modules, {}, {}, {})
    with open(folder / "step_00000002.safetensors", "r+b") as handle:
        handle.seek(-2, 2)
        handle.write(b"\x00\x01")
    with pytest.raises(CheckpointError, match="SHA-256"):
        checkpoint.latest(folder)
