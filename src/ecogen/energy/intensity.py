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

import csv
import datetime as dt
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from ecogen.errors import ConfigError

UTC = dt.timezone.utc


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

    def segments(self, start: float, end: float) -> list[Segment]:
        """[start, end) cut where the intensity changes: the file's intervals, the fallback elsewhere."""
        out: list[Segment] = []
        t = start
        for iv in self.intervals:
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
    return when.timestamp()


def format_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration_minutes(value: object, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?", str(value).strip())
    if not match:
        raise ConfigError(f"{where}: Duration {value!r} is neither HH:MM:SS nor a number of minutes")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return days * 1440 + hours * 60 + minutes + seconds / 60


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
        data = [rec for block in data for k, v in block.items() if k.lower() == "forecastdata" for rec in v]
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


def read_series(path: str | Path, fallback_g_per_kwh: float, fallback_source: str) -> IntensitySeries:
    """Read and check an intensity file; every problem is one ConfigError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such intensity file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it ({err})") from None
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
