"""Mutated files into every reader: each input either loads or fails with ecogen's own error type.

Bounded (a few dozen examples per reader, seeded by Hypothesis's database-free default) so the suite
stays inside its time budget.
"""

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ecogen import checkpoint
from ecogen.compose import load_spec
from ecogen.config import TrainConfig, from_dict, load_yaml
from ecogen.data.reader import load_image
from ecogen.errors import EcogenError

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _image_bytes(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray((rng.random((12, 12, 3)) * 255).astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


SEEDS = {"png": _image_bytes("PNG"), "jpeg": _image_bytes("JPEG")}


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[:cut] if cut else out)


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(1, 400)))
def test_mutated_images(tmp_path, fmt, edits, cut):
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(_mutate(SEEDS[fmt], edits, cut))
    try:
        img = load_image(path)
    except EcogenError:
        return
    assert img.mode in ("L", "RGB")


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory):
    from torch import nn

    folder = tmp_path_factory.mktemp("ckpt")
    modules = nn.ModuleDict({"G": nn.Linear(3, 2)})
    path = checkpoint.save(folder, 1, modules, {}, {}, {"config": {}})
    return path


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_safetensors_headers(tmp_path, saved_checkpoint, edits):
    tensors = saved_checkpoint.with_suffix(".safetensors").read_bytes()
    meta = json.loads(saved_checkpoint.read_text())
    (tmp_path / "step_00000001.safetensors").write_bytes(_mutate(tensors, edits, None))
    meta["sha256"] = checkpoint.sha256(tmp_path / "step_00000001.safetensors")  # past the hash: the parser itself
    (tmp_path / "step_00000001.json").write_text(json.dumps(meta))
    try:
        checkpoint.read(tmp_path / "step_00000001.json")
    except EcogenError:
        pass


@FUZZ
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=3), max_leaves=12),
       key=st.sampled_from(["format", "version", "tensors", "sha256", "step", "optimizers", "config", "rng"]))
def test_mutated_checkpoint_json(tmp_path, saved_checkpoint, value, key):
    original = json.loads(saved_checkpoint.read_text())
    meta = {**original, key: value}
    (tmp_path / "step_00000001.safetensors").write_bytes(saved_checkpoint.with_suffix(".safetensors").read_bytes())
    (tmp_path / "step_00000001.json").write_text(json.dumps(meta))
    try:
        loaded = checkpoint.read(tmp_path / "step_00000001.json")
    except EcogenError:
        return
    # it loaded: then what guards the file was not changed, and what was read is what the record says
    for guard in ("format", "version", "tensors", "sha256"):
        assert loaded.meta[guard] == original[guard], f"a tampered {guard} loaded: {value!r}"
    assert isinstance(loaded.step, int) and loaded.step == meta["step"] >= 0


CONFIG_TEXT = "data:\n  source: digits\n  image_size: 16\nmodel:\n  width_mult: 0.5\nbatch_size: 32\nloss: hinge\n"
SPEC_TEXT = json.dumps({"canvas": {"width": 64, "height": 32, "background": [10, 20, 30]},
                        "elements": [{"source": "seed", "seed": 1, "x": 16, "y": 16, "scale": 1.5}]})


@pytest.mark.parametrize("name, text", [("c.yaml", CONFIG_TEXT), ("s.json", SPEC_TEXT), ("s.yaml", CONFIG_TEXT)])
@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 300), st.sampled_from(list(b"{}[]:,&*!-#'\"\n 0aZ\\"))),
                      min_size=1, max_size=5))
def test_mutated_config_and_spec_files(tmp_path, name, text, edits):
    path = tmp_path / name
    path.write_bytes(_mutate(text.encode(), edits, None))
    try:
        if name == "c.yaml":
            from_dict(TrainConfig, load_yaml(path))
        else:
            load_spec(path)
    except EcogenError:
        pass
