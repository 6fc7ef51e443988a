"""Device choice: CUDA when present, else CPU; an explicit request that cannot be met is an error."""

from __future__ import annotations

import torch

from ecogen.errors import EcogenError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EcogenError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EcogenError(f"device {name!r} requested but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EcogenError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise EcogenError("device 'mps' requested but it is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise EcogenError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device
