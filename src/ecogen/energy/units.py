"""Units as types: energy, emissions and grid carbon intensity never travel as bare floats."""

from __future__ import annotations

from dataclasses import dataclass

J_PER_WH = 3600.0


@dataclass(frozen=True, order=True)
class Energy:
    joules: float = 0.0

    @classmethod
    def from_wh(cls, wh: float) -> Energy:
        return cls(wh * J_PER_WH)

    @property
    def wh(self) -> float:
        return self.joules / J_PER_WH

    @property
    def kwh(self) -> float:
        return self.joules / (1000 * J_PER_WH)

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.joules + other.joules)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.joules - other.joules)


@dataclass(frozen=True)
class Emissions:
    grams: float = 0.0  # gCO2-equivalent


@dataclass(frozen=True)
class CarbonIntensity:
    """Grid intensity (gCO2eq per kWh drawn at the plug) and the data centre's PUE."""

    g_per_kwh: float
    pue: float = 1.0
    country: str | None = None  # ISO 3166 alpha-3, when the intensity came from the table
    source: str = "user-given"

    def emissions(self, energy: Energy) -> Emissions:
        """gCO2eq = kWh x grid intensity x PUE."""
        return Emissions(energy.kwh * self.g_per_kwh * self.pue)

    def grams_for_wh(self, wh: float) -> float:
        """The same rule for a bare Wh figure (a prediction, a range's ends)."""
        return self.emissions(Energy.from_wh(wh)).grams
