"""The GPU check: everything ecogen claims about NVIDIA GPUs, measured in one go (run by gpu_check.sh).

    python benchmarks/gpu_check.py [--steps 300] [--out FILE]

1. the test suite's CUDA-marked tests;
2. the default and green recipes, trained for a fixed number of steps: images/s, FLOP/s and utilisation
   against `ecogen calibrate`'s peak;
3. NVML's measured energy next to the estimates a tool without counters would give (the board's power
   limit x time, as TDP-based trackers do; and ecogen's CPU-time estimate of the host side);
4. `sample --fast` against fp32 sampling;
5. two processes of DDP sharing the one GPU (gloo), when it works.
Each step records its result or its error and the check goes on; one JSON is written at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

ECOGEN = [sys.executable, "-m", "ecogen"]
DEVICE = "cuda"  # --device cpu: a dry run of the script's plumbing on a machine without a GPU


def sh(cmd: list[str], timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def step(results: dict, name: str, fn: Any) -> None:
    """Run one part of the check; a failure is recorded with its message, and the next part runs."""
    start = time.perf_counter()
    try:
        results[name] = {"ok": True, **fn()}
    except Exception as err:  # noqa: BLE001  (a check reports every failure and goes on)
        results[name] = {"ok": False, "error": f"{type(err).__name__}: {str(err)[-1500:]}"}
    results[name]["seconds"] = round(time.perf_counter() - start, 1)
    print(f"{name}: {'ok' if results[name]['ok'] else 'FAILED'} ({results[name]['seconds']} s)", file=sys.stderr)


def cuda_tests() -> dict:
    proc = sh([sys.executable, "-m", "pytest", "-m", "cuda", "-p", "no:cacheprovider", "-q", "tests/"], timeout=400)
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", proc.stdout)}
    if proc.returncode not in (0, 5) or counts.get("failed") or counts.get("error") or counts.get("errors"):
        raise RuntimeError(proc.stdout[-2500:])
    return {"counts": counts, "summary": proc.stdout.strip().splitlines()[-1]}


def calibrate() -> dict:
    import ecogen.api as api

    entry = api.calibrate(DEVICE, seconds=1.5)
    return {"device": entry["device"], "peak_flops": entry["peak_flops"]}


def train(recipe: str, steps: int, tmp: Path) -> dict:
    out = tmp / recipe
    chosen = ["--recipe", recipe] if recipe != "default" else []  # default: the plain defaults (no recipe)
    proc = sh(ECOGEN + ["train", "--data", "mnist", *chosen, "--steps", str(steps), "--device", DEVICE,
                        "--eval-every", "100000", "--sample-every", "100000", "--checkpoint-every", "100000",
                        "--sensors", "auto", "--out", str(out), "--json", "--quiet"])
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    record = json.loads(proc.stdout)["record"]
    train_phases = {k: v for k, v in record["phases"].items() if k in ("d_step", "g_step", "vae_step", "data")}
    seconds = sum(v["seconds"] for v in train_phases.values())
    flops = sum(v["flops"] for v in train_phases.values())
    by_domain = {s["domain"]: s for s in record["sensors"]}
    gpu = by_domain.get("gpu", {})
    return {
        "run": str(out), "steps": record["step"], "train_images": record["train_images"],
        "images_per_s": record["train_images"] / seconds if seconds else None,
        "flops_per_s": flops / seconds if seconds else None,
        "utilization": flops / seconds / record["peak_flops"] if seconds and record["peak_flops"] else None,
        "peak_flops": record["peak_flops"], "precision": record.get("machine", {}).get("precision"),
        "total_seconds": record["total"]["seconds"], "total_wh": record["total"]["wh"],
        "gpu_sensor": {k: gpu.get(k) for k in ("name", "wh", "method", "gpu", "scope")},
        "cpu_sensor": {k: by_domain.get("cpu", {}).get(k) for k in ("name", "wh", "estimated")},
    }


def nvml_vs_estimates(trained: dict) -> dict:
    """The board's measured energy against what tools without counters would say for the same runs."""
    import pynvml

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    limit_w = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000.0
    idle_w = pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
    rows = {}
    for recipe, run in trained.items():
        if not run.get("ok") or run["gpu_sensor"].get("wh") is None:
            continue
        measured = run["gpu_sensor"]["wh"]
        tdp_estimate = limit_w * run["total_seconds"] / 3600.0
        rows[recipe] = {"nvml_wh": measured, "power_limit_x_time_wh": tdp_estimate,
                        "tdp_estimate_over_measured": tdp_estimate / measured if measured else None,
                        "mean_board_watts": measured * 3600.0 / run["total_seconds"],
                        "host_cpu_estimate_wh": run["cpu_sensor"].get("wh")}
    return {"power_limit_w": limit_w, "idle_power_w": idle_w, "runs": rows}


