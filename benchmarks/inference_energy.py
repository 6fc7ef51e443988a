"""Inference cost: images/s and Wh per 1,000 images for the reference path (fp32, eager, batch 1 and
64) and the --fast path, with the FID of each against the run's held-out digits.

    python benchmarks/inference_energy.py [--run runs/demo] [--n 2000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from _common import write_result
from ecogen import load
from ecogen.data import prepare_data
from ecogen.energy import EnergyTracker
from ecogen.metrics import Evaluator
from ecogen.rundir import RunDir


def measure(gen, n: int, batch: int, seed: int = 0):
    with EnergyTracker("auto") as tracker, tracker.phase("sample"):
        images = gen.sample(n, seed=seed, batch_size=batch)
    report = tracker.report()
    return images, report.total.seconds, report.wh(), report.estimated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"))
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    base = load(args.run, device="cpu")
    data = prepare_data(base.config.data, split=RunDir(args.run).read_split())
    evaluator = Evaluator.for_data(data, "mnist", ["fid"], base.device)
    rows, payload = [], {"run": str(args.run), "n": args.n, "paths": {}}
    for label, batch, fast in (("fp32 eager, batch 1", 1, False), ("fp32 eager, batch 64", 64, False),
                               ("--fast (batch 1024)", 1024, True)):
        gen = load(args.run, device="cpu")
        if fast:
            gen.enable_fast()
        gen.sample(8, batch_size=batch)  # warm-up
        images, seconds, wh, estimated = measure(gen, args.n, batch)
        fid = evaluator.score(images)["fid"]
        rows.append((label, gen.precision, f"{args.n / seconds:,.0f}", f"{1000 * wh / args.n:.4f}", f"{fid:.2f}"))
        payload["paths"][label] = {"precision": gen.precision, "images_per_s": args.n / seconds,
                                   "wh_per_1000": 1000 * wh / args.n, "fid": fid, "estimated": estimated}
    table = Table(title=f"inference on {args.n} images from {args.run} (energy estimated: {estimated})")
    for col in ("path", "precision", "images/s", "Wh / 1,000 images", "FID"):
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    ref, fast = payload["paths"]["fp32 eager, batch 64"], payload["paths"]["--fast (batch 1024)"]
    print(f"--fast: {ref['wh_per_1000'] / fast['wh_per_1000']:.2f}x less energy than fp32 batch 64; "
          f"FID {fast['fid']:.2f} vs {ref['fid']:.2f} ({(fast['fid'] / ref['fid'] - 1):+.1%})")
    print(f"wrote {write_result('inference_energy', payload)}")


if __name__ == "__main__":
    main()
