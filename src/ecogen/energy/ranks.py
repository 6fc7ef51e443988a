"""One bill for several processes: each rank meters its own process (and GPU), rank 0 adds them up.

A phase's seconds are rank 0's wall clock (the ranks step in lockstep, so that is the run's time); its
joules and FLOPs are the sums over ranks. run.json keeps every rank's own figures next to the sum.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ecogen.energy.tracker import EnergyReport, PhaseTotals
from ecogen.energy.units import J_PER_WH, CarbonIntensity, Energy


class RankRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: int
    host: str
    device: str
    seconds: float = 0.0
    wh: float = 0.0
    gco2: float = 0.0
    flops: int = 0
    sensors: list[dict[str, Any]] = []


def summary(report: EnergyReport, rank: int, host: str, device: str) -> dict[str, Any]:
    """What a rank sends to rank 0: plain numbers, nothing else."""
    return {
        "rank": rank, "host": host, "device": device,
        "phases": {name: [t.seconds, t.joules, t.flops] for name, t in report.phases.items()},
        "sensors": [{**s, "rank": rank} for s in report.sensors],
        "notices": list(report.notices),
    }


def combine(own: EnergyReport, peers: list[dict[str, Any]]) -> EnergyReport:
    """Rank 0's report with the other ranks' joules and FLOPs added, phase by phase (seconds stay rank 0's)."""
    phases = {name: PhaseTotals(t.seconds, t.joules, t.flops) for name, t in own.phases.items()}
    sensors = [{**s, "rank": 0} for s in own.sensors]
    notices = list(own.notices)
    for peer in peers:
        for name, (_seconds, joules, flops) in peer["phases"].items():
            totals = phases.setdefault(name, PhaseTotals())
            totals.joules += joules
            totals.flops += int(flops)
        sensors += peer["sensors"]
        notices += [n for n in peer["notices"] if n not in notices]
    return EnergyReport(phases, sensors, own.carbon, notices)


def rank_records(previous: list[RankRecord] | None, summaries: list[dict[str, Any]],
                 carbon: CarbonIntensity) -> list[RankRecord]:
    """Each rank's total over all sessions: earlier sessions' figures plus this session's."""
    by_rank = {r.rank: r for r in previous or []}
    out = []
    for s in summaries:
        seconds = sum(p[0] for p in s["phases"].values())
        joules = sum(p[1] for p in s["phases"].values())
        flops = sum(int(p[2]) for p in s["phases"].values())
        before = by_rank.get(s["rank"])
        out.append(RankRecord(
            rank=s["rank"], host=s["host"], device=s["device"],
            seconds=seconds + (before.seconds if before else 0.0),
            wh=joules / J_PER_WH + (before.wh if before else 0.0),
            gco2=carbon.emissions(Energy(joules)).grams + (before.gco2 if before else 0.0),
            flops=flops + (before.flops if before else 0),
            sensors=s["sensors"],
        ))
    return sorted(out, key=lambda r: r.rank)
