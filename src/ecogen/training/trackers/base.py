"""What a tracker is: a sink for one run's scalars, images, hyperparameters and artifacts.

The loop never calls a tracker library; ``ecogen.training.tracking.Tracking`` (a callback) turns what the
other callbacks produced at a step into calls on these methods, with one set of metric names for every
tracker (docs/trackers.md). A tracker file is one class with this shape, registered in ``TRACKERS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class TrackerStart:
    """How a tracker is opened: for a fresh run, or to continue the tracker run a resumed run began."""

    root: Path  # the run folder
    name: str  # the run's name in the tracker (the folder's name)
    step: int  # the step training continues from (0 for a fresh run)
    saved: dict[str, Any] = field(default_factory=dict)  # what ``state`` returned last session (ids); {} when new

    @property
    def resumed(self) -> bool:
        return bool(self.saved) and self.step > 0


class Tracker(Protocol):
    takes_artifacts: bool  # whether files (the report, the best checkpoint) can be attached

    @property
    def state(self) -> dict[str, Any]:
        """What a resumed run needs to continue this tracker run (its id, folder or URI), as JSON."""

    @property
    def continued(self) -> bool:
        """True when this session continues the tracker run an earlier session began."""

    def params(self, values: dict[str, str | int | float | bool]) -> None: ...

    def scalars(self, values: dict[str, float], step: int) -> None: ...

    def image(self, name: str, path: Path, step: int) -> None: ...

    def artifact(self, path: Path) -> None: ...

    def summary(self, values: dict[str, float | str]) -> None: ...

    def close(self, ok: bool) -> None: ...
