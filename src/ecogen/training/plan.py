"""A run's cost before it runs: a few probe steps of the real config on this machine, scaled up.

The probe trains the real config (same data, model, batch, precision, device) for ``warmup + probe``
steps in a scratch folder; the warm-up steps are discarded. It then times what a run does besides steps,
each inside its energy phase: one quality check with the evaluator built (on a warm feature cache, as
every run after the first sees it) and one more without, one checkpoint, one grid. The prediction is

    seconds = steps x s_step + checks x s_check + the evaluator's build + checkpoints x s_ckpt + grids x s_grid

and the same sum in joules with each phase's measured power. The range comes from the spread of the
step time over four windows of the probe (the slowest and fastest window), so a steady machine gives a
narrow range and a noisy one a wide range. FLOPs are counted, not estimated.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict

from ecogen.config import TrainConfig
from ecogen.data import PreparedData
from ecogen.energy.units import J_PER_WH, CarbonIntensity
from ecogen.errors import EcogenError
from ecogen.rundir import RunDir
from ecogen.training.hooks import Hooks, LoopState, RunContext
from ecogen.training.quality import QualityChecks
from ecogen.training.loop import Trainer, total_steps

WINDOWS = 4


class Prediction(BaseModel):
    """What a run will cost, predicted on this machine (``low``/``high``: the range)."""

    model_config = ConfigDict(extra="forbid")
    steps: int
    seconds: float
    seconds_low: float
    seconds_high: float
    wh: float
    wh_low: float
    wh_high: float
    gco2: float
    gco2_low: float
    gco2_high: float
    g_per_kwh: float  # the intensity the grams assume (yearly mean, or the forecast over the window)
    intensity_source: str
    flops: int
    checks: int
    check_share: float  # of the predicted seconds spent in quality checks
    estimated: bool  # the energy comes from an estimate sensor, not a counter
    probe: dict[str, Any]  # what the probe measured and what it cost
    made: str  # when (UTC)

    def at_intensity(self, g_per_kwh: float, source: str, pue: float = 1.0) -> Prediction:
        """The same prediction with grams at another intensity (a forecast window's mean)."""
        grams = CarbonIntensity(g_per_kwh, pue).grams_for_wh
        return self.model_copy(update={"g_per_kwh": g_per_kwh, "intensity_source": source, "gco2": grams(self.wh),
                                       "gco2_low": grams(self.wh_low), "gco2_high": grams(self.wh_high)})


class _StepClock(Hooks):
    """Every step's end time and this process's joules so far."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []

    def after_step(self, state: LoopState, run: RunContext) -> None:
        report = run.account.tracker.report(refresh=True)
        self.marks.append((time.perf_counter(), report.total.joules))


class _Extras(Hooks):
    """At the probe's end (inside its energy tracker): quality checks, timed in the eval phase."""

    def __init__(self, with_checks: bool) -> None:
        self.with_checks = with_checks
        self.check: list[tuple[float, float]] = []  # (seconds, joules) of: cold build + check, warm build + check, check

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        if not self.with_checks:
            return
        tracker, checks = run.account.tracker, QualityChecks(None, run)
        for rebuild in (True, True, False):  # the first fills the feature cache a real run finds warm
            if rebuild:
                checks.evaluator = None
            before = tracker.report(refresh=True).phases.get("eval")
            s0, j0 = (before.seconds, before.joules) if before else (0.0, 0.0)
            with tracker.phase("eval"):
                checks.check(state, run)
            after = tracker.report(refresh=True).phases["eval"]
            self.check.append((after.seconds - s0, after.joules - j0))


def _checks(total: int, every: int | None) -> int:
    """Quality checks in a run of ``total`` steps: every ``every`` steps, and at the end."""
    if not every:
        return 0
    return total // every + (1 if total % every else 0)


def predict(config: TrainConfig, data: PreparedData, device: torch.device, carbon: CarbonIntensity,
            probe_steps: int = 20, warmup: int = 5) -> Prediction:
    """Probe ``config`` on ``device`` and predict its whole run (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="ecogen-probe-") as tmp:
        run = RunDir(Path(tmp) / "probe")
        run.root.mkdir()
        probe_cfg = replace(config, steps=warmup + probe_steps, epochs=None, eval_every=None, log_every=10**9,
                            sample_every=10**9, checkpoint_every=10**9, target_fid=None, target_kid=None,
                            energy=replace(config.energy, max_wh=None, max_gco2=None, max_seconds=None))
        trainer = Trainer(probe_cfg, run, data, device, progress=False)
        total = _total(trainer, config)
        clock, extras = _StepClock(), _Extras(bool(config.eval_every))
        started = time.perf_counter()
        result = trainer.run([clock, extras])
        probe_seconds = time.perf_counter() - started
    record = result.record
    if result.stop_reason != "completed" or record is None:
        raise EcogenError(f"the probe stopped early ({result.stop_reason}): no prediction; nothing was trained")
    marks = clock.marks[warmup - 1:]  # the end of the last warm-up step starts the timed span
    steps = len(marks) - 1
    step_s = (marks[-1][0] - marks[0][0]) / steps
    step_j = (marks[-1][1] - marks[0][1]) / steps
    windows = [(b[0] - a[0]) for a, b in zip(marks, marks[1:])]
    size = max(1, len(windows) // WINDOWS)
    means = [statistics.fmean(windows[i:i + size]) for i in range(0, len(windows), size)]
    low, high = min(means + [step_s]), max(means + [step_s])
    watts = step_j / step_s if step_s > 0 else 0.0

    n_checks = _checks(total, config.eval_every)
    # periodic checkpoints before the end, the final one, and a best checkpoint at every other check (a guess:
    # how often quality improves is not known in advance)
    n_ckpt = (total - 1) // config.checkpoint_every + 1 + n_checks / 2
    n_grids = total // config.sample_every + 1
    phase = record.phases
    ckpt_s = phase["checkpoint"].seconds if "checkpoint" in phase else 0.0
    ckpt_j = phase["checkpoint"].wh * J_PER_WH if "checkpoint" in phase else 0.0
    grid_s = phase["sample"].seconds if "sample" in phase else 0.0
    grid_j = phase["sample"].wh * J_PER_WH if "sample" in phase else 0.0
    fixed_s = n_ckpt * ckpt_s + n_grids * grid_s
    fixed_j = n_ckpt * ckpt_j + n_grids * grid_j
    check_s = check_j = build_s = build_j = 0.0
    if n_checks and extras.check:
        (_, _), (warm_s, warm_j), (check_s, check_j) = extras.check
        build_s, build_j = max(warm_s - check_s, 0.0), max(warm_j - check_j, 0.0)
        fixed_s += build_s + n_checks * check_s
        fixed_j += build_j + n_checks * check_j

    def seconds(per_step: float) -> float:
        return total * per_step + fixed_s

    def joules(per_step: float) -> float:
        return total * per_step * watts + fixed_j

    wh, wh_low, wh_high = (joules(x) / J_PER_WH for x in (step_s, low, high))
    grams = carbon.grams_for_wh
    predicted = seconds(step_s)
    return Prediction(
        steps=total, seconds=predicted, seconds_low=seconds(low), seconds_high=seconds(high),
        wh=wh, wh_low=wh_low, wh_high=wh_high, gco2=grams(wh), gco2_low=grams(wh_low), gco2_high=grams(wh_high),
        g_per_kwh=carbon.g_per_kwh, intensity_source=carbon.source,
        flops=int(trainer.state.flops_per_step) * total, checks=n_checks,
        check_share=(build_s + n_checks * check_s) / predicted if predicted > 0 else 0.0,
        estimated=record.estimated,
        probe={"steps": steps, "warmup": warmup, "step_seconds": step_s, "step_seconds_range": [low, high],
               "watts_stepping": watts, "check_seconds": check_s, "evaluator_build_seconds": build_s,
               "checkpoint_seconds": ckpt_s, "grid_seconds": grid_s, "seconds": probe_seconds,
               "wh": record.total.wh, "device": str(device)},
        made=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


def _total(trainer: Trainer, config: TrainConfig) -> int:
    return total_steps(config, trainer.stream.batches_per_epoch, trainer.family.batches_per_step)


__all__ = ["Prediction", "predict"]
