"""When to run: the start whose window, over the run's predicted length, has the lowest mean intensity
and still ends before the deadline (the Carbon Aware SDK's and CATS's rule)."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from ecogen.energy.intensity import IntensitySeries, format_time
from ecogen.errors import ConfigError


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    mean_g_per_kwh: float
    covered: float  # share of the window the forecast covers (the rest is the yearly-mean fallback)

    def describe(self) -> str:
        return f"{format_time(self.start)} to {format_time(self.end)} at {self.mean_g_per_kwh:.0f} gCO2/kWh"


def window(series: IntensitySeries, start: float, seconds: float) -> Window:
    return Window(start, start + seconds, series.mean(start, start + seconds), series.covered(start, start + seconds))


def best_window(series: IntensitySeries, seconds: float, now: float, deadline: float) -> tuple[Window, Window]:
    """(the best window, the window that starts now). Candidate starts: now, every interval's start, and
    every start that makes the window end where an interval ends; ties go to the earliest."""
    if deadline <= now:
        raise ConfigError(f"--deadline {format_time(deadline)} is not in the future (now: {format_time(now)})")
    latest = deadline - seconds
    if latest < now:
        raise ConfigError(f"the run is predicted to take {seconds / 60:.1f} min: it cannot end before the deadline "
                          f"{format_time(deadline)} even if it starts now; move the deadline or shorten the run")
    if series.end <= now or series.start >= deadline:
        raise ConfigError(f"the forecast {series.name} ({format_time(series.start)} to {format_time(series.end)}) "
                          f"holds no data between now ({format_time(now)}) and the deadline")
    starts = {now}
    for iv in series.intervals:
        for t in (iv.start, iv.end - seconds):
            if now <= t <= latest:
                starts.add(t)
    best = min(starts, key=_mean_over(series, now, deadline, seconds))  # ties: the key's start
    return window(series, best, seconds), window(series, now, seconds)


def _mean_over(series: IntensitySeries, now: float, deadline: float, seconds: float) -> Callable[[float], tuple]:
    """A window's mean intensity from prefix sums of the timeline [now, deadline): two bisections each,
    so the search is O(n log n) in the file's rows (it was quadratic: a year of 5-minute rows took minutes).
    Means are compared to 6 decimals (the sums' rounding), ties going to the earliest start."""
    segments = series.segments(now, deadline)
    times = [s.start - now for s in segments] + [deadline - now]
    sums = [0.0]
    for s in segments:
        sums.append(sums[-1] + (s.end - s.start) * s.g_per_kwh)

    def integral(t: float) -> float:
        k = min(max(bisect.bisect_right(times, t) - 1, 0), len(segments) - 1)
        return sums[k] + (t - times[k]) * segments[k].g_per_kwh

    def key(start: float) -> tuple:
        t = start - now
        return round((integral(t + seconds) - integral(t)) / seconds, 6), start

    return key
