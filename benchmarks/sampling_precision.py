"""bf16 sampling of diffusion and flow: fp32, bf16 autocast and bf16 weights (what ``--fast`` picks), side by side.

    python benchmarks/sampling_precision.py RUN [RUN ...] [--steps 8,32] [--n 2000] [--name sampling_precision]

RUN: diffusion or flow run folders (families.py keeps its runs in benchmarks/results/NAME/). For each run
and mode, from a fresh load of its latest checkpoint: the time of one UNet pass per 256 images at batch
256 and 1,024, also channels-last (the old ``--fast``); then ``--n`` images sampled at each ``--steps``,
timed and metered (CPU-time estimate), with their FID (seed 0, the run's own extractor, against its
held-out split). All in one process on one machine: compare within the run, not with other files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from _common import machine_load, print_table, write_result
from inference_energy import measure
from ecogen import load
from ecogen.data import prepare_data
from ecogen.metrics import Evaluator
from ecogen.rundir import RunDir

# mode -> (autocast precision, bf16 weights, channels-last)
MODES = {
    "fp32": ("fp32", False, False),
    "bf16 autocast": ("bf16", False, False),
    "bf16 weights (--fast)": ("bf16", True, False),
}
PASS_ONLY = {"bf16 autocast, channels-last (old --fast)": ("bf16", False, True),
             "fp32, channels-last": ("fp32", False, True)}


def generator(run: Path, mode: tuple[str, bool, bool]):
    precision, weights, channels_last = mode
    gen = load(run, device="cpu")
    if weights:
        gen.module = gen.spec.fast(gen.module, "bf16")
    if channels_last:
        gen.module = gen.module.to(memory_format=torch.channels_last)
    gen.precision = precision
    return gen


def pass_seconds(gen, batch: int, repeats: int = 8) -> float:
    """Seconds per 256 images of one network pass (a one-step sampling: the pass and one update)."""
    gen.use_steps(1)
    z, labels = gen.latents(batch), gen.labels(batch)
    gen.decode(z, batch, labels)  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        gen.decode(z, batch, labels)
    return (time.perf_counter() - started) / repeats * 256 / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--steps", default="8,32")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--name", default="sampling_precision")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    payload: dict = {"load_at_start": machine_load(), "n": args.n, "steps": steps, "runs": []}
    pass_rows, rows = [], []
    for run in args.runs:
        base = load(run, device="cpu")
        if not base.spec.iterative:
            raise SystemExit(f"{run}: a {base.config.model.name} run; this compares diffusion and flow sampling")
        data = prepare_data(base.config.data, split=RunDir(run).read_split())
        evaluator = Evaluator.for_data(data, base.config.eval_extractor, ["fid"], base.device)
        entry = {"run": str(run), "model": base.config.model.name, "step": base.step,
                 "extractor": base.config.eval_extractor, "passes": {}, "sampling": []}
        for label, mode in {**MODES, **PASS_ONLY}.items():
            gen = generator(run, mode)
            entry["passes"][label] = {str(b): pass_seconds(gen, b) for b in (256, 1024)}
            pass_rows.append((f"{run.name}: {label}", *(f"{entry['passes'][label][str(b)]:.3f}" for b in (256, 1024))))
        for label, mode in MODES.items():
            gen = generator(run, mode)
            for k in steps:
                gen.use_steps(k)
                images, seconds, wh, estimated = measure(gen, args.n, 256)
                fid = evaluator.score(images)["fid"]
                per_1000 = 1000 * wh / args.n
                entry["sampling"].append({"mode": label, "steps": k, "seconds": seconds, "wh_per_1000": per_1000,
                                          "fid": fid, "estimated": estimated})
                rows.append((f"{run.name}: {label}", str(k), f"{seconds:.1f}", f"{per_1000:.4f}", f"{fid:.2f}"))
                print(f"{run.name} {label} {k} steps: {seconds:.1f} s, FID {fid:.2f}", flush=True)
        payload["runs"].append(entry)
    print_table("one UNet pass: seconds per 256 images", ("run: mode", "batch 256", "batch 1,024"), pass_rows)
    print_table(f"sampling {args.n} images (energy estimated from CPU time)",
                ("run: mode", "steps", "seconds", "Wh / 1,000 images", "FID"), rows)
    print(f"wrote {write_result(args.name, payload)}")


if __name__ == "__main__":
    main()
