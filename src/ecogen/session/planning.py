"""Before a run: what it will cost (a probe on this machine), and when to start it for the cleanest grid.

``make_plan`` predicts (training/plan.py) and, given a forecast and a deadline, picks the start
(energy/windows.py) and says what it saves against starting now. ``wait_until`` counts down to the
start on stderr; Ctrl-C there cancels with nothing trained or written. Nothing here fetches data: the
forecast is a file the user exported (docs/carbon-aware.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ecogen.config import TrainConfig
from ecogen.data import PreparedData
from ecogen.energy.carbon import resolve_intensity
from ecogen.energy.intensity import format_time, parse_time, read_series
from ecogen.energy.units import CarbonIntensity
from ecogen.energy.windows import best_window, window
from ecogen.errors import EcogenError
from ecogen.training.plan import Prediction, predict


class Cancelled(EcogenError):
    """Ctrl-C while waiting for the planned start: nothing was trained or written."""


@dataclass(frozen=True)
class Schedule:
    """``start``: auto (the cleanest window before ``deadline``), now, or an ISO 8601 time."""

    forecast: str | Path
    deadline: str | None = None
    start: str = "auto"


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prediction: Prediction
    forecast: str | None = None
    deadline: str | None = None
    start: str | None = None  # the chosen start (UTC); None without a forecast
    start_unix: float | None = None
    window_g_per_kwh: float | None = None
    window_covered: float | None = None  # share of the window inside the forecast
    gco2_now: float | None = None  # predicted grams if the run started now
    saving_g: float | None = None  # gco2_now - the chosen window's grams
    saving_share: float | None = None


def make_plan(config: TrainConfig, data: PreparedData, device: Any, schedule: Schedule | None = None,
              probe_steps: int = 20, now: Callable[[], float] = time.time) -> Plan:
    """Probe and predict; with a schedule, choose the start and set the grams at its window's intensity."""
    energy = config.energy
    yearly = resolve_intensity(energy.country, energy.carbon_intensity, energy.pue)
    series = None
    if schedule is not None or energy.intensity:
        source = schedule.forecast if schedule is not None else energy.intensity
        fallback = f"yearly mean ({yearly.source})"
        series = read_series(source, yearly.g_per_kwh, fallback)  # a bad file fails before the probe runs
    if schedule is not None and schedule.start == "auto" and not schedule.deadline:
        raise EcogenError("--start auto needs --deadline: the latest time the run may end")
    prediction = predict(config, data, device, yearly, probe_steps=probe_steps)
    if series is None:
        return Plan(prediction=prediction)
    t_now = now()
    deadline = parse_time(schedule.deadline, "--deadline") if schedule and schedule.deadline else None
    if schedule is None:  # an intensity file alone: the grams if the run starts now
        chosen = now_window = window(series, t_now, prediction.seconds)
    elif schedule.start == "auto":
        chosen, now_window = best_window(series, prediction.seconds, t_now, deadline)
    else:
        start = t_now if schedule.start == "now" else max(parse_time(schedule.start, "--start"), t_now)
        if deadline is not None and start + prediction.seconds > deadline:
            raise EcogenError(f"starting at {format_time(start)}, the run (about {prediction.seconds / 60:.1f} min) "
                              f"would end after the deadline {format_time(deadline)}")
        chosen, now_window = window(series, start, prediction.seconds), window(series, t_now, prediction.seconds)
    at = prediction.at_intensity(chosen.mean_g_per_kwh, f"{series.name}, mean over the window", energy.pue)
    g_now = CarbonIntensity(now_window.mean_g_per_kwh, energy.pue).grams_for_wh(prediction.wh)
    return Plan(prediction=at, forecast=str(series.name), deadline=format_time(deadline) if deadline else None,
                start=format_time(chosen.start), start_unix=chosen.start, window_g_per_kwh=chosen.mean_g_per_kwh,
                window_covered=chosen.covered, gco2_now=g_now, saving_g=g_now - at.gco2,
                saving_share=(g_now - at.gco2) / g_now if g_now > 0 else 0.0)


def plan_lines(plan: Plan) -> list[str]:
    """The plan in words, for stderr or a table's caption."""
    p = plan.prediction
    kind = "estimated" if p.estimated else "measured"
    lines = [f"predicted: {p.seconds / 60:.1f} min ({p.seconds_low / 60:.1f}-{p.seconds_high / 60:.1f}), "
             f"{p.wh:.3g} Wh ({p.wh_low:.3g}-{p.wh_high:.3g}, {kind}), {p.gco2:.3g} gCO2 "
             f"({p.gco2_low:.3g}-{p.gco2_high:.3g}) at {p.g_per_kwh:.0f} g/kWh, {p.flops:.3g} FLOPs, "
             f"{p.steps} steps, {p.checks} quality checks ({p.check_share:.0%} of the time)"]
    if plan.start is not None:
        lines.append(f"start: {plan.start} (window mean {plan.window_g_per_kwh:.0f} g/kWh, "
                     f"{plan.window_covered:.0%} inside {plan.forecast}); starting now: {plan.gco2_now:.3g} g; "
                     f"saving {plan.saving_g:.3g} g ({plan.saving_share:.0%})")
    probe = p.probe
    lines.append(f"probe: {probe['steps']} steps after {probe['warmup']} warm-up, {probe['seconds']:.1f} s, "
                 f"{probe['wh']:.3g} Wh")
    return lines


def wait_until(start: float, progress: bool = True, clock: Callable[[], float] = time.time,
               sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for ``start`` with a countdown on stderr; Ctrl-C raises Cancelled."""
    try:
        while (left := start - clock()) > 0:
            if progress:
                h, rest = divmod(int(left), 3600)
                print(f"\rwaiting for the planned start {format_time(start)}: {h:d}:{rest // 60:02d}:{rest % 60:02d} "
                      f"left (Ctrl-C cancels)  ", end="", file=sys.stderr, flush=True)
            sleep(min(left, 1.0))
    except KeyboardInterrupt:
        raise Cancelled("cancelled before the planned start: nothing was trained or written") from None
    finally:
        if progress:
            print(file=sys.stderr)
