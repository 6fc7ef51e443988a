"""Receipts: what an image cost, stored in the PNG itself as one JSON text chunk and read back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from PIL import Image

from ecogen.errors import EcogenError

KEY = "ecogen:receipt"


def build_receipt(report: Any, share: int = 1, **fields: Any) -> dict[str, Any]:
    """What one output file cost: the metered ``report`` divided over the ``share`` files it made, with
    how it was measured; ``fields`` say what the file is (model hash, seed, transform, ...)."""
    return {
        **fields,
        "energy_wh": report.wh() / share,
        "gco2": report.gco2() / share,
        "sensors": [s["name"] for s in report.sensors],
        "estimated": report.estimated,
        "carbon_g_per_kwh": report.carbon.g_per_kwh,
        "pue": report.carbon.pue,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def receipt_text(receipt: dict[str, Any]) -> dict[str, str]:
    return {KEY: json.dumps(receipt, sort_keys=True)}


def read_receipt(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise EcogenError(f"file not found: {path}")
    try:
        with Image.open(path) as img:
            text = dict(getattr(img, "text", {}) or {})
            comment = img.info.get("comment")  # a JPEG carries the receipt as its comment
            if comment and KEY not in text:
                text[KEY] = comment.decode() if isinstance(comment, bytes) else comment
    except Exception:  # noqa: BLE001  (any decoder failure: not a readable image)
        raise EcogenError(f"{path} is not an image") from None
    if KEY not in text:
        raise EcogenError(f"{path} carries no ecogen receipt")
    try:
        receipt = json.loads(text[KEY])
    except (ValueError, RecursionError):
        raise EcogenError(f"{path}: its ecogen receipt is not valid JSON") from None
    if not isinstance(receipt, dict):
        raise EcogenError(f"{path}: its ecogen receipt is not a JSON object (got a {type(receipt).__name__})")
    return receipt
