"""The run's bill during training: the energy tracker, earlier sessions' record, budgets, run.json.

With several processes (torchrun), each rank meters itself; rank 0 gathers the others' figures when it
is about to write (see callbacks.ShareBill) and the budgets are checked against the sum over ranks.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import torch

from ecogen.config import EnergyConfig
from ecogen.energy import ranks as rank_bills
from ecogen.energy import record as records
from ecogen.energy.calibrate import cached_peak
from ecogen.energy.carbon import resolve_intensity
from ecogen.energy.carbon_clock import CarbonClock
from ecogen.energy.intensity import read_series
from ecogen.energy.machine import contention, cpu_times, describe_machine
from ecogen.energy.tracker import EnergyReport, metered
from ecogen.rundir import RunDir
from ecogen.training.distributed import Distributed


class RunAccount:
    """Owns the EnergyTracker of one training session and turns it into run.json."""

    def __init__(self, config: EnergyConfig, run: RunDir, device: torch.device, previous: records.RunRecord | None,
                 precision: str = "fp32", dist: Distributed | None = None) -> None:
        self.dist = dist or Distributed()
        self.tracker = metered(config, device, self.dist.sharing(device))
        self.config, self.run, self.device, self.previous = config, run, device, previous
        # utilisation is against the peak of the precision the run computes in (bf16 runs: the bf16 peak)
        self.peak = cached_peak(device, "bfloat16" if precision == "bf16" else "float32")
        self.machine = describe_machine(device)
        self.cpu_start = cpu_times()  # for the steal share over this session
        self.own_start = (time.process_time(), time.perf_counter())  # this process's own busy threads
        self.quality: dict | None = None  # the quality target's record, set by the loop
        self.host = socket.gethostname()
        self.peers: list[dict] = []  # the other ranks' figures at the last gather (rank 0 only)
        self.clock: CarbonClock | None = None  # with an intensity file: grams by the hour the energy was used
        if config.intensity:
            yearly = resolve_intensity(config.country, config.carbon_intensity, config.pue)
            fallback = "yearly mean " + (f"({yearly.country}, {yearly.source})" if yearly.country else f"({yearly.source})")
            self.clock = CarbonClock(read_series(config.intensity, yearly.g_per_kwh, fallback), config.pue)
        self.plan: dict | None = None  # the prediction made before training, kept in run.json

    @property
    def budgets(self) -> dict[str, float | None]:
        return {"max_wh": self.config.max_wh, "max_gco2": self.config.max_gco2, "max_seconds": self.config.max_seconds}

    def _summary(self, refresh: bool = False) -> dict:
        return rank_bills.summary(self.tracker.report(refresh), self.dist.rank, self.host, str(self.device))

    def gather(self) -> None:
        """Every rank calls this together; rank 0 keeps the others' figures for the bill."""
        got = self.dist.gather(self._summary(refresh=True))
        if got is not None:
            self.peers = got[1:]

    def _own(self, refresh: bool = False) -> EnergyReport:
        """This process's report, its grams at the intensity of the hours it ran when a series is given."""
        own = self.tracker.report(refresh)
        if self.clock is None:
            return own
        self.clock.tick(own.total.joules)
        return replace(own, carbon=self.clock.effective(own.carbon))

    def tick(self) -> None:
        """Charge the energy since the last tick to the intensity of now (the loop calls it every step)."""
        if self.clock is not None:
            self.clock.tick(self.tracker.report().total.joules)

    def session_report(self, refresh: bool = False) -> EnergyReport:
        """This session's report; on rank 0 of several, with the other ranks' last gathered figures added."""
        own = self._own(refresh)
        return rank_bills.combine(own, self.peers) if self.peers else own

    def _with_earlier(self, wh: float, g: float, s: float) -> tuple[float, float, float]:
        """This session's (Wh, gCO2, seconds) plus the earlier sessions' from run.json."""
        if self.previous:
            return wh + self.previous.total.wh, g + self.previous.total.gco2, s + self.previous.total.seconds
        return wh, g, s

    def totals(self) -> tuple[float, float, float]:
        """(Wh, gCO2, seconds) over all sessions so far."""
        report = self.session_report()
        return self._with_earlier(report.wh(), report.gco2(), report.total.seconds)

    def phase_wh(self) -> dict[str, float]:
        """Wh per phase over all sessions so far."""
        report = self.session_report()
        phases = {name: report.wh(name) for name in report.phases}
        for name, phase in (self.previous.phases.items() if self.previous else ()):
            phases[name] = phases.get(name, 0.0) + phase.wh
        return phases

    def budget_reason(self) -> str | None:
        """The budget reached, if any: 'budget_wh', 'budget_gco2' or 'budget_seconds'. With several ranks
        every rank calls it at every step (energy is summed over them: a collective)."""
        if not any(v is not None for v in self.budgets.values()):
            return None
        own = self._own()
        wh, g, s = self._with_earlier(*self.dist.sum([own.wh(), own.gco2()]), own.total.seconds)
        checks = (("budget_wh", wh, self.config.max_wh), ("budget_gco2", g, self.config.max_gco2),
                  ("budget_seconds", s, self.config.max_seconds))
        return next((name for name, value, limit in checks if limit is not None and value >= limit), None)

    def _own_threads(self) -> float:
        """This process's CPU seconds per wall second since the session began: its share of the load."""
        cpu, wall = time.process_time() - self.own_start[0], time.perf_counter() - self.own_start[1]
        return cpu / wall if wall > 0 else 0.0

    def write(self, stop_reason: str, step: int, train_images: int) -> records.RunRecord:
        report = self.session_report(refresh=True)
        ranks = None
        if self.dist.enabled:
            ranks = rank_bills.rank_records(self.previous.ranks if self.previous else None,
                                            [self._summary(), *self.peers], report.carbon)
        world = self.dist.world_size
        record = records.build(
            self.previous,
            report,
            stop_reason=stop_reason,
            step=step,
            train_images=train_images,
            machine={**self.machine, "contention": contention(self.cpu_start, own=self._own_threads())},
            peak=self.peak * world if self.peak else None,  # every rank's device at its peak
            budgets=self.budgets,
            quality=self.quality,
            ranks=ranks,
            carbon_timeline=self.clock.timeline() if self.clock else None,
            plan=self.plan,
        )
        records.write(self.run.record, record)
        return record
