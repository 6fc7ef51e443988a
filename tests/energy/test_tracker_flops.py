import time

import pytest
import torch
from torch import nn

from ecogen.energy import EnergyTracker, count_flops
from ecogen.energy.sensors import SensorContext
from ecogen.energy.sensors.estimate import EstimateSensor


class ConstantPower:
    """A sensor whose counter grows at exactly ``watts``: phase energy must equal watts x phase time."""

    name, domain, estimated = "constant", "cpu", True

    def __init__(self, watts: float, min_interval: float) -> None:
        self.watts, self.min_interval, self.t0 = watts, min_interval, time.perf_counter()

    def energy(self) -> float:
        return self.watts * (time.perf_counter() - self.t0)

    def describe(self):
        return {}

    def close(self):
        pass


def test_energy_is_shared_by_time_between_sparse_reads():
    with EnergyTracker([ConstantPower(10.0, min_interval=0.05)]) as tracker:
        for _ in range(20):
            with tracker.phase("short"):
                time.sleep(0.002)
            with tracker.phase("long"):
                time.sleep(0.008)
    report = tracker.report()
    for name in ("short", "long"):
        assert report.phases[name].joules == pytest.approx(10.0 * report.phases[name].seconds, rel=0.1)
    assert report.total.joules == pytest.approx(10.0 * report.total.seconds, rel=0.01)


def test_phases_add_up_to_what_the_sensor_measured():
    sensor = EstimateSensor(SensorContext(torch.device("cpu")))
    start = sensor.energy()
    with EnergyTracker([sensor]) as tracker:
        x = torch.randn(256, 256)
        for _ in range(10):
            with tracker.phase("matmul"):
                for _ in range(20):
                    x = torch.tanh(x @ x)
            with tracker.phase("idle"):
                time.sleep(0.01)
            sum(range(1000))  # outside any phase: charged to 'other'
    measured = sensor.energy() - start
    report = tracker.report()
    assert set(report.phases) == {"matmul", "idle", "other"}
    assert report.total.joules == pytest.approx(measured, rel=0.01)
    # (no ordering between the two: OpenMP worker threads keep spinning, and burning CPU, into the sleep)
    assert report.phases["matmul"].joules > 0 and report.phases["idle"].joules > 0


def test_phase_needs_a_started_tracker():
    with pytest.raises(RuntimeError, match="start the EnergyTracker"):
        with EnergyTracker([]).phase("x"):
            pass


def test_flops_of_a_known_convolution_match_the_closed_form():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
    x = torch.randn(2, 3, 16, 16)
    # 2 FLOPs (multiply + add) per weight per output position
    assert count_flops(lambda: conv(x)) == 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3
    # backward: gradients for the input and the weights, each as costly as the forward
    assert count_flops(lambda: conv(x.requires_grad_()).sum().backward()) == 3 * 2 * 2 * 8 * 16 * 16 * 27


def test_flops_of_a_linear_layer():
    layer = nn.Linear(100, 10, bias=False)
    assert count_flops(lambda: layer(torch.randn(4, 100))) == 2 * 4 * 100 * 10
