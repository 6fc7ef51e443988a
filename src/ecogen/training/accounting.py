"""The run's bill during training: the energy tracker, earlier sessions' record, budgets, run.json."""

from __future__ import annotations

from ecogen.config import EnergyConfig
from ecogen.energy.calibrate import cached_peak
from ecogen.energy.machine import contention, cpu_times, describe_machine
from ecogen.energy.tracker import metered
from ecogen.energy import record as records
from ecogen.rundir import RunDir

import torch


class RunAccount:
    """Owns the EnergyTracker of one training session and turns it into run.json."""

    def __init__(self, config: EnergyConfig, run: RunDir, device: torch.device, previous: records.RunRecord | None,
                 precision: str = "fp32") -> None:
        self.tracker = metered(config, device)
        self.config, self.run, self.device, self.previous = config, run, device, previous
        # utilisation is against the peak of the precision the run computes in (bf16 runs: the bf16 peak)
        self.peak = cached_peak(device, "bfloat16" if precision == "bf16" else "float32")
        self.machine = describe_machine(device)
        self.cpu_start = cpu_times()  # for the steal share over this session
        self.quality: dict | None = None  # the quality target's record, set by the loop

    @property
    def budgets(self) -> dict[str, float | None]:
        return {"max_wh": self.config.max_wh, "max_gco2": self.config.max_gco2, "max_seconds": self.config.max_seconds}

    def totals(self) -> tuple[float, float, float]:
        """(Wh, gCO2, seconds) over all sessions so far."""
        report = self.tracker.report()
        total = report.total
        wh, g, s = report.wh(), report.gco2(), total.seconds
        if self.previous:
            wh, g, s = wh + self.previous.total.wh, g + self.previous.total.gco2, s + self.previous.total.seconds
        return wh, g, s

    def budget_reason(self) -> str | None:
        """The budget reached, if any: 'budget_wh', 'budget_gco2' or 'budget_seconds'."""
        if not any(v is not None for v in self.budgets.values()):
            return None
        wh, g, s = self.totals()
        checks = (("budget_wh", wh, self.config.max_wh), ("budget_gco2", g, self.config.max_gco2),
                  ("budget_seconds", s, self.config.max_seconds))
        return next((name for name, value, limit in checks if limit is not None and value >= limit), None)

    def write(self, stop_reason: str, step: int, train_images: int) -> records.RunRecord:
        record = records.build(
            self.previous,
            self.tracker.report(refresh=True),
            stop_reason=stop_reason,
            step=step,
            train_images=train_images,
            machine={**self.machine, "contention": contention(self.cpu_start)},
            peak=self.peak,
            budgets=self.budgets,
            quality=self.quality,
        )
        records.write(self.run.record, record)
        return record
