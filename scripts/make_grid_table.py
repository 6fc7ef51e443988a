"""Regenerate src/ecogen/energy/data/grid_intensity.json from CodeCarbon's bundled energy-mix table.

CodeCarbon ships Our World in Data's per-country electricity data (built from Ember and the Energy
Institute) as global_energy_mix.json. We keep only the carbon intensity, its year and the generation
(for the generation-weighted world mean). Run: python scripts/make_grid_table.py (needs codecarbon).
"""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "ecogen" / "energy" / "data" / "grid_intensity.json"


def main() -> None:
    source = resources.files("codecarbon") / "data" / "private_infra" / "global_energy_mix.json"
    mix = json.loads(source.read_text())
    countries = {
        code: {"name": row["country_name"], "g_per_kwh": round(float(row["carbon_intensity"]), 3), "year": row["year"]}
        for code, row in sorted(mix.items())
        if row.get("carbon_intensity") is not None and len(code) == 3
    }
    weight = {code: float(mix[code].get("total_TWh") or 0.0) for code in countries}
    world = sum(countries[c]["g_per_kwh"] * weight[c] for c in countries) / sum(weight.values())
    table = {
        "version": f"codecarbon-{metadata.version('codecarbon')}",
        "unit": "gCO2eq/kWh",
        "source": "Our World in Data electricity data (Ember, Energy Institute), as bundled in CodeCarbon "
        f"{metadata.version('codecarbon')} (data/private_infra/global_energy_mix.json); average intensity "
        "of each country's electricity generation in the year given",
        "world": {"g_per_kwh": round(world, 3), "note": "generation-weighted mean of the countries below"},
        "countries": countries,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {OUT}: {len(countries)} countries, world mean {world:.1f} g/kWh")


if __name__ == "__main__":
    main()
