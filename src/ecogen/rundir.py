"""The layout of a run folder, in one place."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecogen.data.split import Split
from ecogen.errors import CheckpointError, EcogenError


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def split(self) -> Path:
        return self.root / "split.json"

    @property
    def record(self) -> Path:
        return self.root / "run.json"

    @property
    def best(self) -> Path:
        return self.root / "best"

    @property
    def evals(self) -> Path:
        return self.root / "eval.jsonl"

    @property
    def quality_plot(self) -> Path:
        return self.root / "quality_vs_energy.png"

    @property
    def copies(self) -> Path:
        """The last `ecogen eval`'s near-copy check (metrics/copies.py); its closest pairs: copies_grid."""
        return self.root / "copies.json"

    @property
    def copies_grid(self) -> Path:
        return self.root / "copies.png"

    @property
    def log(self) -> Path:
        return self.root / "log.jsonl"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def studies(self) -> Path:
        """The human rating studies that used this run (a JSON list of folders; `ecogen rate new` adds)."""
        return self.root / "studies.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def plan(self) -> Path:
        """The prediction (and schedule) `ecogen plan --out` made before the run; training records it."""
        return self.root / "plan.json"

    def holds_run(self) -> bool:
        return self.config.exists() or self.checkpoints.exists()

    def require_run(self) -> None:
        if not self.root.exists():
            raise EcogenError(f"run folder not found: {self.root}")
        if not self.holds_run():
            raise CheckpointError(f"{self.root} does not hold an ecogen run (no config.yaml or checkpoints/)")

    def read_split(self) -> Split:
        try:
            return Split.from_dict(json.loads(self.split.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            raise CheckpointError(f"{self.split}: missing or corrupt split record") from None

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive for writers (train, resume): a second writer is refused at once. The kernel drops
        the lock when its process ends, so a crashed run leaves no stale lock; readers (sample, eval)
        take none and may read while a run trains."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_file, "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise EcogenError(f"{self.root} is in use by another ecogen run ({holder}); wait for it to end") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.close()  # releases the lock

    def refuse_links(self) -> None:
        """A writer never follows a link out of the run folder: a linked part is an error, before any write."""
        parts = (self.config, self.split, self.log, self.record, self.evals, self.quality_plot, self.samples,
                 self.checkpoints, self.best, self.lock_file)
        linked = [p.name for p in parts if p.is_symlink()]
        if linked:
            raise EcogenError(f"{self.root}: {', '.join(linked)} is a link; ecogen does not write through links "
                              f"out of a run folder (replace it with a real file or folder)")

    def clear(self) -> None:
        """Remove what a previous run wrote here (for --overwrite); other files are left alone."""
        for path in (self.config, self.split, self.log, self.record, self.evals, self.quality_plot):
            path.unlink(missing_ok=True)
        for folder in (self.samples, self.checkpoints, self.best):
            if folder.exists():
                shutil.rmtree(folder)
