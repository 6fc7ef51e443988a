"""JSON-lines logs (log.jsonl, eval.jsonl): one writer that survives a kill mid-append, one tolerant reader.

A run killed while appending leaves a torn last line; the next session used to append its record onto
that line, and every reader then crashed. The writer starts a new line when the file does not end in
one and writes each record with one ``write`` of an ``O_APPEND`` descriptor. The reader skips what is not
a record (bad JSON, not an object, a string where a number belongs), counts it, and lets the page say so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def append(path: str | Path, record: dict[str, Any]) -> None:
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # the last line was torn: leave it alone on its own line
        os.write(fd, data)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Lines:
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # lines that were not a usable record

    def note(self, name: str) -> str | None:
        if not self.skipped:
            return None
        return f"{name}: {self.skipped} damaged line{'s' if self.skipped > 1 else ''} skipped"


def _number(value: Any) -> bool:
    """A JSON number; NaN and inf count (a diverged run logs them and a plot leaves a gap), text does not."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read(path: str | Path, required: tuple[str, ...] = ("step",), numbers: tuple[str, ...] = ()) -> Lines:
    """The usable records of a JSON-lines file (none when it is missing). A record is an object whose
    ``required`` keys are present and numbers, and whose ``numbers`` keys, where present, are numbers."""
    path = Path(path)
    if not path.is_file():
        return Lines()
    records, skipped = [], 0
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                skipped += 1
                continue
            if (not isinstance(record, dict) or not all(_number(record.get(k)) for k in required)
                    or not all(_number(record[k]) for k in numbers if k in record)):
                skipped += 1
                continue
            records.append(record)
    return Lines(records, skipped)
