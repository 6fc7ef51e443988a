"""Phase meter: ``with meter.phase("d_step"):`` around each part of a step.

The loop separates its phases (data, d_step, g_step, checkpoint, sample) once, here; anything that
wants per-phase numbers (wall time now, energy via ecogen.energy) plugs in as a PhaseMeter.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class PhaseMeter(Protocol):
    def phase(self, name: str) -> AbstractContextManager[None]: ...

    def seconds(self) -> dict[str, float]: ...


class PhaseClock:
    """Wall-clock seconds per phase (perf_counter: ~100 ns per call, negligible next to a step)."""

    def __init__(self) -> None:
        self._seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] += time.perf_counter() - start

    def seconds(self) -> dict[str, float]:
        return dict(self._seconds)
