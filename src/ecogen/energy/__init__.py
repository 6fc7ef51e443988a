"""Energy, carbon and FLOPs: sensors -> tracker (phases) -> report; units are types.

Names load on first use (PEP 562), so the CLI can read ``energy.machine`` without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecogen.base.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "grid_table": "ecogen.energy.carbon",
    "resolve_intensity": "ecogen.energy.carbon",
    "count_flops": "ecogen.energy.flops",
    "SENSORS": "ecogen.energy.sensors",
    "SensorUnavailable": "ecogen.energy.sensors",
    "EnergyReport": "ecogen.energy.tracker",
    "EnergyTracker": "ecogen.energy.tracker",
    "PhaseTotals": "ecogen.energy.tracker",
    "metered": "ecogen.energy.tracker",
    "CarbonIntensity": "ecogen.energy.units",
    "Emissions": "ecogen.energy.units",
    "Energy": "ecogen.energy.units",
})
__all__ = __dir__()

if TYPE_CHECKING:
    from ecogen.energy.carbon import grid_table, resolve_intensity
    from ecogen.energy.flops import count_flops
    from ecogen.energy.sensors import SENSORS, SensorUnavailable
    from ecogen.energy.tracker import EnergyReport, EnergyTracker, PhaseTotals, metered
    from ecogen.energy.units import CarbonIntensity, Emissions, Energy
