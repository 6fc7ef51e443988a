"""EnergyTracker: one measuring object for runs, phases and users' own code.

    with EnergyTracker(device="cpu") as tracker:
        with tracker.phase("d_step"):
            ...
    tracker.report().total.wh

Seconds per phase are exact (a clock read at every boundary). Sensors are read at phase boundaries no
more often than each sensor's ``min_interval``; the energy measured between two reads is shared among
the phases that ran in between in proportion to their time. Time outside any phase goes to ``other``,
so the phases always add up to the total.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ecogen.config import EnergyConfig
from ecogen.energy.carbon import resolve_intensity
from ecogen.energy.sensors import Sensor, SensorContext, open_sensors
from ecogen.energy.units import CarbonIntensity, Energy

OUTSIDE = "other"


@dataclass
class PhaseTotals:
    seconds: float = 0.0
    joules: float = 0.0
    flops: int = 0

    def __iadd__(self, other: PhaseTotals) -> PhaseTotals:
        self.seconds += other.seconds
        self.joules += other.joules
        self.flops += other.flops
        return self


@dataclass
class EnergyReport:
    phases: dict[str, PhaseTotals]
    sensors: list[dict[str, object]]
    carbon: CarbonIntensity
    notices: list[str] = field(default_factory=list)

    @property
    def total(self) -> PhaseTotals:
        out = PhaseTotals()
        for totals in self.phases.values():
            out += totals
        return out

    @property
    def estimated(self) -> bool:
        return any(s["estimated"] for s in self.sensors)

    def wh(self, phase: str | None = None) -> float:
        totals = self.total if phase is None else self.phases.get(phase, PhaseTotals())
        return Energy(totals.joules).wh

    def phase_wh(self) -> dict[str, float]:
        return {name: Energy(t.joules).wh for name, t in self.phases.items()}

    def gco2(self, phase: str | None = None) -> float:
        totals = self.total if phase is None else self.phases.get(phase, PhaseTotals())
        return self.carbon.emissions(Energy(totals.joules)).grams


class _Reader:
    """One sensor plus the phase time it has not yet been read for."""

    def __init__(self, sensor: Sensor, now: float) -> None:
        self.sensor, self.last_read, self.last_joules = sensor, now, sensor.energy()
        self.pending: defaultdict[str, float] = defaultdict(float)
        self.joules = 0.0

    def read(self, now: float, phases: dict[str, PhaseTotals]) -> None:
        joules = self.sensor.energy()
        delta, self.last_joules, self.last_read = joules - self.last_joules, joules, now
        self.joules += delta
        spent = sum(self.pending.values())
        for name, seconds in self.pending.items():
            phases[name].joules += delta * (seconds / spent if spent > 0 else 1.0 / len(self.pending))
        if not self.pending:
            phases[OUTSIDE].joules += delta
        self.pending.clear()


class EnergyTracker:
    def __init__(
        self,
        sensors: str | list[Sensor] = "auto",
        device: str | torch.device = "cpu",
        carbon: CarbonIntensity | None = None,
        cpu_watts: float | None = None,
        powercap_root: str | Path | None = None,
        share: int = 1,
    ) -> None:
        self.device = torch.device(device)
        self.carbon = carbon or resolve_intensity()
        self._sensor_spec = sensors
        where = {"powercap_root": Path(powercap_root)} if powercap_root else {}
        self._ctx = SensorContext(self.device, cpu_watts, country=self.carbon.country, share=share, **where)
        self.notices: list[str] = []
        self.phases: defaultdict[str, PhaseTotals] = defaultdict(PhaseTotals)
        self._readers: list[_Reader] = []
        self._stack: list[str] = []
        self._boundary = 0.0
        self.running = False

    @classmethod
    def from_config(cls, config: EnergyConfig, device: str | torch.device = "cpu", share: int = 1) -> EnergyTracker:
        """The tracker a run's energy settings describe (sensors, grid intensity, PUE, CPU watts)."""
        carbon = resolve_intensity(config.country, config.carbon_intensity, config.pue)
        return cls(config.sensors, device, carbon, config.cpu_watts, share=share)

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> EnergyTracker:
        if isinstance(self._sensor_spec, str):
            sensors, self.notices = open_sensors(self._sensor_spec, self._ctx)
        else:
            sensors = list(self._sensor_spec)
        now = time.perf_counter()
        self._readers = [_Reader(s, now) for s in sensors]
        self._boundary, self.running = now, True
        return self

    def stop(self) -> EnergyReport:
        if self.running:
            self._cross(force=True)
            for reader in self._readers:
                reader.sensor.close()
            self.running = False
        return self.report()

    def __enter__(self) -> EnergyTracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- phases -----------------------------------------------------------------------------------------
    def _cross(self, force: bool = False) -> None:
        """A phase boundary: charge the time since the last one, read sensors that are due."""
        now = time.perf_counter()
        current = self._stack[-1] if self._stack else OUTSIDE
        elapsed = now - self._boundary
        self.phases[current].seconds += elapsed
        self._boundary = now
        for reader in self._readers:
            reader.pending[current] += elapsed
            if force or now - reader.last_read >= reader.sensor.min_interval:
                reader.read(now, self.phases)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if not self.running:
            raise RuntimeError("start the EnergyTracker (use 'with tracker:') before measuring phases")
        self._cross()
        self._stack.append(name)
        try:
            yield
        finally:
            self._cross()
            self._stack.pop()

    def add_flops(self, phase: str, flops: int) -> None:
        self.phases[phase].flops += int(flops)

    def seconds(self) -> dict[str, float]:
        return {name: totals.seconds for name, totals in self.phases.items()}

    # -- results ----------------------------------------------------------------------------------------
    def report(self, refresh: bool = False) -> EnergyReport:
        """Totals so far; ``refresh`` reads every sensor now instead of waiting for the next boundary."""
        if refresh and self.running:
            self._cross(force=True)
        sensors = [
            {"name": r.sensor.name, "domain": r.sensor.domain, "estimated": r.sensor.estimated,
             "wh": Energy(r.joules).wh, **r.sensor.describe()}
            for r in self._readers
        ]
        phases = {k: PhaseTotals(v.seconds, v.joules, v.flops) for k, v in self.phases.items()}
        return EnergyReport(phases, sensors, self.carbon, list(self.notices))


def metered(config: EnergyConfig | None, device: str | torch.device = "cpu", share: int = 1) -> EnergyTracker:
    """The one way ecogen meters work: a run's energy settings (or the defaults) on the device that does
    the work, so GPU energy is counted when the work runs on a GPU. ``share``: processes of one run that
    share this machine (torchrun's local ranks)."""
    return EnergyTracker.from_config(config or EnergyConfig(), device, share)
