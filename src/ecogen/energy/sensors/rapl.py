"""Linux powercap RAPL counters: CPU package and DRAM energy, measured by the hardware.

Counters are microjoule registers that wrap at ``max_energy_range_uj``; each read adds the forward
difference, so a wrap between two reads is handled. RAPL measures the whole package (every process).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecogen.energy.sensors.base import SENSORS, SensorContext, SensorUnavailable


@dataclass
class _Zone:
    name: str
    energy_file: Path
    max_uj: int
    last_uj: int


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplSensor:
    name = "rapl"
    domain = "cpu"
    estimated = False
    min_interval = 0.05  # counters update every ~1 ms; a file read is ~20 us

    def __init__(self, ctx: SensorContext) -> None:
        root = ctx.powercap_root
        candidates = sorted(root.glob("*-rapl:*")) if root.is_dir() else []
        self.zones: list[_Zone] = []
        for zone in candidates:
            try:
                label = (zone / "name").read_text().strip()
            except OSError:
                continue
            if not (label.startswith("package") or label == "dram"):
                continue  # core/uncore are inside the package; psys double-counts
            try:
                self.zones.append(
                    _Zone(f"{zone.name}:{label}", zone / "energy_uj", _read_int(zone / "max_energy_range_uj"),
                          _read_int(zone / "energy_uj"))
                )
            except PermissionError:
                raise SensorUnavailable(
                    f"{zone / 'energy_uj'} is not readable (try: sudo chmod a+r {root}/*/energy_uj)"
                ) from None
            except (OSError, ValueError):
                continue
        if not self.zones:
            raise SensorUnavailable(f"no readable RAPL package zones under {root}")
        self._joules = 0.0
        self.share = max(ctx.share, 1)  # ranks of one run on this machine each count their share

    def energy(self) -> float:
        for zone in self.zones:
            now = _read_int(zone.energy_file)
            delta = now - zone.last_uj
            if delta < 0:  # the register wrapped around
                delta += zone.max_uj
            zone.last_uj = now
            self._joules += delta / 1e6
        return self._joules / self.share

    def describe(self) -> dict[str, object]:
        scope = "whole CPU package(s) and DRAM, all processes"
        return {"zones": [z.name for z in self.zones],
                "scope": scope if self.share == 1 else f"{scope}, divided among {self.share} ranks of this run"}

    def close(self) -> None:
        pass


SENSORS.add("rapl", RaplSensor)
