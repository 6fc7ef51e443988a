"""How close `ecogen plan`'s prediction comes to the run: default (reference), green and VAE recipes.

    python benchmarks/plan_accuracy.py [--steps 300] [--data mnist]

For each recipe: `ecogen plan --out RUN` (5 warm-up + 20 probe steps), then `ecogen train --out RUN` with
the same options, which records the plan; the table sets predicted against actual seconds and Wh (the
whole bill: steps, quality checks, checkpoints, grids) and says whether the actual fell inside the
predicted range. The goal is within 15%. Run it on a quiet machine: the prediction assumes the machine
stays as busy as it was during the probe.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_load, print_table, write_result  # noqa: E402

RECIPES = {  # name -> options (the default recipe is no --recipe at all)
    "default": [],
    "green": ["--recipe", "green"],
    "vae": ["--model", "vae"],
}


def ecogen(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "ecogen", *args, "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ecogen {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--data", default="mnist")
    args = parser.parse_args()
    load = machine_load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in RECIPES.items():
            out = str(Path(tmp) / name)
            common = ["--data", args.data, "--steps", str(args.steps), "--device", "cpu", *options, "--out", out]
            print(f"{name}: plan ...", file=sys.stderr)
            plan = ecogen("plan", *common)["prediction"]
            print(f"{name}: train ...", file=sys.stderr)
            record = ecogen("train", *common, "--quiet")["record"]
            row = {"recipe": name, "steps": record["step"], "checks": plan["checks"], "estimated": record["estimated"]}
            for key, actual in (("seconds", record["total"]["seconds"]), ("wh", record["total"]["wh"])):
                row[key] = {"predicted": plan[key], "low": plan[f"{key}_low"], "high": plan[f"{key}_high"],
                            "actual": actual, "error": actual / plan[key] - 1,
                            "inside_range": plan[f"{key}_low"] <= actual <= plan[f"{key}_high"]}
            row["probe_seconds"] = plan["probe"]["seconds"]
            row["within_15_percent"] = all(abs(row[k]["error"]) <= 0.15 for k in ("seconds", "wh"))
            rows.append(row)
    print_table(f"plan accuracy: {args.data}, {args.steps} steps ({'estimated' if rows[0]['estimated'] else 'measured'} energy)",
                ("recipe", "checks", "predicted s", "actual s", "error", "predicted Wh", "actual Wh", "error",
                 "within 15%"),
                [(r["recipe"], str(r["checks"]), f"{r['seconds']['predicted']:.1f}", f"{r['seconds']['actual']:.1f}",
                  f"{r['seconds']['error']:+.1%}", f"{r['wh']['predicted']:.4f}", f"{r['wh']['actual']:.4f}",
                  f"{r['wh']['error']:+.1%}", "yes" if r["within_15_percent"] else "no") for r in rows])
    path = write_result("plan_accuracy", {"data": args.data, "steps": args.steps, "load": load, "rows": rows})
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
