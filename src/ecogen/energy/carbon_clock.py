"""A run's gCO2 as energy x the intensity of the time it was used, interval by interval.

The loop ticks the clock with the session's joules so far; the joules since the last tick are spread
evenly over the wall-clock time since then, and each part is charged at the intensity of its interval
(``IntensitySeries.segments``: the file's value, or the yearly-mean fallback outside it). The phases'
grams then use the run's effective intensity (total grams / total kWh), so they still add up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ecogen.energy.intensity import IntensitySeries, format_time
from ecogen.energy.units import J_PER_WH, CarbonIntensity, Energy


class CarbonClock:
    def __init__(self, series: IntensitySeries, pue: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.series, self.pue, self.clock = series, pue, clock
        self.last_t = clock()
        self.last_j = 0.0
        self.parts: list[dict] = []  # {from, to, source, g_per_kwh, joules}, consecutive, merged when equal

    def tick(self, joules: float) -> None:
        """Charge the joules used since the last tick to the intervals they were used in."""
        now, spent = self.clock(), joules - self.last_j
        if now <= self.last_t:
            if self.parts and spent > 0:
                self.parts[-1]["joules"] += spent
            self.last_j = joules
            return
        span = now - self.last_t
        for seg in self.series.segments(self.last_t, now):
            share = spent * (seg.end - seg.start) / span
            last = self.parts[-1] if self.parts else None
            if last and last["source"] == seg.source and last["g_per_kwh"] == seg.g_per_kwh and last["to"] == seg.start:
                last["to"], last["joules"] = seg.end, last["joules"] + share
            else:
                self.parts.append({"from": seg.start, "to": seg.end, "source": seg.source,
                                   "g_per_kwh": seg.g_per_kwh, "joules": share})
        self.last_t, self.last_j = now, joules

    def _grams(self, part: dict) -> float:
        return CarbonIntensity(part["g_per_kwh"], self.pue).emissions(Energy(part["joules"])).grams

    def grams(self) -> float:
        return sum(self._grams(p) for p in self.parts)

    def effective(self, fallback: CarbonIntensity) -> CarbonIntensity:
        """One intensity that gives this session's grams (the time-weighted truth) for its energy."""
        joules = sum(p["joules"] for p in self.parts)
        if joules <= 0:
            return CarbonIntensity(self.series.at(self.clock()), self.pue, fallback.country, self.describe())
        g_per_kwh = self.grams() / self.pue / Energy(joules).kwh
        return CarbonIntensity(g_per_kwh, self.pue, fallback.country, self.describe())

    def describe(self) -> str:
        joules = sum(p["joules"] for p in self.parts) or 1.0
        covered = sum(p["joules"] for p in self.parts if p["source"] == self.series.name) / joules
        return f"time series {self.series.name} ({covered:.0%} of the energy), {self.series.fallback_source} elsewhere"

    def timeline(self) -> list[dict]:
        """Which intensity applied to which part of the session, as run.json keeps it."""
        return [{"from": format_time(p["from"]), "to": format_time(p["to"]), "source": p["source"],
                 "g_per_kwh": p["g_per_kwh"], "wh": p["joules"] / J_PER_WH,
                 "gco2": self._grams(p)} for p in self.parts]
