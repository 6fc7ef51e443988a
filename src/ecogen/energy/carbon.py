"""Grid carbon intensity: a bundled, versioned table by country, or a number the user gives."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ecogen.energy.units import CarbonIntensity
from ecogen.errors import ConfigError


@cache  # the bundled file never changes while the process runs
def grid_table() -> dict[str, Any]:
    return json.loads((resources.files("ecogen.energy") / "data" / "grid_intensity.json").read_text())


def resolve_intensity(country: str | None = None, g_per_kwh: float | None = None, pue: float = 1.0) -> CarbonIntensity:
    """An explicit intensity wins; else the country's table value; else the table's world mean."""
    if pue < 1.0:
        raise ConfigError(f"energy.pue: must be >= 1.0 (got {pue})")
    table = grid_table()
    if g_per_kwh is not None:
        if g_per_kwh < 0:
            raise ConfigError(f"energy.carbon_intensity: must be >= 0 (got {g_per_kwh})")
        return CarbonIntensity(g_per_kwh, pue, country, "user-given")
    if country is not None:
        row = table["countries"].get(country.upper())
        if row is None:
            raise ConfigError(f"unknown country {country!r}: use an ISO 3166 alpha-3 code such as FRA, DEU or USA")
        return CarbonIntensity(row["g_per_kwh"], pue, country.upper(), f"{table['version']} ({row['year']})")
    return CarbonIntensity(table["world"]["g_per_kwh"], pue, None, f"{table['version']} world mean")
