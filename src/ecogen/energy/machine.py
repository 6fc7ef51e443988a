"""What this machine is: CPU model, cores, GPUs. Recorded in every run so numbers can be compared."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


# the vector units that decide a CPU's speed here: machines named alike ("AMD EPYC") differ by these
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_features() -> dict[str, object]:
    """The CPU's family and model numbers and which of VECTOR_FLAGS it has, from /proc/cpuinfo (empty elsewhere)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor's block is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        return {}
    flags = set(fields.get("flags", "").split())
    return {"cpu_family": fields.get("cpu family"), "cpu_model_number": fields.get("model"),
            "vector_flags": [f for f in VECTOR_FLAGS if f in flags]}


def visible_cores() -> int:
    """Logical CPUs this process may run on (affinity / container limits), not the whole host."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe_machine(device: torch.device | None = None) -> dict[str, object]:
    import torch  # here, not at the top: the CLI reads this module's helpers before it needs torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {
        "cpu_model": cpu_model(),
        **cpu_features(),
        "logical_cores": os.cpu_count(),
        "visible_cores": visible_cores(),
        "gpus": gpus,
        "device": str(device) if device is not None else None,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def cpu_times() -> tuple[int, int]:
    """(all, steal) jiffies from /proc/stat's cpu line; (0, 0) where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[7] if len(fields) > 7 else 0
    except (OSError, ValueError, IndexError):
        return 0, 0


def others_running() -> int | None:
    """Processes runnable right now besides this one (/proc/loadavg), or None where it cannot be read.
    Unlike the 1-minute load average, it does not count a command that has just finished."""
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(running - 1, 0)


def others_load() -> float:
    """How many cores other processes want now: the 1-minute load, or the runnable count when lower (the
    average still counts a command that has just finished)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    now = others_running()
    return load if now is None else min(load, float(now))


def threads_left(cores: int, others: float) -> int | None:
    """Threads a new run should use when others keep more than 3/4 of the cores busy (torch's one thread
    per core then oversubscribes: steps got about 10x slower here); None when the machine is free enough."""
    return max(1, round(cores - others)) if others > 0.75 * cores else None


def crowded(load: float, cores: int, own: float = 0.0) -> bool:
    """Do other processes want more cores than the caller leaves free? ``own`` is the caller's own
    average of busy threads (its CPU seconds per wall second): a run's own threads are in the load
    average too, and a 2-thread run on 2 cores would otherwise always look busy. Half a core of others
    is tolerated where the caller fills the machine (a shell, a monitor)."""
    return load - own > max(cores - own, 0.5)


def contention(since: tuple[int, int] | None = None, own: float = 0.0) -> dict[str, object]:
    """Is something else competing for the cores? The 1-minute load, less the caller's ``own`` busy
    threads, against the cores, and the share of CPU time the hypervisor stole since ``since`` (a
    ``cpu_times()`` reading). CPU-time energy estimates count time lost to competition, so a busy
    machine inflates them."""
    cores = visible_cores()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    total, steal = cpu_times()
    steal_share = None
    if since is not None and total > since[0]:
        steal_share = round((steal - since[1]) / (total - since[0]), 4)
    busy = crowded(load, cores, own) or (steal_share is not None and steal_share > 0.1)
    return {"load_1min": round(load, 2), "usable_cores": cores, "steal_share": steal_share, "busy": busy}
