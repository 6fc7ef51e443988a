"""Delegate to CodeCarbon's offline tracker (optional extra ``ecogen[codecarbon]``).

CodeCarbon exposes no public cumulative-energy reading, so this reads ``_total_energy`` after asking it
to measure; both exist in the pinned CodeCarbon 3.3.2, and their absence disables the sensor cleanly.
"""

from __future__ import annotations

import logging

from ecogen.energy.sensors.base import SENSORS, SensorContext, SensorUnavailable


class CodeCarbonSensor:
    name = "codecarbon"
    domain = "cpu"  # it covers CPU, RAM and (when present) GPU; used instead of rapl/estimate
    estimated = True  # on machines without RAPL it models power from CPU load and TDP
    min_interval = 1.0  # each measurement polls hardware and psutil

    def __init__(self, ctx: SensorContext) -> None:
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            raise SensorUnavailable("codecarbon is not installed (pip install 'ecogen[codecarbon]')") from None
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self.tracker = OfflineEmissionsTracker(
            country_iso_code=ctx.country or "USA", output_methods=[], log_level="error", measure_power_secs=1
        )
        if not hasattr(self.tracker, "_measure_power_and_energy") or not hasattr(self.tracker, "_total_energy"):
            raise SensorUnavailable("this CodeCarbon version has no readable energy total")
        self.tracker.start()
        self.share = max(ctx.share, 1)  # it sees the whole machine: ranks of one run each count their share

    def energy(self) -> float:
        self.tracker._measure_power_and_energy()
        return float(self.tracker._total_energy.kWh) * 3.6e6 / self.share

    def describe(self) -> dict[str, object]:
        return {"delegate": "codecarbon.OfflineEmissionsTracker", "scope": "CPU, RAM and GPU as CodeCarbon sees them"}

    def close(self) -> None:
        self.tracker.stop()


SENSORS.add("codecarbon", CodeCarbonSensor)
