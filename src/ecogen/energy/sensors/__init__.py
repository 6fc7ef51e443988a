"""Energy sensors, registered by name: rapl, nvml, estimate, codecarbon."""

from ecogen.energy.sensors import codecarbon, estimate, nvml, rapl  # noqa: F401  (registration)
from ecogen.energy.sensors.base import SENSORS, Sensor, SensorContext, SensorUnavailable, open_sensors

__all__ = ["SENSORS", "Sensor", "SensorContext", "SensorUnavailable", "open_sensors"]
