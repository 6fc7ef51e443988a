"""Intensity and forecast files as they arrive in the wild: pipes, devices, NaN and negative durations,
malformed forecast blocks, far-future times, Excel's byte-order mark, and a year of 5-minute rows. Every
bad one is one line and exit 2 before anything is trained or written; the best-window search stays fast."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import pytest

from ecogen.energy.intensity import format_time, read_series
from ecogen.energy.windows import best_window, window

from conftest import run_cli

TINY = ["--data", "digits", "--image-size", "16", "--width-mult", "0.25", "--latent-dim", "16", "--batch-size", "16",
        "--device", "cpu", "--steps", "2"]
T0 = 1_800_000_000.0


def _sdk(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records))
    return path


def _refused(tmp_path: Path, option: str, bad: Path, message: str) -> None:
    out = tmp_path / "run"
    result = run_cli("train", *TINY, option, str(bad), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert not (out / "config.yaml").exists() and not (out / "checkpoints").exists()  # nothing trained


BAD = {
    "nan duration": ([{"Time": "2026-11-28T00:00Z", "Rating": 300, "Duration": math.nan}], "Duration must be above 0"),
    "negative duration": ([{"Time": "2026-11-28T00:00Z", "Rating": 300, "Duration": -30}], "Duration must be above 0"),
    "forecastData not a list": ([{"forecastData": 7}], "expected a forecastData list"),
    "forecastData of strings": ([{"forecastData": ["x"]}], "not an object"),
    "year 9999": ([{"Time": "9999-12-31T23:59:59Z", "Rating": 300, "Duration": 30}], "outside 1970 to 2200"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_records_are_one_line_before_training(tmp_path, case):
    records, message = BAD[case]
    _refused(tmp_path, "--intensity", _sdk(tmp_path / "f.json", records), message)


def test_a_named_pipe_and_a_device_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    done = threading.Event()

    def unblock() -> None:  # should the reader open the pipe after all, let it fail instead of hang
        if not done.wait(60):
            with open(fifo, "w"):
                pass

    threading.Thread(target=unblock, daemon=True).start()
    try:
        _refused(tmp_path, "--intensity", fifo, "not a regular file")
        _refused(tmp_path, "--forecast", Path("/dev/zero"), "not a regular file")
    finally:
        done.set()


def test_an_oversized_file_is_refused(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.write(b"time,gco2_per_kwh\n")
        handle.truncate(65 << 20)  # sparse: costs no disk
    _refused(tmp_path, "--intensity", big, "larger than 64 MiB")


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftime,gco2_per_kwh\n2026-11-28T00:00Z,100\n2026-11-28T01:00Z,200\n".encode())
    series = read_series(path, 400.0, "fallback")
    assert [iv.g_per_kwh for iv in series.intervals] == [100, 200]


def test_plan_never_prints_nan(tmp_path):
    path = _sdk(tmp_path / "f.json", [{"Time": format_time(time.time() + 600), "Rating": 100, "Duration": math.nan}])
    result = run_cli("plan", *TINY, "--forecast", str(path), "--deadline", format_time(time.time() + 7200))
    assert result.returncode == 2 and "Duration must be above 0" in result.stderr
    assert "gco2" not in (result.stdout + result.stderr).lower()  # no plan printed with a NaN bill


def _brute_force(series, seconds: float, now: float, deadline: float) -> float:
    starts = {now} | {t for iv in series.intervals for t in (iv.start, iv.end - seconds) if now <= t <= deadline - seconds}
    return min(window(series, t, seconds).mean_g_per_kwh for t in starts)


def test_the_best_window_matches_a_brute_force_search(tmp_path):
    values = [500 - 40 * math.sin(k / 5) + (k * 37 % 23) for k in range(300)]
    path = tmp_path / "f.csv"
    path.write_text("time,gco2_per_kwh\n" + "".join(f"{format_time(T0 + k * 900)},{v}\n" for k, v in enumerate(values)))
    series = read_series(path, 450.0, "fallback")
    for seconds in (600.0, 3600.0, 5 * 3600.0):
        best, now = best_window(series, seconds, T0 - 1800, T0 + 300 * 900)
        assert best.mean_g_per_kwh == pytest.approx(_brute_force(series, seconds, T0 - 1800, T0 + 300 * 900), abs=1e-6)
        assert now.start == T0 - 1800


def test_a_hundred_thousand_rows_are_searched_in_seconds(tmp_path):
    """A loose bound that catches a quadratic search (it took minutes), not a benchmark."""
    rows = 100_000
    path = tmp_path / "year.csv"
    path.write_text("time,gco2_per_kwh\n" + "".join(f"{format_time(T0 + k * 300)},{200 + k % 288}\n" for k in range(rows)))
    started = time.perf_counter()
    series = read_series(path, 450.0, "fallback")
    best, _ = best_window(series, 4 * 3600.0, T0, T0 + rows * 300)
    assert time.perf_counter() - started < 30
    assert best.mean_g_per_kwh == pytest.approx(200 + (4 * 3600 / 300 - 1) / 2)  # the window at the day's start
