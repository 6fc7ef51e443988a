"""The sensor interface and registry. A sensor is a cumulative energy counter for one kind of hardware."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from ecogen.errors import EcogenError
from ecogen.registry import Registry


class SensorUnavailable(EcogenError):
    """This sensor cannot measure here (missing hardware, permission, package); the reason says why."""


class Sensor(Protocol):
    name: str
    domain: str  # cpu | gpu: what it measures; at most one sensor per domain is used
    estimated: bool  # True when the joules come from a model, not a counter
    min_interval: float  # seconds between reads worth their cost; the tracker shares energy by time in between

    def energy(self) -> float:
        """Joules since the sensor was opened."""
        ...

    def describe(self) -> dict[str, object]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SensorContext:
    """What a sensor may need to know; tests point ``powercap_root`` at a fake tree."""

    device: torch.device
    cpu_watts: float | None = None
    powercap_root: Path = Path("/sys/class/powercap")
    country: str | None = None
    share: int = 1  # processes of one run on this machine's cores (or this GPU): each meters its share of them


SensorFactory = Callable[[SensorContext], Sensor]
SENSORS: Registry[SensorFactory] = Registry("sensor")
# Tried in this order when sensors are chosen automatically, best first; one per domain.
AUTO_ORDER = {"cpu": ("rapl", "estimate"), "gpu": ("nvml",)}


def open_sensors(names: str, ctx: SensorContext) -> tuple[list[Sensor], list[str]]:
    """Open ``auto`` or a comma list of sensor names. Returns the sensors and one-line notices."""
    notices: list[str] = []
    if names != "auto":
        return [SENSORS.get(n.strip())(ctx) for n in names.split(",") if n.strip()], notices
    domains = ["cpu"] + (["gpu"] if ctx.device.type == "cuda" else [])
    sensors = []
    for domain in domains:
        for name in AUTO_ORDER[domain]:
            try:
                sensors.append(SENSORS.get(name)(ctx))
                break
            except SensorUnavailable as why:
                notices.append(f"sensor {name}: {why}")
    return sensors, notices
