"""What a training step needs from a meter: ``with meter.phase("d_step"):`` and FLOP counts.

The loop separates its phases (data, d_step, g_step, checkpoint, sample) once; ecogen.energy's
EnergyTracker is the meter used in training; NullMeter measures nothing (for overhead benchmarks).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class PhaseMeter(Protocol):
    def phase(self, name: str) -> AbstractContextManager[None]: ...

    def add_flops(self, phase: str, flops: int) -> None: ...


class NullMeter:
    def phase(self, name: str) -> AbstractContextManager[None]:
        return nullcontext()

    def add_flops(self, phase: str, flops: int) -> None:
        pass
