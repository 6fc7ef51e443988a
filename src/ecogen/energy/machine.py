"""What this machine is: CPU model, cores, GPUs. Recorded in every run so numbers can be compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def visible_cores() -> int:
    """Logical CPUs this process may run on (affinity / container limits), not the whole host."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe_machine(device: torch.device | None = None) -> dict[str, object]:
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "visible_cores": visible_cores(),
        "gpus": gpus,
        "device": str(device) if device is not None else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
