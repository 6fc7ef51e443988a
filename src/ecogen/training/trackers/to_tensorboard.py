"""TensorBoard: event files in RUN/tb (or the folder given), written with torch's SummaryWriter.

A resumed run writes into the same folder with ``purge_step`` just after the step it continues from, so events a
killed session logged after its last checkpoint are dropped and the curves continue without a fold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ecogen.training.trackers.base import TrackerStart


class Sink:
    takes_artifacts = False  # TensorBoard shows scalars, images and text; files stay in the run folder

    def __init__(self, arg: str, start: TrackerStart) -> None:
        from torch.utils.tensorboard import SummaryWriter

        saved = start.saved.get("log_dir") if start.resumed else None
        self.custom = arg or saved  # a folder given by the user, kept absolute; the default moves with the run
        self.folder = Path(self.custom).resolve() if self.custom else start.root / "tb"
        self.continued = start.resumed
        self.writer = SummaryWriter(log_dir=str(self.folder), purge_step=start.step + 1 if start.resumed else None)

    @property
    def state(self) -> dict[str, Any]:
        return {"log_dir": str(self.folder) if self.custom else None}

    def params(self, values: dict[str, str | int | float | bool]) -> None:
        from torch.utils.tensorboard.summary import hparams

        file_writer = self.writer._get_file_writer()
        for summary in hparams(values, {}):  # the HPARAMS tab: the resolved config, recipe, data and machine
            file_writer.add_summary(summary)
        rows = "\n".join(f"| {k} | {v} |" for k, v in values.items())
        self.writer.add_text("config", f"| key | value |\n|---|---|\n{rows}", 0)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()  # a killed run keeps what it logged

    def image(self, name: str, path: Path, step: int) -> None:
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGB"))
        self.writer.add_image(name, pixels, step, dataformats="HWC")
        self.writer.flush()

    def artifact(self, path: Path) -> None:
        return None

    def summary(self, values: dict[str, float | str]) -> None:
        lines = "\n".join(f"| {k} | {v} |" for k, v in values.items())
        self.writer.add_text("bill", f"| figure | value |\n|---|---|\n{lines}", 0)

    def close(self, ok: bool) -> None:
        self.writer.close()
