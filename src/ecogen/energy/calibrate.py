"""Peak FLOP/s of this machine, measured once with large matrix products and convolutions, and cached.

Utilisation = achieved FLOP/s / this peak: how far a run is from what the hardware can do.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ecogen.base.atomic import write_json
from ecogen.base.cachedir import cache_root
from ecogen.energy.machine import contention, cpu_model, visible_cores


def cache_file() -> Path:
    return cache_root() / "calibration.json"


def machine_key(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{cpu_model()} x{visible_cores()}"
    # the workloads are in the key: a peak measured another way is measured again
    raw = f"{device.type}|{name}|{torch.__version__}|threads={torch.get_num_threads()}|{','.join(PEAK_WORKLOADS)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _matmul(device: torch.device, dtype: torch.dtype, size: int) -> tuple[Callable[[], object], float]:
    """size x size matrix products: BLAS's path (MKL on CPUs)."""
    gen = torch.Generator(device).manual_seed(0)
    a = torch.randn(size, size, device=device, generator=gen).to(dtype)
    b = torch.randn(size, size, device=device, generator=gen).to(dtype)
    return (lambda: a @ b), 2.0 * size**3


def _conv(device: torch.device, dtype: torch.dtype, size: int) -> tuple[Callable[[], object], float]:
    """3x3 channels-last convolutions, size/4 channels on 32x32, batch 8: oneDNN's path on CPUs, the one the
    models take. On AMD CPUs MKL's matrix products stay on narrower vector code: on a Zen 5 EPYC they
    reached well under half of what these convolutions did."""
    channels, side, batch = max(8, size // 4), 32, 8
    gen = torch.Generator(device).manual_seed(0)
    x = torch.randn(batch, channels, side, side, device=device, generator=gen).to(dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, generator=gen).to(dtype)
    x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    return (lambda: F.conv2d(x, w, padding=1)), 2.0 * batch * channels**2 * 9 * side**2


# the workloads whose best FLOP/s is the peak: what the hardware does on the libraries' fastest path
PEAK_WORKLOADS = {"matmul": _matmul, "conv3x3": _conv}


def _best_rate(device: torch.device, fn: Callable[[], object], flops: float, seconds: float) -> float:
    with torch.inference_mode():
        fn()  # warm-up
        _sync(device)
        best, deadline = 0.0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            for _ in range(4):
                fn()
            _sync(device)
            best = max(best, 4 * flops / (time.perf_counter() - start))
    return best


def workload_rates(device: torch.device, dtype: torch.dtype, seconds: float = 1.5,
                   size: int | None = None) -> dict[str, float]:
    """Best FLOP/s of each of PEAK_WORKLOADS over about ``seconds`` in all (the time split between them)."""
    size = size or (8192 if device.type == "cuda" else 1024)
    share = seconds / len(PEAK_WORKLOADS)
    return {name: _best_rate(device, *make(device, dtype, size), share) for name, make in PEAK_WORKLOADS.items()}


def measure_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.5, size: int | None = None) -> float:
    """The best of :func:`workload_rates`."""
    return max(workload_rates(device, dtype, seconds, size).values())


def calibrate(device: torch.device, seconds: float = 1.5, force: bool = False,
              size: int | None = None) -> dict[str, object]:
    """fp32 and bf16 peaks on ``device``: the cached ones unless ``force``; else measured, and cached only
    when the machine was quiet (a peak measured under load is too low, and would make every run's
    utilisation look too high). ``cached`` and ``busy`` in the result say which happened."""
    path = cache_file()
    cached = _read(path)
    key = machine_key(device)
    if key in cached and not force:
        return {**cached[key], "cached": True, "busy": False}
    load = contention()
    rates = {"float32": workload_rates(device, torch.float32, seconds, size)}
    try:
        rates["bfloat16"] = workload_rates(device, torch.bfloat16, seconds, size)
    except RuntimeError:  # no bf16 matmul on this device
        pass
    peaks = {dtype: max(by.values()) for dtype, by in rates.items()}
    entry = {"device": str(device), "cpu_model": cpu_model(), "peak_flops": peaks, "by_workload": rates,
             "measured": time.time()}
    busy = bool(load["busy"] or contention()["busy"])
    if not busy:
        cached[key] = entry
        write_json(path, cached)
    return {**entry, "cached": False, "busy": busy, "load": load["load_1min"]}


def _read(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def cached_peak(device: torch.device, dtype: str = "float32") -> float | None:
    """The cached peak for this machine, or None when ``ecogen calibrate`` has not run here."""
    entry = _read(cache_file()).get(machine_key(device))
    return None if entry is None else entry["peak_flops"].get(dtype)
