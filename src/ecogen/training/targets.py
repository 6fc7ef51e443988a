"""Quality targets: stop training when FID or KID reaches a target, remembering the best check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecogen.config import TrainConfig


@dataclass
class QualityTarget:
    metric: str | None  # fid | kid | None (no target: only the best check is tracked)
    target: float | None
    best: dict[str, Any] = field(default_factory=dict)  # the check with the lowest value of the metric
    reached: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, config: TrainConfig) -> QualityTarget:
        if config.target_fid is not None:
            return cls("fid", config.target_fid)
        if config.target_kid is not None:
            return cls("kid", config.target_kid)
        return cls(None, None)

    @property
    def watched(self) -> str:
        return self.metric or "fid"

    def update(self, check: dict[str, Any]) -> tuple[bool, bool]:
        """Record one quality check; returns (is the new best, is the target met)."""
        value = check.get(self.watched)
        if value is None:
            return False, False
        better = not self.best or value < self.best[self.watched]
        if better:
            self.best = dict(check)
        met = self.target is not None and value <= self.target
        if met and self.reached is None:
            self.reached = dict(check)
        return better, met

    def record(self) -> dict[str, Any] | None:
        if not self.best:
            return None
        return {"metric": self.watched, "target": self.target, "best": self.best, "reached": self.reached}
