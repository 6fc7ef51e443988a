"""Weights & Biases: offline unless the user has configured W&B (WANDB_MODE, WANDB_API_KEY, or a login in
~/.netrc); an offline run lands in RUN/wandb/ and ``wandb sync`` uploads it later. A resumed run opens
the same run id, so its history continues."""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

from ecogen.training.trackers.base import TrackerStart

PROJECT = "ecogen"
log = logging.getLogger(__name__)


def mode() -> str:
    """W&B's own setting when there is one; offline when the user has never set W&B up."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    netrc = Path.home() / ".netrc"
    configured = os.environ.get("WANDB_API_KEY") or (netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="replace"))
    return "online" if configured else "offline"


class Sink:
    takes_artifacts = True

    def __init__(self, arg: str, start: TrackerStart) -> None:
        import wandb

        self.wandb = wandb
        self.continued = start.resumed and "id" in start.saved
        run_id = start.saved["id"] if self.continued else uuid.uuid4().hex[:8]
        self.project = arg or start.saved.get("project", PROJECT)
        self.mode = mode()
        settings = wandb.Settings(console="off", silent=True, x_disable_stats=True)  # no stdout capture, no sampler
        self.run = wandb.init(project=self.project, id=run_id, name=start.name, dir=str(start.root), mode=self.mode,
                              resume="allow", reinit="create_new", settings=settings)
        self.name = re.sub(r"[^A-Za-z0-9_.-]", "-", start.name) or "run"

    @property
    def state(self) -> dict[str, Any]:
        return {"id": self.run.id, "project": self.project, "mode": self.mode}

    def params(self, values: dict[str, str | int | float | bool]) -> None:
        self.run.config.update(values, allow_val_change=True)

    def scalars(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def image(self, name: str, path: Path, step: int) -> None:
        self.run.log({name: self.wandb.Image(str(path))}, step=step)

    def artifact(self, path: Path) -> None:
        art = self.wandb.Artifact(f"{self.name}-{path.stem}", type="checkpoint" if path.is_dir() else "report")
        if path.is_dir():
            art.add_dir(str(path))
        else:
            art.add_file(str(path))
        self.run.log_artifact(art)

    def summary(self, values: dict[str, float | str]) -> None:
        self.run.summary.update(values)

    def close(self, ok: bool) -> None:
        folder = Path(self.run.dir).parent
        self.run.finish(exit_code=0 if ok else 1)
        if self.mode == "offline":
            log.info(f"W&B: an offline run in {folder}; `wandb sync {folder}` uploads it")
