"""Images/s and Wh per image at 1 and 2 worker processes (torchrun + DDP), side by side in one run.

    python benchmarks/scaling.py [--steps 150] [--data mnist]

Each configuration is one `ecogen train` (the default recipe, a fixed number of steps, no grids or
checks); the numbers come from its run.json: training images over wall seconds, and the bill (summed
over ranks) over training images. Rows: 1 process using every core; 2 processes with one core each and
the same batch per process (twice the global batch); 2 processes with half the batch each (the same
global batch as one process). On a 2-core machine two processes cannot beat one that already uses both
cores; the table says what they cost instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_load, print_table, write_result  # noqa: E402

CONFIGS = (  # name, processes, batch per process, threads per process
    ("1 process", 1, 64, None),
    ("2 processes, batch 64 each", 2, 64, 1),
    ("2 processes, batch 32 each", 2, 32, 1),
)


def run(name: str, procs: int, batch: int, threads: int | None, args: argparse.Namespace, out: Path) -> dict:
    train = ["-m", "ecogen", "train", "--data", args.data, "--steps", str(args.steps), "--batch-size", str(batch),
             "--sample-every", "100000", "--checkpoint-every", "100000", "--log-every", "50",
             "--device", args.device, "--out", str(out), "--json", "--quiet"]
    env = {**os.environ}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    launcher = [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                   f"--nproc_per_node={procs}"]
    proc = subprocess.run(launcher + train, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
    record = json.loads(proc.stdout)["record"]
    images, seconds, wh = record["train_images"], record["total"]["seconds"], record["total"]["wh"]
    return {"name": name, "processes": procs, "batch_per_process": batch, "global_batch": batch * procs,
            "threads_per_process": threads or (os.cpu_count() or 1), "steps": record["step"],
            "train_images": images, "seconds": seconds, "images_per_s": images / seconds,
            "wh": wh, "wh_per_image": wh / images, "estimated": record["estimated"],
            "ranks": [{k: r[k] for k in ("rank", "seconds", "wh", "flops")} for r in record.get("ranks") or []]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    load = machine_load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, procs, batch, threads) in enumerate(CONFIGS):
            print(f"[{i + 1}/{len(CONFIGS)}] {name} ...", file=sys.stderr)
            rows.append(run(name, procs, batch, threads, args, Path(tmp) / f"run{i}"))
    base = rows[0]
    for row in rows:
        row["speedup"] = row["images_per_s"] / base["images_per_s"]
        row["energy_per_image_ratio"] = row["wh_per_image"] / base["wh_per_image"]
    print_table(f"scaling: {args.data}, {args.steps} steps, default recipe ({'estimated' if base['estimated'] else 'measured'} energy)",
                ("configuration", "global batch", "images/s", "speed-up", "Wh per 1k images", "vs 1 process"),
                [(r["name"], str(r["global_batch"]), f"{r['images_per_s']:.0f}", f"{r['speedup']:.2f}x",
                  f"{r['wh_per_image'] * 1000:.4f}", f"{r['energy_per_image_ratio']:.2f}x") for r in rows])
    path = write_result("scaling", {"data": args.data, "steps": args.steps, "device": args.device, "load": load,
                                    "rows": rows})
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
