"""Energy, carbon and FLOPs: sensors -> tracker (phases) -> report; units are types."""

from ecogen.energy.carbon import grid_table, resolve_intensity
from ecogen.energy.flops import count_flops
from ecogen.energy.sensors import SENSORS, SensorUnavailable
from ecogen.energy.tracker import EnergyReport, EnergyTracker, PhaseTotals, metered
from ecogen.energy.units import CarbonIntensity, Emissions, Energy

__all__ = [
    "SENSORS",
    "CarbonIntensity",
    "Emissions",
    "Energy",
    "EnergyReport",
    "EnergyTracker",
    "PhaseTotals",
    "SensorUnavailable",
    "count_flops",
    "grid_table",
    "metered",
    "resolve_intensity",
]