def sampling(run: str, n: int = 50000) -> dict:
    """Images/s and Wh per image of the generator, fp32 against `sample --fast` (bf16 + channels-last +
    big batches), metered like `ecogen sample`; the images' mean difference says what bf16 changed."""
    import torch

    import ecogen.api as api
    from ecogen.energy import metered

    out = {}
    images = {}
    for label in ("fp32", "fast"):
        generator = api.load(run, device=DEVICE)
        batch = 256
        if label == "fast":
            generator.enable_fast()
            batch = 4096
        generator.sample(batch, seed=1, batch_size=batch)  # warm-up: kernels chosen, memory allocated
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        with metered(generator.config.energy, generator.device) as tracker:
            with tracker.phase("sample"):
                start = time.perf_counter()
                images[label] = generator.sample(n, seed=0, batch_size=batch)
                if DEVICE == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
        report = tracker.report()
        out[label] = {"precision": generator.precision, "batch_size": batch, "seconds": seconds,
                      "images_per_s": n / seconds, "wh": report.wh(), "wh_per_image": report.wh() / n}
    diff = (images["fp32"] - images["fast"]).abs()
    return {"n": n, **out, "speedup": out["fp32"]["seconds"] / out["fast"]["seconds"],
            "energy_ratio": out["fast"]["wh"] / out["fp32"]["wh"] if out["fp32"]["wh"] else None,
            "mean_abs_pixel_difference": float(diff.mean()), "max_abs_pixel_difference": float(diff.max())}


def ddp_one_gpu(steps: int, tmp: Path) -> dict:
    out = tmp / "ddp"
    proc = sh([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ecogen",
               "train", "--data", "mnist", "--steps", str(steps), "--device", DEVICE, "--sample-every", "100000",
               "--out", str(out), "--json", "--quiet"], timeout=300, env={"OMP_NUM_THREADS": "4"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    record = json.loads(proc.stdout)["record"]
    return {"world_size": record["world_size"], "train_images": record["train_images"],
            "images_per_s": record["train_images"] / record["total"]["seconds"], "total_wh": record["total"]["wh"],
            "ranks": [{k: r[k] for k in ("rank", "device", "wh", "flops")} for r in record["ranks"] or []],
            "backend": "gloo (two ranks share one GPU; nccl refuses that)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--device", default="cuda", help="cpu: a dry run of the plumbing, not a GPU check")
    parser.add_argument("--n-sample", type=int, default=50000)
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    import torch

    results: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here")
    if not args.skip_tests:
        step(results, "cuda_tests", cuda_tests)
    step(results, "calibrate", calibrate)
    with tempfile.TemporaryDirectory() as tmp:
        trained = {}
        for recipe in ("default", "green"):
            step(results, f"train_{recipe}", lambda r=recipe: train(r, args.steps, Path(tmp)))
            trained[recipe] = results[f"train_{recipe}"]
        step(results, "energy_nvml_vs_estimates", lambda: nvml_vs_estimates(trained))
        if trained["default"]["ok"]:
            step(results, "sample_fast_vs_fp32", lambda: sampling(trained["default"]["run"], args.n_sample))
        step(results, "ddp_two_ranks_one_gpu", lambda: ddp_one_gpu(max(args.steps // 3, 50), Path(tmp)))
    results["device"] = DEVICE
    path = write_result("gpu_check" if DEVICE == "cuda" else f"gpu_check_dry_run_{DEVICE}", results)
    print(json.dumps({k: v.get("ok") for k, v in results.items() if isinstance(v, dict)}), file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(path.read_text())


if __name__ == "__main__":
    main()
