"""Carbon-aware runs: intensity files (CSV and the Carbon Aware SDK's JSON), gCO2 integrated over time,
the cleanest window before a deadline, the plan before a run and the plan against the actual after it."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from conftest import run_cli
from ecogen.energy.carbon_clock import CarbonClock
from ecogen.energy.intensity import format_time, read_series
from ecogen.energy.windows import best_window
from ecogen.errors import ConfigError
from ecogen.session.planning import Cancelled, wait_until

HOUR = 3600.0
TINY = ["--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "16", "--batch-size", "16",
        "--device", "cpu"]


def write_csv(path: Path, start: float, values: list[float], step: float = HOUR) -> Path:
    rows = ["time,gco2_per_kwh"] + [f"{format_time(start + i * step)},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(rows) + "\n")
    return path


def hour_floor(t: float) -> float:
    return t - t % HOUR


# -- reading intensity files ---------------------------------------------------------------------------
def test_csv_rows_last_until_the_next_and_a_long_silence_is_a_gap(tmp_path):
    t0 = 1_800_000_000.0
    path = tmp_path / "grid.csv"
    hours = [(0, 100), (1, 150), (2, 200), (6, 300)]  # hourly, then 3 h of silence
    path.write_text("time,gco2_per_kwh\n" + "".join(f"{format_time(t0 + h * HOUR)},{v}\n" for h, v in hours))
    series = read_series(path, 450.0, "yearly mean")
    assert [(iv.start - t0, iv.end - t0, iv.g_per_kwh) for iv in series.intervals] == [
        (0, HOUR, 100), (HOUR, 2 * HOUR, 150), (2 * HOUR, 3 * HOUR, 200), (6 * HOUR, 7 * HOUR, 300)]  # a gap, not 200
    sources = [(s.start - t0, s.source) for s in series.segments(t0 - HOUR, t0 + 8 * HOUR)]
    assert sources == [(-HOUR, "yearly mean"), (0, "grid.csv"), (HOUR, "grid.csv"), (2 * HOUR, "grid.csv"),
                       (3 * HOUR, "yearly mean"), (6 * HOUR, "grid.csv"), (7 * HOUR, "yearly mean")]
    assert series.mean(t0 + 2.5 * HOUR, t0 + 3.5 * HOUR) == pytest.approx((200 + 450) / 2)
    assert series.covered(t0, t0 + 4 * HOUR) == pytest.approx(0.75)


def test_carbon_aware_sdk_records_are_read_with_their_durations(tmp_path):
    path = tmp_path / "sdk.json"
    path.write_text(json.dumps([
        {"Location": "eastus", "Time": "2026-11-28T00:00:00+00:00", "Rating": 300.5, "Duration": "00:30:00"},
        {"location": "eastus", "time": "2026-11-28T00:30:00Z", "rating": 120, "duration": 30},
    ]))
    series = read_series(path, 400.0, "fallback")
    assert [iv.end - iv.start for iv in series.intervals] == [1800, 1800]
    assert series.mean(series.start, series.end) == pytest.approx((300.5 + 120) / 2)
    wrapped = tmp_path / "forecast.json"  # the SDK's forecast response wraps the records
    wrapped.write_text(json.dumps([{"location": "eastus", "forecastData": [
        {"location": "eastus", "timestamp": "2026-11-28T00:00:00Z", "duration": 5, "value": 80}]}]))
    assert read_series(wrapped, 400.0, "fallback").intervals[0].g_per_kwh == 80


@pytest.mark.parametrize("content, message", [
    ("time,gco2_per_kwh\n2026-11-28T01:00Z,100\n2026-11-28T00:00Z,90\n", "line 3: its time is not after"),
    ("time,gco2_per_kwh\n2026-11-28T01:00Z,100\n2026-11-28T01:00Z,90\n", "line 3: its time is not after"),
    ("when,value\n2026-11-28T01:00Z,100\n", "header 'time,gco2_per_kwh'"),
    ("time,gco2_per_kwh\nyesterday,100\n", "not an ISO 8601 time"),
    ("time,gco2_per_kwh\n2026-11-28T01:00Z,-5\n", "finite number >= 0"),
    ("time,gco2_per_kwh\n", "holds no intensity values"),
    ('[{"Time": "2026-11-28T01:00Z"}]', "needs Time and Rating"),
    ('[{"Time": "2026-11-28T01:00Z", "Rating": 1, "Duration": "half an hour"}]', "HH:MM:SS"),
])
def test_a_broken_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_series(path, 400.0, "fallback")


# -- the window ----------------------------------------------------------------------------------------
def test_the_cleanest_window_before_the_deadline_is_chosen(tmp_path):
    now = hour_floor(time.time()) + 60
    start = hour_floor(now)
    values = [400, 380, 350, 90, 80, 300, 40, 30, 20]  # the cleanest two hours are 7-9 h ahead
    series = read_series(write_csv(tmp_path / "f.csv", start, values), 500.0, "fallback")
    best, at_now = best_window(series, 2 * HOUR, now, deadline=start + 9 * HOUR)
    assert best.start == start + 7 * HOUR and best.mean_g_per_kwh == pytest.approx(25)
    assert at_now.start == now and at_now.mean_g_per_kwh > 300
    # a deadline 6 h ahead rules those out: the 3-5 h window (90, 80) wins, and the window ends in time
    best, _ = best_window(series, 2 * HOUR, now, deadline=start + 6 * HOUR)
    assert best.start == start + 3 * HOUR and best.end <= start + 6 * HOUR


def test_windows_that_cannot_work_are_refused(tmp_path):
    now = time.time()
    series = read_series(write_csv(tmp_path / "f.csv", now + 10 * HOUR, [100, 100]), 500.0, "fallback")
    with pytest.raises(ConfigError, match="no data between now"):
        best_window(series, 600, now, deadline=now + 5 * HOUR)
    with pytest.raises(ConfigError, match="not in the future"):
        best_window(series, 600, now, deadline=now - 60)
    with pytest.raises(ConfigError, match="cannot end before the deadline"):
        best_window(series, 3 * HOUR, now, deadline=now + HOUR)


def test_gco2_is_energy_times_the_intensity_of_its_own_interval(tmp_path):
    t0 = 1_800_000_000.0
    series = read_series(write_csv(tmp_path / "f.csv", t0, [100, 300]), 500.0, "yearly mean")
    now = [t0 + 0.5 * HOUR]
    clock = CarbonClock(series, pue=1.0, clock=lambda: now[0])
    now[0] = t0 + 1.5 * HOUR  # 3.6 MJ = 1 kWh over an hour: half at 100 g/kWh, half at 300
    clock.tick(3.6e6)
    assert clock.grams() == pytest.approx(0.5 * 100 + 0.5 * 300)
    now[0] = t0 + 2.5 * HOUR  # past the file: the fallback
    clock.tick(2 * 3.6e6)
    assert clock.grams() == pytest.approx(200 + 0.5 * 300 + 0.5 * 500)
    assert [p["source"] for p in clock.timeline()] == ["f.csv", "f.csv", "yearly mean"]


def test_waiting_counts_down_and_ctrl_c_cancels():
    t = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        t[0] += s

    wait_until(3.5, progress=False, clock=lambda: t[0], sleep=sleep)
    assert sum(slept) == pytest.approx(3.5) and t[0] >= 3.5

    def interrupted(_s):
        raise KeyboardInterrupt

    with pytest.raises(Cancelled, match="nothing was trained"):
        wait_until(10.0, progress=False, clock=lambda: 0.0, sleep=interrupted)


# -- through the CLI -----------------------------------------------------------------------------------
def test_plan_then_train_then_energy_shows_the_prediction_against_the_actual(tmp_path):
    out = tmp_path / "run"
    planned = run_cli("plan", *TINY, "--steps", "40", "--eval-every", "20", "--eval-n", "64", "--out", str(out),
                      "--json", "--probe-steps", "8")
    assert planned.returncode == 0, planned.stderr
    p = json.loads(planned.stdout)["prediction"]
    assert p["steps"] == 40 and p["checks"] == 2 and 0 < p["check_share"] < 1
    assert p["seconds_low"] <= p["seconds"] <= p["seconds_high"] and p["wh_low"] <= p["wh"] <= p["wh_high"]
    assert p["flops"] > 0 and p["gco2"] == pytest.approx(p["wh"] * p["g_per_kwh"] / 1000)
    assert (out / "plan.json").is_file() and not (out / "config.yaml").exists()  # planned, not started
    trained = run_cli("train", *TINY, "--steps", "40", "--eval-every", "20", "--eval-n", "64", "--out", str(out),
                      "--quiet")
    assert trained.returncode == 0, trained.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["plan"]["prediction"]["steps"] == 40
    shown = run_cli("energy", str(out))
    assert "predicted energy" in shown.stdout and "actual" in shown.stdout


def test_training_against_an_intensity_file_bills_each_interval(tmp_path):
    now = time.time()
    grid = write_csv(tmp_path / "grid.csv", hour_floor(now) - HOUR, [200, 200, 200, 200])
    out = tmp_path / "run"
    trained = run_cli("train", *TINY, "--steps", "6", "--intensity", str(grid), "--out", str(out), "--quiet")
    assert trained.returncode == 0, trained.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["carbon"]["g_per_kwh"] == pytest.approx(200) and "grid.csv" in record["carbon"]["source"]
    timeline = record["carbon_timeline"]
    assert timeline and all(part["source"] == "grid.csv" for part in timeline)
    assert sum(p["gco2"] for p in timeline) == pytest.approx(record["total"]["gco2"], rel=0.05)


def test_dry_run_picks_the_known_best_window_and_writes_nothing(tmp_path):
    start = hour_floor(time.time())
    forecast = write_csv(tmp_path / "f.csv", start, [500, 450, 400, 60, 420, 480, 500, 500])
    deadline = format_time(start + 7 * HOUR)
    out = tmp_path / "run"
    planned = run_cli("train", *TINY, "--steps", "10", "--forecast", str(forecast), "--deadline", deadline,
                      "--start", "auto", "--dry-run", "--json", "--out", str(out))
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["start"] == format_time(start + 3 * HOUR)  # the 60 g/kWh hour (the run fits inside it)
    assert plan["window_g_per_kwh"] == pytest.approx(60)
    assert plan["saving_g"] > 0 and plan["gco2_now"] > plan["prediction"]["gco2"]
    assert not out.exists()


def test_a_schedule_that_starts_now_trains_and_records_the_plan_which_a_resume_keeps(tmp_path):
    start = hour_floor(time.time())
    forecast = write_csv(tmp_path / "f.csv", start - HOUR, [300, 50, 300, 300, 300])  # now is the cleanest
    out = tmp_path / "run"
    trained = run_cli("train", *TINY, "--steps", "4", "--forecast", str(forecast), "--deadline",
                      format_time(start + 3 * HOUR), "--start", "auto", "--out", str(out), "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "start:" in trained.stderr and "saving" in trained.stderr
    first = json.loads((out / "run.json").read_text())
    assert first["plan"]["start"] is not None and first["carbon_timeline"]
    resumed = run_cli("train", "--resume", str(out), "--steps", "8", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    second = json.loads((out / "run.json").read_text())
    assert second["plan"] == first["plan"] and second["sessions"] == 2
    assert len(second["carbon_timeline"]) >= len(first["carbon_timeline"])
    assert second["total"]["gco2"] > first["total"]["gco2"]


@pytest.mark.parametrize("rows, deadline_hours, message", [
    ([100, 90], 1.5, "not after the previous"),          # times out of order
    (None, 3, "no data between now"),                    # the forecast starts after the deadline
])
def test_a_bad_forecast_is_exit_2_with_one_line(tmp_path, rows, deadline_hours, message):
    now = time.time()
    path = tmp_path / "f.csv"
    if rows:
        path.write_text(f"time,gco2_per_kwh\n{format_time(now + HOUR)},{rows[0]}\n{format_time(now)},{rows[1]}\n")
    else:
        write_csv(path, now + 10 * HOUR, [100, 100])
    result = run_cli("train", *TINY, "--steps", "4", "--forecast", str(path), "--deadline",
                     format_time(now + deadline_hours * HOUR), "--dry-run", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_ctrl_c_while_waiting_cancels_cleanly(tmp_path):
    start = hour_floor(time.time())
    forecast = write_csv(tmp_path / "f.csv", start, [500, 500, 20, 500])  # the best hour is 2 h ahead
    out = tmp_path / "run"
    from conftest import child, read_until

    with child("train", *TINY, "--steps", "4", "--forecast", str(forecast), "--deadline",
               format_time(start + 4 * HOUR), "--out", str(out)) as proc:
        lines = read_until(proc.stderr, "start:")
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, lines + rest
    assert "cancelled before the planned start" in rest and "Traceback" not in rest
    assert not (out / "config.yaml").exists() and not (out / "run.json").exists()
