"""Reduced precision where it pays: bf16 autocast, probed on this device rather than assumed."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from ecogen.energy.calibrate import cached_peak, measure_peak


def bf16_pays(device: torch.device) -> bool:
    """bf16 at least 1.3x faster than fp32 here (the peaks: `ecogen calibrate`'s, else a 0.2 s probe)."""
    fp32, bf16 = cached_peak(device, "float32"), cached_peak(device, "bfloat16")
    if fp32 is None or bf16 is None:
        try:
            fp32 = measure_peak(device, torch.float32, seconds=0.2, size=512)
            bf16 = measure_peak(device, torch.bfloat16, seconds=0.2, size=512)
        except RuntimeError:
            return False
    return bf16 >= 1.3 * fp32


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        return "bf16" if bf16_pays(device) else "fp32"
    return precision


def autocast(precision: str, device: torch.device) -> AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
