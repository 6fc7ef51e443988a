"""Shared fixtures: one tiny real run on bundled digits, trained once per session."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):  # one thread per worker, and for the CLI processes it starts:
    os.environ["OMP_NUM_THREADS"] = "1"     # two workers with a thread per core each oversubscribe the cores
    torch.set_num_threads(1)

from ecogen import TrainConfig, train
from ecogen.config import from_dict

TINY = {
    "data": {"source": "digits", "image_size": 16},
    "model": {"width_mult": 0.25, "latent_dim": 16},
    "batch_size": 32,
    "steps": 6,
    "log_every": 2,
    "sample_every": 4,
    "checkpoint_every": 4,
    "device": "cpu",
}


def tiny_config(**changes) -> TrainConfig:
    values = {**TINY, **changes}
    return from_dict(TrainConfig, values)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config(), out, progress=False)
    return out


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory) -> Path:
    """A small VAE trained for real on the bundled MNIST digits (about 10 s on 2 cores)."""
    out = tmp_path_factory.mktemp("runs") / "vae"
    cfg = from_dict(TrainConfig, {"model": {"name": "vae", "width_mult": 0.5, "latent_dim": 16},
                                  "optim": {"lr_g": 1e-3, "beta1": 0.9}, "steps": 150, "log_every": 50,
                                  "device": "cpu"})
    train(cfg, out, progress=False)
    return out


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory) -> Path:
    """A small DCGAN trained for real on the bundled MNIST digits (about 10 s on 2 cores)."""
    out = tmp_path_factory.mktemp("runs") / "gan"
    cfg = from_dict(TrainConfig, {"model": {"width_mult": 0.5}, "steps": 100, "log_every": 50, "device": "cpu"})
    train(cfg, out, progress=False)
    return out


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            fresh: bool = False) -> subprocess.CompletedProcess:
    """Run the real CLI entry point (``ecogen.cli.main``: its error boundary, exit codes, stdout and stderr)
    as a user would. In this process by default: starting Python and torch for each of ~100 calls cost
    minutes of the suite; ``fresh=True`` starts a new process, for what only a process shows."""
    if fresh:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
        return subprocess.run([sys.executable, "-m", "ecogen", *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=timeout)
    import contextlib
    import io

    from ecogen import cli

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv, os.getcwd(), os.environ.get("COLUMNS")
    sys.argv, os.environ["COLUMNS"] = ["ecogen", *args], "120"
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = saved[0]
        os.chdir(saved[1])
        if saved[2] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved[2]
    return subprocess.CompletedProcess(["ecogen", *args], code, out.getvalue(), err.getvalue())


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def child(*args: str, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """``python -m ecogen ARGS`` as its own process, with SIGINT's default action restored: under
    ``nohup ... &`` (as a batch runner starts the suite) SIGINT is ignored and children inherit that, so
    Ctrl-C tests would see nothing. Killed at the end whatever happens, so no server outlives its test."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "ecogen", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=env, preexec_fn=_default_sigint)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def read_until(stream, marker: str, timeout: float = 60) -> str:
    """What a child wrote to ``stream`` up to and including the line holding ``marker`` (or a failed test).
    Lines are read by a thread: ``select`` on a buffered text pipe misses lines already in the buffer."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in iter(stream.readline, ""):
            lines.put(line)
            if marker in line:
                return
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen, deadline = "", time.time() + timeout
    while marker not in seen:
        try:
            line = lines.get(timeout=max(deadline - time.time(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {timeout} s; got {seen!r}") from None
        if line is None:
            raise AssertionError(f"the process ended before {marker!r}; got {seen!r}")
        seen += line
    return seen
