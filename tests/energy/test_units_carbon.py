import pytest

from ecogen.energy import CarbonIntensity, Energy, grid_table, resolve_intensity
from ecogen.errors import ConfigError


def test_energy_units():
    e = Energy.from_wh(2.5)
    assert e.joules == 9000 and e.kwh == pytest.approx(0.0025)
    assert (e + Energy(3600)).wh == pytest.approx(3.5) and (e - Energy(1800)).wh == pytest.approx(2.0)


def test_carbon_is_kwh_times_intensity_times_pue():
    carbon = CarbonIntensity(g_per_kwh=400.0, pue=1.5)
    assert carbon.emissions(Energy.from_wh(500)).grams == pytest.approx(0.5 * 400 * 1.5)


def test_country_table_is_versioned_with_source():
    table = grid_table()
    assert table["version"] and "Our World in Data" in table["source"] and table["unit"] == "gCO2eq/kWh"
    assert len(table["countries"]) > 150
    fra = resolve_intensity("fra")
    assert fra.country == "FRA" and fra.g_per_kwh == table["countries"]["FRA"]["g_per_kwh"]
    assert str(table["countries"]["FRA"]["year"]) in fra.source


def test_explicit_intensity_wins_and_world_mean_is_the_default():
    assert resolve_intensity("FRA", 123.0, 1.2) == CarbonIntensity(123.0, 1.2, "FRA", "user-given")
    world = resolve_intensity()
    assert world.country is None and world.g_per_kwh == grid_table()["world"]["g_per_kwh"]


def test_bad_carbon_settings():
    with pytest.raises(ConfigError, match="unknown country 'ATL'"):
        resolve_intensity("ATL")
    with pytest.raises(ConfigError, match="pue"):
        resolve_intensity(pue=0.5)
