"""Grid intensity over time: a file of (start, length, gCO2/kWh) intervals, from a CSV or the Carbon Aware SDK.

Accepted files (docs/carbon-aware.md shows how to export them from common providers):

* CSV with a header ``time,gco2_per_kwh``: one row per interval start (ISO 8601; a time without a zone is
  UTC). Each row lasts until the next one; the last lasts the file's usual spacing (its median).
* JSON, the Green Software Foundation Carbon Aware SDK's emissions records:
  ``[{"Location": ..., "Time": ..., "Rating": ..., "Duration": ...}]`` (keys in any case; ``Duration``
  as ``HH:MM:SS`` or minutes). A forecast response (``[{"forecastData": [...]}]``) is read too.

Times must increase; a repeated or earlier time is an error naming the line. A gap (a row that starts
later than the previous one ends) is allowed: the yearly mean of the run's country (``fallback``)
applies there, and outside the file's range, and the bill says which source covered which part.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import math
import re
import statistics
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ecogen.errors import ConfigError

UTC = dt.timezone.utc
MAX_BYTES = 64 << 20  # a year of 1-minute rows is ~20 MB; more is not an intensity file
EARLIEST, LATEST = dt.datetime(1970, 1, 1, tzinfo=UTC).timestamp(), dt.datetime(2200, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Interval:
    start: float  # unix seconds
    end: float
    g_per_kwh: float


@dataclass(frozen=True)
class Segment:
    """A stretch of time at one intensity, and where that intensity came from."""

    start: float
    end: float
    g_per_kwh: float
    source: str  # the file's name, or the fallback's description


@dataclass(frozen=True)
class IntensitySeries:
    intervals: tuple[Interval, ...]
    name: str  # the file it came from
    fallback_g_per_kwh: float
    fallback_source: str

    @property
    def start(self) -> float:
        return self.intervals[0].start

    @property
    def end(self) -> float:
        return self.intervals[-1].end

    @cached_property
    def _ends(self) -> list[float]:
        return [iv.end for iv in self.intervals]

    def segments(self, start: float, end: float) -> list[Segment]:
        """[start, end) cut where the intensity changes: the file's intervals, the fallback elsewhere.
        The first interval is found by bisection: the clock asks for a few seconds of a year-long file."""
        out: list[Segment] = []
        t = start
        first = bisect.bisect_right(self._ends, start)
        for iv in self.intervals[first:]:
            if iv.end <= t:
                continue
            if iv.start >= end:
                break
            if iv.start > t:  # before the file's range, or a gap in it
                out.append(Segment(t, iv.start, self.fallback_g_per_kwh, self.fallback_source))
                t = iv.start
            stop = min(iv.end, end)
            out.append(Segment(t, stop, iv.g_per_kwh, self.name))
            t = stop
        if t < end:
            out.append(Segment(t, end, self.fallback_g_per_kwh, self.fallback_source))
        return out

    def mean(self, start: float, end: float) -> float:
        """Time-weighted mean intensity over [start, end)."""
        if end <= start:
            return self.at(start)
        return sum((s.end - s.start) * s.g_per_kwh for s in self.segments(start, end)) / (end - start)

    def at(self, t: float) -> float:
        return self.segments(t, t + 1e-6)[0].g_per_kwh

    def covered(self, start: float, end: float) -> float:
        """The share of [start, end) that the file covers (the rest is the fallback)."""
        if end <= start:
            return 0.0
        return sum(s.end - s.start for s in self.segments(start, end) if s.source == self.name) / (end - start)


def parse_time(text: str, where: str) -> float:
    """ISO 8601 (``Z`` or an offset; none means UTC) to unix seconds."""
    value = text.strip()
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not an ISO 8601 time (e.g. 2026-11-28T08:00Z)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        t = when.timestamp()
    except (OverflowError, ValueError):
        t = math.inf
    if not EARLIEST <= t < LATEST:
        raise ConfigError(f"{where}: {value!r} is outside 1970 to 2200")
    return t


def format_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration_minutes(value: object, where: str) -> float:
    """A record's length: HH:MM:SS (or D.HH:MM:SS) or minutes; finite, above 0 and at most a year."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        minutes = float(value)
    else:
        match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?", str(value).strip()[:40])
        if not match:
            raise ConfigError(f"{where}: Duration {str(value)[:40]!r} is neither HH:MM:SS nor a number of minutes")
        days, hours, minutes_, seconds = (int(g) if g else 0 for g in match.groups())
        minutes = days * 1440 + hours * 60 + minutes_ + seconds / 60
    if not 0 < minutes <= 366 * 1440:  # NaN fails this too
        raise ConfigError(f"{where}: Duration must be above 0 and at most a year (got {str(value)[:40]!r})")
    return minutes


