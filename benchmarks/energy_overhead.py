"""What measuring costs: training steps with and without the energy meter, same seed, side by side.

Two measurements:
1. the meter's own cost per phase boundary (a tight loop of empty phases), times the boundaries a
   training step crosses, divided by the time of one step: precise, immune to run-to-run noise;
2. wall time of the same training steps with the EnergyTracker (phases, sensor reads, FLOP counts,
   budget checks) and with a NullMeter, interleaved in blocks so drift hits both alike.

3. what the experiment trackers cost (``--trackers``): each tracker's feed of one log line and one grid,
   timed over many calls, against the step time at the default intervals (a line every 50 steps, a grid
   every 500); and the same short training with each tracker and with none, interleaved, comparing the
   training seconds between the first and the last log line (opening a tracker, a second for W&B, is
   paid once per session and reported apart).

    python benchmarks/energy_overhead.py [--steps 60] [--blocks 4] [--data mnist] [--trackers] [--train-steps 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from _common import write_result
from ecogen.config import DataConfig, EnergyConfig, TrainConfig
from ecogen.data import prepare_data
from ecogen.energy import EnergyTracker
from ecogen.rundir import RunDir
from ecogen.training import Trainer
from ecogen.training.phases import NullMeter

PHASES_PER_STEP = 3  # data, d_step, g_step (d_steps = 1)


def boundary_cost(n: int = 100_000) -> float:
    """Seconds per entered-and-left phase with the automatically chosen sensors."""
    with EnergyTracker("auto") as tracker:
        start = time.perf_counter()
        for _ in range(n):
            with tracker.phase("x"):
                pass
        return (time.perf_counter() - start) / n


def make_trainer(data, config: TrainConfig, folder: Path) -> Trainer:
    return Trainer(config, RunDir(folder), data, torch.device("cpu"), progress=False)


def timed_steps(trainer: Trainer, steps: int, metered: bool, flops: dict[str, int]) -> float:
    cursor = {"k": trainer.state.step}

    def next_real() -> tuple[torch.Tensor, None]:
        idx = trainer.stream.indices(cursor["k"])
        cursor["k"] += 1
        return trainer.images.index_select(0, idx), None

    meter = trainer.account.tracker if metered else NullMeter()
    start = time.perf_counter()
    for _ in range(steps):
        if metered:
            trainer.account.budget_reason()
        trainer.family.step(next_real, trainer.context.noise_gen, meter)
        meter.add_flops("d_step", flops["d_step"])
        meter.add_flops("g_step", flops["g_step"])
        trainer.state.step += 1
    return time.perf_counter() - start


def feed_cost(name: str, folder: Path, calls: int = 40) -> dict[str, float]:
    """Seconds per log line and per grid for one tracker, fed what the loop feeds it."""
    import numpy as np
    from PIL import Image

    from ecogen.training.tracking import line_scalars
    from ecogen.training.trackers import TrackerStart, open_tracker

    folder.mkdir(parents=True)
    grid = folder / "grid.png"
    Image.fromarray((np.random.default_rng(0).random((274, 274, 3)) * 255).astype("uint8")).save(grid)
    line = {"step": 0, "epoch": 1.0, "loss_d": 1.2, "loss_g": 0.9, "d_real": 0.6, "d_fake": 0.4,
            "images_per_s": 300.0, "gflop_per_s": 90.0, "peak_share": 0.5, "seconds": 10.0, "wh": 0.01, "gco2": 0.005}
    phases = {p: 0.001 for p in ("data", "d_step", "g_step", "sample", "eval", "checkpoint", "other")}
    start = time.perf_counter()
    tracker = open_tracker(name, TrackerStart(folder, "overhead", 0))
    tracker.params({"lr": 0.0002, "model.name": "dcgan"})
    opened = time.perf_counter() - start
    start = time.perf_counter()
    for step in range(1, calls + 1):
        tracker.scalars(line_scalars({**line, "step": step}, phases, step * 64), step)
    per_line = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for step in range(calls + 1, calls + 1 + calls // 4):
        tracker.image("samples", grid, step)
    per_grid = (time.perf_counter() - start) / (calls // 4)
    start = time.perf_counter()
    tracker.close(ok=True)
    return {"open_s": opened, "line_s": per_line, "grid_s": per_grid, "close_s": time.perf_counter() - start}


def steady_seconds(out: Path) -> tuple[float, int]:
    """Training seconds and steps between the first and the last log line (start-up left out)."""
    from ecogen.base import jsonl

    lines = jsonl.read(out / "log.jsonl").records
    return lines[-1]["seconds"] - lines[0]["seconds"], lines[-1]["step"] - lines[0]["step"]


def tracker_overhead(args: argparse.Namespace, step_s: float | None) -> dict:
    import importlib.util
    import os

    from ecogen import train
    from ecogen.training.trackers import TRACKERS

    os.environ.setdefault("WANDB_MODE", "offline")  # a benchmark never reaches the network
    names = [n for n in TRACKERS.names() if importlib.util.find_spec(TRACKERS.get(n).requires)]
    base = TrainConfig(data=DataConfig(source=args.data), device="cpu", steps=args.train_steps)
    result: dict = {"trackers": names, "log_every": base.log_every, "sample_every": base.sample_every,
                    "train_steps": args.train_steps, "feed": {}, "wall": {}}
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # mlflow's default ./mlruns lands in the temporary folder
        for name in names:
            result["feed"][name] = feed_cost(name, Path(tmp) / f"feed-{name}")
        if step_s:
            for name, cost in result["feed"].items():
                cost["modelled"] = (cost["line_s"] / base.log_every + cost["grid_s"] / base.sample_every) / step_s
        walls: dict[str, list[tuple[float, int]]] = {n: [] for n in ["none", *names]}
        for round_ in range(args.rounds):
            for name in ["none", *names]:  # interleaved: drift hits every variant alike
                out = Path(tmp) / f"run-{name}-{round_}"
                config = dataclasses.replace(base, trackers=[] if name == "none" else [name])
                start = time.perf_counter()
                train(config, out, progress=False)
                walls[name].append((*steady_seconds(out), time.perf_counter() - start))
        for name, runs in walls.items():
            per_step = sum(s for s, _, _ in runs) / sum(n for _, n, _ in runs)
            result["wall"][name] = {"steady_s_per_step": per_step, "whole_run_s": [w for _, _, w in runs]}
        none = result["wall"]["none"]["steady_s_per_step"]
        for name in names:
            result["wall"][name]["overhead"] = result["wall"][name]["steady_s_per_step"] / none - 1
    table = Table(title=f"tracker overhead ({args.data}, default DCGAN, a line every {base.log_every} steps, "
                        f"a grid every {base.sample_every}; {args.rounds} x {args.train_steps} steps each)")
    for col in ("tracker", "open s", "ms/line", "ms/grid", "modelled", "steady ms/step", "wall overhead"):
        table.add_column(col, justify="right")
    table.add_row("none", "-", "-", "-", "-", f"{1000 * result['wall']['none']['steady_s_per_step']:.1f}", "-")
    for name in names:
        feed, wall = result["feed"][name], result["wall"][name]
        table.add_row(name, f"{feed['open_s']:.2f}", f"{1000 * feed['line_s']:.2f}", f"{1000 * feed['grid_s']:.1f}",
                      f"{feed.get('modelled', float('nan')):.4%}", f"{1000 * wall['steady_s_per_step']:.1f}",
                      f"{wall['overhead']:+.2%}")
    Console().print(table)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per block")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--trackers", action="store_true", help="also measure the experiment trackers")
    parser.add_argument("--train-steps", type=int, default=300, help="steps of each tracker training run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the tracker runs")
    args = parser.parse_args()

    config = TrainConfig(data=DataConfig(source=args.data), energy=EnergyConfig(max_wh=1e9), device="cpu")
    data = prepare_data(config.data)
    per_boundary = boundary_cost()
    with tempfile.TemporaryDirectory() as tmp:
        metered = make_trainer(data, config, Path(tmp) / "a")
        bare = make_trainer(data, config, Path(tmp) / "b")
        flops = metered.family.flop_counts(metered.images[: config.batch_size])
        timed_steps(metered, 3, False, flops), timed_steps(bare, 3, False, flops)  # warm-up
        times = {"with meter": 0.0, "without meter": 0.0}
        with metered.account.tracker:
            for _ in range(args.blocks):
                times["with meter"] += timed_steps(metered, args.steps, True, flops)
                times["without meter"] += timed_steps(bare, args.steps, False, flops)
        sensors = [s["name"] for s in metered.account.tracker.report().sensors]
    n = args.steps * args.blocks
    step_s = times["without meter"] / n
    modelled = PHASES_PER_STEP * per_boundary / step_s
    measured = times["with meter"] / times["without meter"] - 1

    table = Table(title=f"energy meter overhead ({args.data}, default DCGAN, batch 64, {n} steps each)")
    for col in ("variant", "seconds", "ms/step", "overhead"):
        table.add_column(col, justify="right")
    table.add_row("without meter", f"{times['without meter']:.2f}", f"{1000 * step_s:.1f}", "-")
    table.add_row("with meter", f"{times['with meter']:.2f}", f"{1000 * times['with meter'] / n:.1f}", f"{measured:+.2%}")
    Console().print(table)
    print(f"sensors: {', '.join(sensors)}; one phase boundary costs {per_boundary * 1e6:.2f} us; "
          f"{PHASES_PER_STEP} per step = {modelled:.4%} of a step; wall times vary about 15% between runs")
    trackers = tracker_overhead(args, step_s) if args.trackers else None
    path = write_result("energy_overhead", {
        "steps_each": n, "sensors": sensors, "seconds": times, "step_seconds": step_s,
        "boundary_seconds": per_boundary, "overhead_modelled": modelled, "overhead_wall": measured,
        "trackers": trackers,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
