"""run.json: the run's bill, schema-versioned with pydantic, rewritten atomically at every checkpoint.

A resumed run adds its session to the totals already recorded, so the bill covers every session.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ecogen.base import atomic
from ecogen.energy.ranks import RankRecord
from ecogen.energy.tracker import EnergyReport
from ecogen.energy.units import J_PER_WH
from ecogen.errors import CheckpointError

SCHEMA_VERSION = 1
# Phases that are not training: the quality checks and the sample grids. A run's training energy (eval.jsonl's
# wh_train, the benchmarks' budgets and tables) is its total less these, wherever it is counted.
NOT_TRAINING = ("eval", "sample")


def training_wh(phase_wh: dict[str, float]) -> float:
    """The training energy of a bill given as Wh per phase."""
    return sum(wh for name, wh in phase_wh.items() if name not in NOT_TRAINING)


class PhaseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.0
    wh: float = 0.0
    gco2: float = 0.0
    flops: int = 0
    flops_per_s: float | None = None
    utilization: float | None = None  # achieved FLOP/s / calibrated peak

    def plus(self, other: PhaseRecord, peak: float | None) -> PhaseRecord:
        return PhaseRecord.of(self.seconds + other.seconds, self.wh + other.wh, self.gco2 + other.gco2,
                              self.flops + other.flops, peak)

    @classmethod
    def of(cls, seconds: float, wh: float, gco2: float, flops: int, peak: float | None) -> PhaseRecord:
        rate = flops / seconds if seconds > 0 and flops else None
        return cls(seconds=seconds, wh=wh, gco2=gco2, flops=flops, flops_per_s=rate,
                   utilization=rate / peak if rate and peak else None)


class CarbonRecord(BaseModel):
    g_per_kwh: float
    pue: float
    country: str | None
    source: str


class RunRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = SCHEMA_VERSION
    created: str
    updated: str
    sessions: int
    stop_reason: str
    step: int
    train_images: int  # real images the discriminator (or encoder) has processed
    machine: dict[str, Any]
    sensors: list[dict[str, Any]]
    estimated: bool
    carbon: CarbonRecord
    peak_flops: float | None
    budgets: dict[str, float | None]
    phases: dict[str, PhaseRecord]
    total: PhaseRecord
    wh_per_train_image: float | None
    quality: dict[str, Any] | None = None  # quality target: metric, target, best check, when it was reached
    notices: list[str] = []
    world_size: int = 1  # processes that trained it (torchrun); with several, their own figures:
    ranks: list[RankRecord] | None = None  # each rank's seconds, Wh, gCO2, FLOPs; ``total`` is their sum
    carbon_timeline: list[dict[str, Any]] | None = None  # with --intensity: which intensity applied when
    plan: dict[str, Any] | None = None  # the prediction (and schedule) made before training, to set against this

    @property
    def training_wh(self) -> float:
        return training_wh({name: phase.wh for name, phase in self.phases.items()})


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def session_phases(report: EnergyReport, peak: float | None) -> dict[str, PhaseRecord]:
    return {
        name: PhaseRecord.of(t.seconds, t.joules / J_PER_WH, report.gco2(name), t.flops, peak)
        for name, t in report.phases.items()
    }


def build(
    previous: RunRecord | None,
    report: EnergyReport,
    *,
    stop_reason: str,
    step: int,
    train_images: int,
    machine: dict[str, Any],
    peak: float | None,
    budgets: dict[str, float | None],
    quality: dict[str, Any] | None = None,
    ranks: list[RankRecord] | None = None,
    carbon_timeline: list[dict[str, Any]] | None = None,
    plan: dict[str, Any] | None = None,
) -> RunRecord:
    """The earlier sessions' record plus this session's report."""
    phases = dict(previous.phases) if previous else {}
    for name, rec in session_phases(report, peak).items():
        phases[name] = phases[name].plus(rec, peak) if name in phases else rec
    total = PhaseRecord()
    for rec in phases.values():
        total = total.plus(rec, peak)
    sensors = {(s["name"], s.get("rank")): s for s in (previous.sensors if previous else [])}
    sensors.update({(s["name"], s.get("rank")): s for s in report.sensors})
    return RunRecord(
        created=previous.created if previous else now(),
        updated=now(),
        sessions=(previous.sessions if previous else 0) + 1,
        stop_reason=stop_reason,
        step=step,
        train_images=train_images,
        machine=machine,
        sensors=list(sensors.values()),
        estimated=any(s["estimated"] for s in sensors.values()),
        carbon=CarbonRecord(g_per_kwh=report.carbon.g_per_kwh, pue=report.carbon.pue,
                            country=report.carbon.country, source=report.carbon.source),
        peak_flops=peak,
        budgets=budgets,
        phases=phases,
        total=total,
        wh_per_train_image=total.wh / train_images if train_images else None,
        quality=quality if quality is not None else (previous.quality if previous else None),
        notices=sorted(set((previous.notices if previous else []) + report.notices)),
        world_size=len(ranks) if ranks else 1,
        ranks=ranks,
        carbon_timeline=((previous.carbon_timeline or []) if previous else []) + carbon_timeline
        if carbon_timeline else (previous.carbon_timeline if previous else None),
        plan=plan if plan is not None else (previous.plan if previous else None),
    )


def write(path: Path, record: RunRecord) -> None:
    atomic.write_text(path, record.model_dump_json(indent=2) + "\n")


def read(path: Path) -> RunRecord:
    try:
        return RunRecord.model_validate(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"no run record at {path}") from None
    except (OSError, ValueError, ValidationError) as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f"{path}: not a valid ecogen run record ({first})") from None


def add_phase(path: Path, name: str, report: EnergyReport) -> RunRecord:
    """Add work done outside training (``ecogen eval``) to the run's bill as its own phase."""
    record = read(path)
    rec = session_phases(report, record.peak_flops).get(name)
    if rec is None:
        return record
    phases = dict(record.phases)
    phases[name] = phases[name].plus(rec, record.peak_flops) if name in phases else rec
    total = record.total.plus(rec, record.peak_flops)
    record = record.model_copy(update={"phases": phases, "total": total, "updated": now(),
                                       "wh_per_train_image": total.wh / record.train_images if record.train_images else None})
    write(path, record)
    return record
