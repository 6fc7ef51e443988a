"""Helpers shared by the benchmark scripts: a results folder and a JSON writer."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from ecogen.energy.machine import describe_machine

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": describe_machine(), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


__all__ = ["RESULTS", "write_result", "platform", "torch"]
