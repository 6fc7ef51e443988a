"""The tracker feed: what the loop's callbacks produced at a step, sent to every tracker the run names
(``--log``), under one set of metric names (docs/trackers.md).

At the start: the resolved config, the recipe, the data and the machine as hyperparameters. At each log
line: losses, D outputs, images/s, utilisation against the measured peak, Wh, gCO2, mean W and Wh per
phase so far. At each quality check: its metrics with the Wh spent. At each grid: the image. After the
bill is written: the bill and the best check as the summary, and the artifacts the session hands over.
Only the writing process (rank 0) gets this callback. The ids a resume needs are kept in RUN/trackers.json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ecogen.base.atomic import write_json
from ecogen.config import to_dict
from ecogen.energy import record as records
from ecogen.errors import EcogenError
from ecogen.training.hooks import Hooks, LoopState, RunContext
from ecogen.training.trackers import Tracker, TrackerStart, open_tracker

log = logging.getLogger(__name__)

# log.jsonl's keys -> tracker names; a key not listed goes under train/ (a new family's losses show up too)
LINE_NAMES = {
    "loss_d": "loss/d", "loss_g": "loss/g", "loss": "loss/total", "recon": "loss/recon", "kl": "loss/kl",
    "d_real": "d/real", "d_fake": "d/fake", "epoch": "progress/epoch", "seconds": "progress/seconds",
    "images_per_s": "speed/images_per_s", "gflop_per_s": "speed/gflop_per_s", "peak_share": "util/peak_share",
    "wh": "energy/wh", "gco2": "co2/g",
}
QUALITY_SKIP = ("step", "seconds", "sampling_steps")  # a check's own keys that are not figures of quality


def line_scalars(line: dict[str, Any], phases: dict[str, float], train_images: int) -> dict[str, float]:
    """A log line as tracker scalars: its own values unchanged, with mean W, Wh per image and per phase."""
    values = {LINE_NAMES.get(k, f"train/{k}"): float(v) for k, v in line.items()
              if k != "step" and isinstance(v, (int, float))}
    if line.get("seconds"):
        values["energy/w"] = line["wh"] * 3600.0 / line["seconds"]
    if train_images:
        values["energy/wh_per_image"] = line["wh"] / train_images
    values.update({f"energy/phase/{name}": wh for name, wh in phases.items()})
    return values


def quality_scalars(check: dict[str, Any]) -> dict[str, float]:
    """A quality check as ``quality/METRIC`` with the Wh it was reached at (``quality/wh``, ``quality/wh_train``)."""
    return {f"quality/{k}": float(v) for k, v in check.items()
            if k not in QUALITY_SKIP and isinstance(v, (int, float))}


def hyperparameters(run: RunContext) -> dict[str, str | int | float | bool]:
    """The resolved config (dotted keys), the recipe, the data and the machine: what made this run."""
    flat: dict[str, str | int | float | bool] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
        else:
            key = prefix[:-1]
            flat[key] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)

    walk("", to_dict(run.config))
    machine = run.account.machine
    walk("machine.", {k: machine[k] for k in ("cpu_model", "logical_cores", "device", "torch_threads", "torch")})
    flat["machine.peak_gflops"] = round(run.account.peak / 1e9, 2) if run.account.peak else "unknown"
    flat["data.train_images"] = len(run.data.train.images)
    return flat


def bill_summary(record: records.RunRecord) -> dict[str, float | str]:
    summary: dict[str, float | str] = {
        "bill/wh": record.total.wh, "bill/gco2": record.total.gco2, "bill/seconds": record.total.seconds,
        "bill/flops": float(record.total.flops), "bill/estimated": str(record.estimated),
        "bill/stop_reason": record.stop_reason,
    }
    summary.update({f"bill/phase/{name}": phase.wh for name, phase in record.phases.items()})
    best = (record.quality or {}).get("best") if isinstance(record.quality, dict) else None
    if isinstance(best, dict):
        summary.update({f"best/{k}": v for k, v in best.items() if isinstance(v, (int, float))})
    return summary


class Tracking(Hooks):
    """Feeds the run's trackers. ``artifacts(run folder)`` gives the files to attach once the bill is
    written (the session hands over the report page and the best checkpoint)."""

    writes = True

    def __init__(self, specs: Sequence[str], artifacts: Callable[[Path], list[Path]] | None = None) -> None:
        self.specs = list(specs)
        self.artifacts = artifacts
        self.trackers: dict[str, Tracker] | None = None

    def _state_file(self, run: RunContext) -> Path:
        return run.run_dir.root / "trackers.json"

    def open(self, state: LoopState, run: RunContext) -> None:
        path = self._state_file(run)
        try:
            saved = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            log.warning(f"notice: {path} is damaged; the trackers start new runs")
            saved = {}
        saved = saved if isinstance(saved, dict) else {}
        self.trackers = {}
        params = hyperparameters(run)
        for spec in self.specs:
            name = spec.partition(":")[0]
            start = TrackerStart(run.run_dir.root, run.run_dir.root.resolve().name, state.step,
                                 saved.get(name) if isinstance(saved.get(name), dict) else {})
            try:
                tracker = open_tracker(spec, start)
                if not tracker.continued:  # a continued tracker run has its hyperparameters already
                    tracker.params(params)
            except Exception as err:  # the library's own error (a bad URI, no network): one line, the others closed
                for opened in self.trackers.values():
                    opened.close(ok=False)
                self.trackers = {}
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise EcogenError(f"--log {spec}: the tracker could not start: {first}") from None
            self.trackers[name] = tracker
        write_json(path, {**saved, **{name: t.state for name, t in self.trackers.items()}})

    def _each(self, call: Callable[[Tracker], None]) -> None:
        for tracker in (self.trackers or {}).values():
            call(tracker)

    def before_step(self, state: LoopState, run: RunContext) -> str | None:
        if self.trackers is None:
            self.open(state, run)
        return None

    def _publish(self, state: LoopState, run: RunContext) -> None:
        news = state.published
        if "log" in news:
            phases = run.account.phase_wh()
            values = line_scalars(news["log"], phases, state.train_images)
            self._each(lambda t: t.scalars(values, state.step))
        if "quality" in news:
            values = quality_scalars(news["quality"])
            self._each(lambda t: t.scalars(values, state.step))
        if "grid" in news:
            self._each(lambda t: t.image("samples", news["grid"], state.step))

    def after_step(self, state: LoopState, run: RunContext) -> str | None:
        self._publish(state, run)
        return None

    def at_end(self, state: LoopState, run: RunContext, stop_reason: str) -> None:
        if self.trackers is None:  # a run that was already at its end opens nothing
            return
        self._publish(state, run)

    def after_record(self, state: LoopState, run: RunContext, record: records.RunRecord) -> None:
        if self.trackers is None:
            return
        summary = bill_summary(record)
        files = self.artifacts(run.run_dir.root) if self.artifacts and any(
            t.takes_artifacts for t in self.trackers.values()) else []
        for tracker in self.trackers.values():
            tracker.summary(summary)
            if tracker.takes_artifacts:
                for path in files:
                    tracker.artifact(path)
            tracker.close(ok=record.stop_reason not in ("diverged", "collapsed"))
        self.trackers = {}
