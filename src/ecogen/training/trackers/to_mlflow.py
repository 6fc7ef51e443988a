"""MLflow: one MLflow run per ecogen run, through ``MlflowClient`` (no fluent global "active run").

The default store is ./mlruns, MLflow's local file store, which MLflow 3 keeps in maintenance mode behind
``MLFLOW_ALLOW_FILE_STORE``; ecogen sets that opt-out for file URIs only. ``mlflow:URI`` takes any
tracking URI (sqlite:///mlflow.db, http://server:5000) or a folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ecogen.training.trackers.base import TrackerStart

EXPERIMENT = "ecogen"
MAX_PARAM = 6000  # MLflow's limit on a parameter's value


def _uri(arg: str) -> str:
    if not arg:
        return (Path.cwd() / "mlruns").as_uri()
    if "://" in arg or arg.startswith(("file:", "sqlite:", "databricks")):
        return arg
    return Path(arg).resolve().as_uri()  # a folder: a file store there


class Sink:
    takes_artifacts = True

    def __init__(self, arg: str, start: TrackerStart) -> None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        given = arg or (start.saved.get("uri", "") if start.resumed else "")
        self.uri = _uri(given)
        if self.uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_id, self.continued = None, False
        if start.resumed and start.saved.get("uri") == self.uri:
            try:
                self.run_id = self.client.get_run(start.saved["run_id"]).info.run_id
                self.client.update_run(self.run_id, status="RUNNING")
                self.continued = True
            except (MlflowException, KeyError):
                self.run_id = None
        if self.run_id is None:
            experiment = self.client.get_experiment_by_name(EXPERIMENT)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(EXPERIMENT)
            self.run_id = self.client.create_run(experiment_id, run_name=start.name,
                                                 tags={"ecogen.run_dir": str(start.root)}).info.run_id

    @property
    def state(self) -> dict[str, Any]:
        return {"uri": self.uri, "run_id": self.run_id}

    def params(self, values: dict[str, str | int | float | bool]) -> None:
        from mlflow.entities import Param

        params = [Param(k, str(v)[:MAX_PARAM]) for k, v in values.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def scalars(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()])

    def image(self, name: str, path: Path, step: int) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(path) as img:
            self.client.log_image(self.run_id, np.asarray(img.convert("RGB")), key=name, step=step)

    def artifact(self, path: Path) -> None:
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path=path.name)
        else:
            self.client.log_artifact(self.run_id, str(path))

    def summary(self, values: dict[str, float | str]) -> None:
        for key, value in values.items():
            self.client.set_tag(self.run_id, key, str(value))

    def close(self, ok: bool) -> None:
        self.client.set_terminated(self.run_id, "FINISHED" if ok else "FAILED")
