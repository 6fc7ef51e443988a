"""The trackers, read back with their own libraries: the scalar names, a step's value against log.jsonl,
one image, the hyperparameters, the artifacts, and a resume that continues the same tracker run.
Each is skipped (with the reason) when its extra is not installed; nothing reaches the network."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ecogen import resume, train
from ecogen.base import jsonl
from conftest import run_cli, tiny_config

# a short run with every interval inside it: log lines at 10, 20, 30; grids at 15, 30; checks at 15, 30
SHORT = {"steps": 30, "log_every": 10, "sample_every": 15, "eval_every": 15, "eval_n": 100,
         "eval_metrics": "fid", "checkpoint_every": 30, "batch_size": 16}
NAMES = {"loss/d", "loss/g", "d/real", "d/fake", "speed/images_per_s", "speed/gflop_per_s", "energy/wh", "co2/g",
         "energy/w", "energy/wh_per_image", "energy/phase/d_step", "energy/phase/g_step", "quality/fid", "quality/wh", "quality/wh_train"}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """W&B offline, with its settings and caches in the test's folder; no key, so it cannot log in."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_SILENT", "true")


def trained(out: Path, tracker: str) -> tuple[Path, dict, list[dict]]:
    train(tiny_config(**SHORT, trackers=[tracker]), out, progress=False)
    state = json.loads((out / "trackers.json").read_text())
    return out, state, jsonl.read(out / "log.jsonl").records


def at(lines: list[dict], step: int) -> dict:
    return next(line for line in lines if line["step"] == step)


def test_tensorboard_event_files_hold_the_log_lines_an_image_and_continue_on_resume(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed: pip install 'ecogen[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, state, lines = trained(tmp_path / "run", "tensorboard:" + str(tmp_path / "events"))
    assert state["tensorboard"]["log_dir"] == str(tmp_path / "events")
    resume(out, steps=60, progress=False)
    lines = jsonl.read(out / "log.jsonl").records
    events = EventAccumulator(str(tmp_path / "events"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert NAMES <= tags, NAMES - tags
    steps = [e.step for e in events.Scalars("loss/d")]
    assert steps == [10, 20, 30, 40, 50, 60]  # one folder, the steps continue, nothing twice
    for step in (20, 50):
        value = next(e.value for e in events.Scalars("loss/d") if e.step == step)
        assert value == pytest.approx(at(lines, step)["loss_d"], rel=1e-6)  # float32 in the event file
        wh = next(e.value for e in events.Scalars("energy/wh") if e.step == step)
        assert wh == pytest.approx(at(lines, step)["wh"], rel=1e-6)
    images = events.Images("samples")
    assert [i.step for i in images][:2] == [15, 30] and images[0].width == images[0].height > 0
    assert "config" in {t.split("/")[0] for t in events.Tags()["tensors"]}  # the resolved config as text


def test_mlflow_file_store_keeps_one_run_with_params_metrics_image_and_artifacts(tmp_path):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install 'ecogen[mlflow]'")
    from mlflow import MlflowClient

    store = tmp_path / "mlruns"
    out, state, _ = trained(tmp_path / "run", f"mlflow:{store}")
    run_id = state["mlflow"]["run_id"]
    resume(out, steps=60, progress=False)
    lines = jsonl.read(out / "log.jsonl").records
    assert json.loads((out / "trackers.json").read_text())["mlflow"]["run_id"] == run_id  # the same run
    client = MlflowClient(tracking_uri=store.as_uri())
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert NAMES <= set(run.data.metrics), NAMES - set(run.data.metrics)
    assert run.data.params["model.name"] == "dcgan" and run.data.params["data.source"] == "digits"
    assert "machine.cpu_model" in run.data.params
    history = client.get_metric_history(run_id, "loss/d")
    assert sorted(m.step for m in history) == [10, 20, 30, 40, 50, 60]
    assert next(m.value for m in history if m.step == 40) == pytest.approx(at(lines, 40)["loss_d"])
    assert float(run.data.tags["bill/wh"]) == pytest.approx(json.loads((out / "run.json").read_text())["total"]["wh"])
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.html", "best", "images"} <= artifacts
    assert any(a.path.endswith(".png") for a in client.list_artifacts(run_id, "images"))
    assert len(client.search_runs([run.info.experiment_id])) == 1  # resume opened no second run


def wandb_records(run_folder: Path) -> list:
    """The records of an offline W&B run file: W&B's record log (a 7-byte header, then 32 KiB blocks of
    records with a 7-byte header each: CRC, length, FULL/FIRST/MIDDLE/LAST), each a protobuf ``Record``.
    wandb ships the protobuf but no reader for the file in this version."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw = next(run_folder.glob("run-*.wandb")).read_bytes()
    assert raw[:4] == b":W&B"
    block, pos, parts, out = 32768, 7, b"", []
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        if kind == 0:
            pos += left
            continue
        data, pos = raw[pos + 7 : pos + 7 + length], pos + 7 + length
        parts = data if kind in (1, 2) else parts + data
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(parts)
            out.append(record)
    return out


def test_wandb_offline_run_holds_the_scalars_an_image_and_continues_its_id(tmp_path):
    pytest.importorskip("wandb", reason="the wandb extra is not installed: pip install 'ecogen[wandb]'")
    out, state, _ = trained(tmp_path / "run", "wandb")
    assert state["wandb"]["mode"] == "offline"
    resume(out, steps=60, progress=False)
    lines = jsonl.read(out / "log.jsonl").records
    sessions = sorted((out / "wandb").glob("offline-run-*"))
    assert len(sessions) == 2 and all(state["wandb"]["id"] in s.name for s in sessions)  # one id
    # (wandb adds "-1" to a folder whose name, to the second, is taken: a resume within the same second)
    history: dict[int, dict] = {}
    for session in sessions:
        for record in wandb_records(session):
            if record.WhichOneof("record_type") == "history":
                row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
                history.setdefault(int(row["_step"]), {}).update(row)
            if record.WhichOneof("record_type") == "run":
                assert record.run.run_id == state["wandb"]["id"]
    assert NAMES <= set(history[30]), NAMES - set(history[30])
    assert sorted(s for s, row in history.items() if "loss/d" in row) == [10, 20, 30, 40, 50, 60]
    assert history[50]["loss/d"] == pytest.approx(at(lines, 50)["loss_d"])
    assert history[15]["samples/_type"] == "image-file"  # nested keys, joined
    assert (sessions[0] / "files" / history[15]["samples/path"]).is_file()


def test_a_tracker_whose_library_is_missing_is_one_line_naming_the_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    proc = run_cli("train", "--data", "digits", "--steps", "2", "--log", "wandb", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: --log wandb needs the wandb package: pip install 'ecogen[wandb]'"]
    assert not (tmp_path / "r").exists()
    proc = run_cli("train", "--data", "digits", "--steps", "2", "--log", "neptune", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown tracker 'neptune'" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_the_cli_feeds_two_trackers_at_once(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    out = tmp_path / "run"
    proc = run_cli("train", "--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--steps", "4",
                   "--log-every", "2", "--quiet", "--device", "cpu", "--log", "tensorboard", "--log",
                   f"mlflow:{tmp_path / 'mlruns'}", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    state = json.loads((out / "trackers.json").read_text())
    assert set(state) == {"tensorboard", "mlflow"}
    assert list((out / "tb").glob("events.out.tfevents.*"))
    assert (out / "config.yaml").read_text().count("tensorboard") == 1
