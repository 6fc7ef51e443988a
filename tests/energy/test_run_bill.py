"""The bill of real (tiny) training runs: run.json, phases, FLOPs, budgets, resume, receipts."""

import json
from pathlib import Path

import pytest
from PIL import Image

from ecogen import checkpoint, load, resume, sample_to, train
from ecogen.api import read_receipt
from ecogen.errors import EcogenError
from ecogen.energy import record as records
from ecogen.energy.machine import VECTOR_FLAGS

from conftest import run_cli, tiny_config

PHASES = {"data", "d_step", "g_step", "checkpoint", "sample"}


def test_run_json_holds_the_bill_by_phase(tiny_run):
    record = records.read(tiny_run / "run.json")
    assert record.schema_version == 1 and record.sessions == 1 and record.stop_reason == "completed"
    assert PHASES <= set(record.phases)
    assert sum(p.wh for p in record.phases.values()) == pytest.approx(record.total.wh, rel=1e-9)
    assert sum(p.seconds for p in record.phases.values()) == pytest.approx(record.total.seconds, rel=1e-9)
    assert record.total.wh > 0 and record.total.gco2 > 0
    assert record.sensors[0]["name"] == "estimate" and record.estimated  # no RAPL on CI machines
    assert record.machine["cpu_model"] and record.machine["visible_cores"] >= 1
    if Path("/proc/cpuinfo").is_file():  # which vector units: CPUs named alike differ by them
        flags = set(Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split())
        assert record.machine["vector_flags"] == [f for f in VECTOR_FLAGS if f in flags]
        assert record.machine["cpu_family"] is not None
    assert record.wh_per_train_image == pytest.approx(record.total.wh / (6 * 32))


def test_flops_per_phase_follow_the_counted_step(tiny_run):
    record = records.read(tiny_run / "run.json")
    gen = load(tiny_run, device="cpu")
    assert record.phases["d_step"].flops > 0 and record.phases["g_step"].flops > 0
    assert record.phases["d_step"].flops % 6 == 0 and record.phases["g_step"].flops % 6 == 0
    # one G update runs G forward + backward: more than generating the batch's images alone
    assert record.phases["g_step"].flops // 6 > 32 * gen.flops_per_image()
    assert record.total.flops_per_s == pytest.approx(record.total.flops / record.total.seconds)


def test_resumed_run_adds_to_its_bill(tmp_path):
    train(tiny_config(steps=3), tmp_path / "r", progress=False)
    first = records.read(tmp_path / "r" / "run.json")
    resume(tmp_path / "r", steps=6, progress=False)
    second = records.read(tmp_path / "r" / "run.json")
    assert second.sessions == 2 and second.step == 6 and second.created == first.created
    assert second.total.wh > first.total.wh and second.total.seconds > first.total.seconds
    assert second.phases["g_step"].flops == 2 * first.phases["g_step"].flops


@pytest.mark.parametrize("budget, reason", [({"max_seconds": 0.3}, "budget_seconds"), ({"max_wh": 1e-4}, "budget_wh"),
                                            ({"max_gco2": 1e-6}, "budget_gco2")])
def test_budgets_stop_training_cleanly(tmp_path, budget, reason):
    result = train(tiny_config(steps=100_000, energy=budget), tmp_path / "b", progress=False)
    assert result.stop_reason == reason and 0 < result.step < 100_000
    ckpt = checkpoint.latest(tmp_path / "b" / "checkpoints")
    assert ckpt.step == result.step and ckpt.meta["stop_reason"] == reason
    record = records.read(tmp_path / "b" / "run.json")
    assert record.stop_reason == reason and record.budgets[next(iter(budget))] == next(iter(budget.values()))


