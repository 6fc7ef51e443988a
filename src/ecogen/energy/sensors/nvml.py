"""NVIDIA GPUs through NVML (nvidia-ml-py): the board's energy counter, or sampled power integrated.

Only the GPU this process trains on is read, matched by PCI bus id so CUDA_VISIBLE_DEVICES is respected.
When several ranks of one run share the GPU, each counts its share of the board (``ctx.share``).
"""

from __future__ import annotations

import threading
import time

import torch

from ecogen.energy.sensors.base import SENSORS, SensorContext, SensorUnavailable


class NvmlSensor:
    name = "nvml"
    domain = "gpu"
    estimated = False
    min_interval = 0.1  # an NVML call costs tens of microseconds

    def __init__(self, ctx: SensorContext) -> None:
        if ctx.device.type != "cuda" or not torch.cuda.is_available():
            raise SensorUnavailable("no CUDA device in use")
        try:
            import pynvml
        except ImportError:
            raise SensorUnavailable("nvidia-ml-py is not installed") from None
        self.nvml = pynvml
        try:
            pynvml.nvmlInit()
            index = ctx.device.index if ctx.device.index is not None else torch.cuda.current_device()
            props = torch.cuda.get_device_properties(index)
            bus_id = f"{props.pci_domain_id:08x}:{props.pci_bus_id:02x}:{props.pci_device_id:02x}.0"
            self.handle = pynvml.nvmlDeviceGetHandleByPciBusId(bus_id.encode())
            self.gpu_name = props.name
        except pynvml.NVMLError as err:
            raise SensorUnavailable(f"NVML: {err}") from None
        self.share = max(ctx.share, 1)
        self._thread: threading.Thread | None = None
        try:
            self._start_mj = pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            self.method = "total energy counter"
        except pynvml.NVMLError:  # older boards: integrate sampled power in a thread
            self.method = "sampled power, 20 Hz"
            self._joules, self._stop = 0.0, threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(0.05):
            now = time.perf_counter()
            watts = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
            self._joules += watts * (now - last)
            last = now

    def energy(self) -> float:
        if self._thread is not None:
            return self._joules / self.share
        return (self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) - self._start_mj) / 1000.0 / self.share

    def describe(self) -> dict[str, object]:
        scope = "the whole GPU board" if self.share == 1 else f"1/{self.share} of the GPU board (ranks sharing it)"
        return {"gpu": self.gpu_name, "method": self.method, "scope": scope}

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=1)


SENSORS.add("nvml", NvmlSensor)