def _number(value: object, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not a number of gCO2 per kWh") from None
    if not number >= 0 or number == float("inf"):
        raise ConfigError(f"{where}: an intensity must be a finite number >= 0 (got {value!r})")
    return number


def _read_csv(path: Path, text: str) -> list[tuple[float, float | None, float, str]]:
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if header[:2] != ["time", "gco2_per_kwh"]:
        raise ConfigError(f"{path}: a CSV forecast starts with the header 'time,gco2_per_kwh' (got {','.join(header) or 'nothing'})")
    points = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        where = f"{path}, line {n}"
        if len(row) < 2:
            raise ConfigError(f"{where}: expected 'time,gco2_per_kwh'")
        points.append((parse_time(row[0], where), None, _number(row[1], where), where))
    return points


def _read_json(path: Path, text: str) -> list[tuple[float, float | None, float, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if isinstance(data, list) and data and isinstance(data[0], dict) and "forecastdata" in {k.lower() for k in data[0]}:
        data = _forecast_records(path, data)
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of {{Location, Time, Rating, Duration}} records")
    points = []
    for i, record in enumerate(data):
        where = f"{path}, record {i}"
        if not isinstance(record, dict):
            raise ConfigError(f"{where}: not an object")
        keys = {k.lower(): v for k, v in record.items()}
        time = keys.get("time", keys.get("timestamp"))
        rating = keys.get("rating", keys.get("value"))
        if time is None or rating is None:
            raise ConfigError(f"{where}: needs Time and Rating")
        length = _duration_minutes(keys["duration"], where) * 60 if "duration" in keys else None
        points.append((parse_time(str(time), where), length, _number(rating, where), where))
    return points


def _forecast_records(path: Path, blocks: list) -> list:
    """A forecast response's ``forecastData`` lists, joined; anything else there is an error naming it."""
    records = []
    for i, block in enumerate(blocks):
        data = block.get(next((k for k in block if k.lower() == "forecastdata"), ""), None) if isinstance(block, dict) else None
        if not isinstance(data, list):
            raise ConfigError(f"{path}, block {i}: expected a forecastData list of {{Time, Rating, Duration}} records")
        records.extend(data)
    return records


def _read_text(path: Path) -> str:
    """A regular file of at most MAX_BYTES, as UTF-8 (a byte-order mark, as Excel writes, is dropped).
    A pipe or a device is refused before it is opened: one would hang, the other never end."""
    if not path.exists():
        raise ConfigError(f"{path}: no such intensity file")
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file (a pipe, device or folder cannot be an intensity file)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES >> 20} MiB: not an intensity file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def read_series(path: str | Path, fallback_g_per_kwh: float, fallback_source: str) -> IntensitySeries:
    """Read and check an intensity file; every problem is one ConfigError naming the file and line. The one
    reader of intensity and forecast files, for billing (--intensity) and for planning (--forecast)."""
    path = Path(path)
    text = _read_text(path)
    points = _read_json(path, text) if text.lstrip().startswith(("[", "{")) else _read_csv(path, text)
    if not points:
        raise ConfigError(f"{path}: holds no intensity values")
    for (t0, _, _, _), (t1, _, _, where) in zip(points, points[1:]):
        if t1 <= t0:
            raise ConfigError(f"{where}: its time is not after the previous one's; times must increase "
                              f"(sort the file, or remove the repeated row)")
    steps = [b[0] - a[0] for a, b in zip(points, points[1:])]
    usual = statistics.median(steps) if steps else 3600.0
    intervals = []
    for i, (start, length, g, _) in enumerate(points):
        following = points[i + 1][0] if i + 1 < len(points) else None
        if length is None:  # CSV: until the next row, but a long silence is a gap, not one long interval
            length = usual if following is None or following - start > 1.5 * usual else following - start
        end = start + length if following is None else min(start + length, following)
        intervals.append(Interval(start, end, g))
    return IntensitySeries(tuple(intervals), path.name, fallback_g_per_kwh, fallback_source)
