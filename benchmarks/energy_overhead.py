"""What measuring costs: training steps with and without the energy meter, same seed, side by side.

Two measurements:
1. the meter's own cost per phase boundary (a tight loop of empty phases), times the boundaries a
   training step crosses, divided by the time of one step: precise, immune to run-to-run noise;
2. wall time of the same training steps with the EnergyTracker (phases, sensor reads, FLOP counts,
   budget checks) and with a NullMeter, interleaved in blocks so drift hits both alike.

    python benchmarks/energy_overhead.py [--steps 60] [--blocks 4] [--data mnist]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per block")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--data", default="mnist")
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
    path = write_result("energy_overhead", {
        "steps_each": n, "sensors": sensors, "seconds": times, "step_seconds": step_s,
        "boundary_seconds": per_boundary, "overhead_modelled": modelled, "overhead_wall": measured,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