def test_budget_from_the_cli_exits_0(tmp_path):
    proc = run_cli("train", "--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--steps", "100000",
                   "--max-seconds", "1", "--out", str(tmp_path / "r"), "--quiet", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stop_reason"] == "budget_seconds"
    proc = run_cli("energy", str(tmp_path / "r"), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["stop_reason"] == "budget_seconds"
    proc = run_cli("energy", str(tmp_path / "r"))
    assert proc.returncode == 0 and "d_step" in proc.stdout and "estimated" in proc.stdout


def test_receipts_are_written_into_each_png_and_read_back(tiny_run, tmp_path):
    gen = load(tiny_run, device="cpu")
    result = sample_to(gen, 4, tmp_path / "s")
    receipt = read_receipt(result.paths[2])
    assert receipt["images"] == 1 and receipt["energy_wh"] == pytest.approx(result.wh / 4)
    assert receipt["flops"] == gen.flops_per_image() and receipt["model_sha256"] == gen.model_hash
    assert receipt["sensors"] == ["estimate"] and receipt["estimated"] is True
    proc = run_cli("receipt", str(result.paths[2]))
    assert proc.returncode == 0 and "model_sha256" in proc.stdout
    grid = sample_to(gen, 9, tmp_path / "g.png")
    assert read_receipt(grid.paths[0])["images"] == 9


def test_receipt_errors(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "plain.png")
    (tmp_path / "text.png").write_text("not an image")
    for name, message in (("plain.png", "no ecogen receipt"), ("text.png", "not an image"), ("none.png", "not found")):
        proc = run_cli("receipt", str(tmp_path / name))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(EcogenError):
        read_receipt(tmp_path / "plain.png")


def test_unknown_country_is_exit_2(tmp_path):
    proc = run_cli("train", "--country", "ATL", "--steps", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown country 'ATL'" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_calibration_gives_utilisation(tmp_path, monkeypatch):
    import torch

    from ecogen.energy.calibrate import cache_file, cached_peak, calibrate

    import ecogen.energy.calibrate as cal

    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    quiet = {"load_1min": 0.1, "usable_cores": 2, "steal_share": 0.0, "busy": False}
    monkeypatch.setattr(cal, "contention", lambda *a: quiet)  # the suite's own workers keep this machine busy
    assert cached_peak(torch.device("cpu")) is None
    entry = calibrate(torch.device("cpu"), seconds=0.2, size=256)
    assert cache_file().is_file() and entry["peak_flops"]["float32"] > 1e8
    by = entry["by_workload"]["float32"]  # each workload's rate is kept; the peak is the best of them
    assert set(by) == set(cal.PEAK_WORKLOADS) and max(by.values()) == entry["peak_flops"]["float32"]
    assert cached_peak(torch.device("cpu")) == entry["peak_flops"]["float32"]
    train(tiny_config(steps=3), tmp_path / "r", progress=False)
    record = records.read(tmp_path / "r" / "run.json")
    assert record.peak_flops == entry["peak_flops"]["float32"]
    assert 0 < record.phases["g_step"].utilization < 2


def test_the_peak_is_the_best_workload_and_a_new_workload_measures_again(tmp_path, monkeypatch):
    import torch

    import ecogen.energy.calibrate as cal

    cpu = torch.device("cpu")
    rates = {}
    for name, make in cal.PEAK_WORKLOADS.items():
        fn, flops = make(cpu, torch.float32, 128)
        assert flops > 0 and torch.isfinite(fn()).all()
        rates[name] = cal._best_rate(cpu, fn, flops, 0.05)
    assert set(rates) == {"matmul", "conv3x3"} and min(rates.values()) > 1e7
    # the peak is the best of them: with one workload made 1,000x cheaper in FLOPs, the other sets it
    fn, flops = cal._matmul(cpu, torch.float32, 128)
    monkeypatch.setattr(cal, "PEAK_WORKLOADS", {"slow": lambda d, t, s: (fn, flops / 1000), "matmul": cal._matmul})
    assert cal.measure_peak(cpu, torch.float32, 0.1, 128) > 50 * cal._best_rate(cpu, fn, flops / 1000, 0.05)
    key = cal.machine_key(cpu)
    monkeypatch.setattr(cal, "PEAK_WORKLOADS", {"matmul": cal._matmul})
    assert cal.machine_key(cpu) != key  # a peak cached by another set of workloads is not reused


def test_calibration_is_not_cached_when_busy_and_is_reused_unless_forced(tmp_path, monkeypatch):
    import torch

    import ecogen.energy.calibrate as cal

    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    busy = {"load_1min": 9.0, "usable_cores": 2, "steal_share": 0.0, "busy": True}
    monkeypatch.setattr(cal, "contention", lambda *a: busy)
    entry = cal.calibrate(torch.device("cpu"), seconds=0.1, size=128)
    assert entry["busy"] and not entry["cached"] and cal.cached_peak(torch.device("cpu")) is None
    monkeypatch.setattr(cal, "contention", lambda *a: {**busy, "load_1min": 0.1, "busy": False})
    first = cal.calibrate(torch.device("cpu"), seconds=0.1, size=128)
    again = cal.calibrate(torch.device("cpu"), seconds=0.1, size=128)
    assert again["cached"] and again["peak_flops"] == first["peak_flops"]
    forced = cal.calibrate(torch.device("cpu"), seconds=0.1, force=True, size=128)
    assert not forced["cached"]


def test_a_bf16_run_is_measured_against_the_bf16_peak(tmp_path, monkeypatch):
    import json

    import torch

    from ecogen.energy.calibrate import cache_file, machine_key

    monkeypatch.setenv("ECOGEN_CACHE", str(tmp_path / "cache"))
    cache_file().parent.mkdir(parents=True)
    cache_file().write_text(json.dumps({machine_key(torch.device("cpu")): {
        "device": "cpu", "peak_flops": {"float32": 1e11, "bfloat16": 4e11}}}))
    train(tiny_config(steps=2, precision="bf16"), tmp_path / "r", progress=False)
    assert records.read(tmp_path / "r" / "run.json").peak_flops == 4e11
