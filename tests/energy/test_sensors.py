import time
from pathlib import Path

import pytest
import torch

from ecogen.energy.sensors import SENSORS, SensorContext, SensorUnavailable, open_sensors
from ecogen.energy.sensors.estimate import IDLE_SHARE, RAM_W_PER_GIB, EstimateSensor, core_watts

CPU = torch.device("cpu")


def make_zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(label + "\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return zone


def test_rapl_sums_package_and_dram_and_handles_wrap_around(tmp_path):
    pkg = make_zone(tmp_path, "intel-rapl:0", "package-0", 999_000_000, 1_000_000_000)
    make_zone(tmp_path, "intel-rapl:0:0", "core", 5, 1_000_000_000)  # inside the package: not added
    dram = make_zone(tmp_path, "intel-rapl:0:1", "dram", 100, 2_000_000)
    sensor = SENSORS.get("rapl")(SensorContext(CPU, powercap_root=tmp_path))
    assert sorted(sensor.describe()["zones"]) == ["intel-rapl:0:1:dram", "intel-rapl:0:package-0"]
    (pkg / "energy_uj").write_text("999500000\n")  # +0.5 J
    (dram / "energy_uj").write_text("250100\n")  # +0.25 J
    assert sensor.energy() == pytest.approx(0.75)
    (pkg / "energy_uj").write_text("1500000\n")  # wrapped: +0.5 J to the top, +1.5 J after
    (dram / "energy_uj").write_text("250100\n")
    assert sensor.energy() == pytest.approx(0.75 + 2.0)


def test_rapl_absent_falls_back_to_the_estimate_with_a_notice(tmp_path):
    sensors, notices = open_sensors("auto", SensorContext(CPU, powercap_root=tmp_path / "none"))
    assert [s.name for s in sensors] == ["estimate"] and sensors[0].estimated
    assert len(notices) == 1 and notices[0].startswith("sensor rapl:")
    with pytest.raises(SensorUnavailable):
        open_sensors("rapl", SensorContext(CPU, powercap_root=tmp_path / "none"))


def test_estimate_model_arithmetic():
    sensor = EstimateSensor(SensorContext(CPU, cpu_watts=10.0))
    w_core = 10.0 / sensor.cores
    assert sensor.w_core == pytest.approx(w_core)
    e0, cpu0, wall0 = sensor.energy(), time.process_time(), time.perf_counter()
    end = time.perf_counter() + 10.0
    while time.process_time() - cpu0 < 0.25 and time.perf_counter() < end:  # one busy core, for 0.25 s of
        pass                                                                  # CPU time however busy the machine
    floor = sensor.power_floor()
    joules = sensor.energy() - e0
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    assert floor == pytest.approx(IDLE_SHARE * 10.0 + RAM_W_PER_GIB * floor_ram_gib(sensor), rel=1e-6)
    assert joules == pytest.approx(cpu * w_core + wall * floor, rel=0.05)
    assert cpu > 0.2  # the busy loop was charged as active time


def floor_ram_gib(sensor: EstimateSensor) -> float:
    return (sensor.power_floor() - IDLE_SHARE * sensor.cores * sensor.w_core) / RAM_W_PER_GIB


def test_cpu_table():
    assert core_watts("AMD EPYC 7763 64-Core Processor")[0] == 2.5
    assert core_watts("Intel(R) Xeon(R) Platinum 8380")[0] == 3.5
    assert core_watts("Some Unknown Chip")[1].startswith("unknown")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_nvml_reads_the_gpu_in_use():
    sensor = SENSORS.get("nvml")(SensorContext(torch.device("cuda")))
    x = torch.randn(4096, 4096, device="cuda")
    for _ in range(50):
        x = x @ x / 64
    torch.cuda.synchronize()
    time.sleep(0.2)
    assert sensor.energy() > 0
    sensor.close()


def test_nvml_is_unavailable_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SensorUnavailable):
        SENSORS.get("nvml")(SensorContext(CPU))


def test_codecarbon_sensor_delegates():
    pytest.importorskip("codecarbon")
    sensor = SENSORS.get("codecarbon")(SensorContext(CPU, country="FRA"))
    try:
        e0 = sensor.energy()
        end = time.perf_counter() + 1.2
        while time.perf_counter() < end:
            pass
        assert sensor.energy() > e0
    finally:
        sensor.close()


def test_unreadable_rapl_counter_gives_a_notice_and_the_next_sensor(tmp_path, monkeypatch):
    from ecogen.energy.sensors import rapl

    make_zone(tmp_path, "intel-rapl:0", "package-0", 1, 10)
    real_read = rapl._read_int

    def root_only(path):  # what a kernel with root-only energy_uj does to an ordinary user
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(rapl, "_read_int", root_only)
    sensors, notices = open_sensors("auto", SensorContext(CPU, powercap_root=tmp_path))
    assert [s.name for s in sensors] == ["estimate"]
    assert "not readable" in notices[0] and "chmod" in notices[0]
