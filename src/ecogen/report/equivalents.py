"""Everyday equivalents of a run's carbon, each with the source of its factor.

Both factors are tailpipe CO2 from the US EPA's fact sheet "Tailpipe Greenhouse Gas Emissions from a
Typical Passenger Vehicle" (EPA-420-F-23-014, June 2023): 8,887 g of CO2 per gallon of gasoline burned,
and about 400 g of CO2 per mile for a typical passenger vehicle.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = ("US EPA, Tailpipe Greenhouse Gas Emissions from a Typical Passenger Vehicle, EPA-420-F-23-014 "
          "(June 2023)")
LITRES_PER_US_GALLON = 3.785411784
METRES_PER_MILE = 1609.344


@dataclass(frozen=True)
class Equivalent:
    what: str
    amount: float
    unit: str
    factor: str
    source: str = SOURCE


def equivalents(gco2: float) -> list[Equivalent]:
    """What ``gco2`` grams of CO2 would also come from."""
    g_per_ml = 8887.0 / (LITRES_PER_US_GALLON * 1000.0)
    g_per_m = 400.0 / METRES_PER_MILE
    return [
        Equivalent("gasoline burned", gco2 / g_per_ml, "mL", "8,887 g CO2 per US gallon"),
        Equivalent("driven by a typical passenger car", gco2 / g_per_m, "m", "about 400 g CO2 per mile"),
    ]
