"""Load modules on first use, so that ``ecogen --help``, ``--version`` and the commands that need no
tensors do not pay for importing torch (seconds on a small CPU)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class LazyModule:
    """A stand-in for a module, imported when one of its attributes is first read.

    Not placed in ``sys.modules`` (unlike importlib's LazyLoader): tools that walk ``sys.modules``,
    torch's among them, would import it by merely looking.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) for names that live in its submodules."""

    def get(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def names() -> list[str]:
        return sorted(exports)

    return get, names
