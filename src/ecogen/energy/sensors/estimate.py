"""An energy estimate for machines without counters (VMs, containers, most laptops under macOS).

Model (every number it yields is marked ``estimated``):

    P(t) = busy_cores(t) x W_core  +  0.1 x visible_cores x W_core  +  0.375 W/GiB x RSS_GiB

* ``busy_cores x W_core``: this process's CPU time (all threads) times the active power of one hardware
  thread, W_core = a CPU family's TDP / hardware threads from the table below, or ``cpu_watts`` given by
  the user as the power of all cores this process can use at full load (W_core = cpu_watts / visible cores).
* ``0.1 x visible_cores x W_core``: an idle floor, the share of static power of the cores we hold (divided
  among the processes of one run on this machine, so torchrun's ranks do not each charge it in full).
* ``0.375 W/GiB``: DRAM power per GiB of peak resident memory (CodeCarbon's 3 W per 8 GB).
It ignores the rest of the machine (disks, fans, PSU losses: use PUE for the data centre's share).
"""

from __future__ import annotations

import resource
import time

from ecogen.energy.machine import cpu_model, visible_cores
from ecogen.energy.sensors.base import SENSORS, SensorContext

# Substring of the CPU model name -> watts per busy hardware thread (TDP / threads of a typical part,
# rounded up for boost). Checked in order; the first match wins.
CORE_WATTS: tuple[tuple[str, float, str], ...] = (
    ("EPYC", 2.5, "AMD EPYC server parts: 280-360 W TDP over 128-192 threads"),
    ("Xeon", 3.5, "Intel Xeon Scalable: ~270 W TDP over 80 threads"),
    ("Ryzen", 6.5, "AMD Ryzen desktop: ~105 W TDP over 16 threads"),
    ("Core(TM) i", 6.0, "Intel Core desktop/laptop: 65-125 W over 12-32 threads"),
    ("Apple", 4.0, "Apple M-series: ~30-40 W CPU over 8-10 cores"),
)
DEFAULT_CORE_WATTS = (5.0, "unknown CPU model: 5 W per busy thread")
IDLE_SHARE = 0.1
RAM_W_PER_GIB = 0.375


def core_watts(model: str) -> tuple[float, str]:
    for needle, watts, why in CORE_WATTS:
        if needle in model:
            return watts, why
    return DEFAULT_CORE_WATTS


class EstimateSensor:
    name = "estimate"
    domain = "cpu"
    estimated = True
    min_interval = 0.0  # a read is two clock calls and one getrusage: cheap enough for every phase

    def __init__(self, ctx: SensorContext) -> None:
        self.cores = visible_cores()
        self.model = cpu_model()
        if ctx.cpu_watts is not None:
            self.w_core, self.basis = ctx.cpu_watts / self.cores, f"--cpu-watts {ctx.cpu_watts:g} over {self.cores} cores"
        else:
            self.w_core, self.basis = core_watts(self.model)
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._cpu, self._wall = self._cpu0, self._wall0
        self._joules = 0.0
        self.share = max(ctx.share, 1)

    def power_floor(self) -> float:
        """Watts charged while the process holds its cores, busy or not (idle share + RAM)."""
        rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        return IDLE_SHARE * self.cores * self.w_core / self.share + RAM_W_PER_GIB * rss_gib

    def energy(self) -> float:
        cpu, wall = time.process_time(), time.perf_counter()
        self._joules += (cpu - self._cpu) * self.w_core + (wall - self._wall) * self.power_floor()
        self._cpu, self._wall = cpu, wall
        return self._joules

    def describe(self) -> dict[str, object]:
        return {
            "model": "process CPU time x W per core + idle share + RAM (see docs/energy.md)",
            "cpu_model": self.model,
            "watts_per_core": self.w_core,
            "basis": self.basis,
            "visible_cores": self.cores,
            "processes_sharing": self.share,
        }

    def close(self) -> None:
        pass


SENSORS.add("estimate", EstimateSensor)
