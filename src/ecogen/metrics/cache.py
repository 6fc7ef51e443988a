"""Feature cache: real-set features stored under a hash of everything that determines them.

The key covers the extractor's weights, the data source (with a fingerprint of the user's files), the
fitting, the exact image indices and ecogen's version; files are written atomically, so a second
evaluation of the same real set skips extraction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ecogen.base import atomic
from ecogen._version import __version__
from ecogen.base.cachedir import cache_root
from ecogen.data.sources import source_files
from ecogen.metrics.extractors.base import Features


def cache_dir() -> Path:
    return cache_root() / "features"


def source_fingerprint(spec: str) -> str:
    """Bundled sources are fixed by ecogen's pins; a user's folder or file, and a system file a bundled
    source reads (the emoji font), by names, sizes and mtimes."""
    stats = []
    for path in source_files(spec):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        stats += [(str(p.relative_to(path) if path.is_dir() else p.name), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in files if p.exists()]
    return hashlib.sha256(json.dumps([spec, stats]).encode()).hexdigest() if stats else spec


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({**parts, "ecogen": __version__}, sort_keys=True).encode()).hexdigest()[:24]


def cached(parts: dict[str, Any], compute: Callable[[], Features]) -> tuple[Features, bool]:
    """Load the features for ``parts`` or compute and store them. Returns (features, was_cached)."""
    path = cache_dir() / f"{cache_key(parts)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                probs = data["probs"] if "probs" in data.files else None
                return Features(data["features"], probs), True
        except (OSError, ValueError, KeyError):
            pass  # unreadable: recompute and replace it
    features = compute()
    arrays = {"features": features.features} | ({"probs": features.probs} if features.probs is not None else {})

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic.write_with(path, write)
    return features, False
