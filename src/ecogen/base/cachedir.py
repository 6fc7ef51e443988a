"""ecogen's cache folder, shared by feature caches, converted weights and the FLOP/s calibration."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``ECOGEN_CACHE``, else ``$XDG_CACHE_HOME/ecogen``, else ``~/.cache/ecogen``."""
    root = os.environ.get("ECOGEN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "ecogen")
    return Path(root).expanduser()
