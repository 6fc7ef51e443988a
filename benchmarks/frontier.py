"""The quality frontier: FID against watt-hours for every recipe over a long budget, side by side.

    python benchmarks/frontier.py [--seeds 3] [--epochs 30] [--recipes reference,green,quality]
                                  [--n 2000] [--first-wh 0.004] [--marks-per-doubling 3]

Each recipe trains on the bundled MNIST digits for ``--epochs`` (30: 3x the reference's 10), one seed
after another, all in this one process. Quality is checked on ``--n`` generated images (2,000) against
the held-out digits at the same energy marks for every recipe: when the run's *training* energy passes
``--first-wh`` x 2^(k / marks-per-doubling), so the marks are evenly spaced on the plot's log axis. The
checks are metered in their own phase and reported apart; the x axis is training energy alone. It
reports each run's best FID and the training Wh it took to get there, the Wh at which green first
reached the reference's best FID (same seed), and draws all curves in one plot.

Goals (issue 17): every seed's best FID <= 3 on the mnist features (floor: real vs real, about 0.84),
and green reaching the reference's best FID with at least 5x less energy.
"""

from __future__ import annotations

import argparse
import json
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _common import RESULTS, machine_load, print_table, write_result  # noqa: E402
from ecogen import train  # noqa: E402
from ecogen.energy import record as records  # noqa: E402
from ecogen.session.recipes import recipe_config  # noqa: E402
from ecogen.training.hooks import Hooks  # noqa: E402
from ecogen.training.quality import QualityChecks  # noqa: E402

COLOURS = {"reference": "tab:red", "green": "tab:green", "quality": "tab:blue"}


class EnergyMarks(Hooks):
    """A quality check each time the run's training energy (checks and grids excluded) passes the next mark."""

    writes = True

    def __init__(self, first_wh: float, per_doubling: int) -> None:
        self.first, self.per_doubling, self.k = first_wh, per_doubling, 0
        self.lines: list[dict] = []
        self.checks: QualityChecks | None = None  # built at the first check: it needs the run

    def mark(self) -> float:
        return self.first * 2 ** (self.k / self.per_doubling)

    def check(self, state, run) -> None:
        self.checks = self.checks or QualityChecks(None, run)
        with run.account.tracker.phase("eval"):
            self.lines.append(self.checks.check(state, run))

    def after_step(self, state, run) -> str | None:
        if state.step % 5:
            return None
        report = run.account.tracker.report()
        spent = records.training_wh(report.phase_wh())
        if spent >= self.mark():
            while spent >= self.mark():
                self.k += 1
            self.check(state, run)
        return None

    def at_end(self, state, run, stop_reason: str) -> None:
        if not self.lines or self.lines[-1]["step"] != state.step:
            self.check(state, run)


def run(recipe: str, seed: int, epochs: int, n: int, first_wh: float, per_doubling: int) -> dict:
    out = RESULTS / "frontier" / f"{recipe}_seed{seed}"
    # the recipe's own checks and target are switched off: the marks do the checking, alike for all
    config = recipe_config(recipe, {"seed": seed, "epochs": epochs, "eval_every": None, "target_fid": None,
                                    "eval_n": n, "eval_metrics": "fid", "data": {"source": "mnist"}})
    marks = EnergyMarks(first_wh, per_doubling)
    train(config, out, overwrite=True, progress=False, callbacks=[marks])
    record = records.read(out / "run.json")
    best = min(marks.lines, key=lambda c: c["fid"])
    return {
        "recipe": recipe, "seed": seed, "steps": record.step,
        "checks": [{k: c[k] for k in ("step", "seconds", "wh", "wh_train", "fid")} for c in marks.lines],
        "best_fid": best["fid"], "best_step": best["step"], "wh_to_best": best["wh_train"],
        "final_fid": marks.lines[-1]["fid"],
        "wh_train": record.training_wh, "wh_checks": record.phases["eval"].wh,
        "seconds": record.total.seconds, "flops": record.total.flops,
        "estimated": record.estimated, "sensors": [s["name"] for s in record.sensors],
    }


def first_reaching(checks: list[dict], target: float) -> float | None:
    """Training Wh at the first check at or below ``target``."""
    return next((c["wh_train"] for c in checks if c["fid"] <= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--recipes", default="reference,green,quality")
    parser.add_argument("--n", type=int, default=2000, help="generated images per check")
    parser.add_argument("--first-wh", type=float, default=0.004)
    parser.add_argument("--marks-per-doubling", type=int, default=3)
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    payload: dict = {"load_at_start": machine_load(), "epochs": args.epochs, "n": args.n,
                     "first_wh": args.first_wh, "marks_per_doubling": args.marks_per_doubling, "runs": []}
    for seed in range(args.seeds):
        for recipe in recipes:
            result = run(recipe, seed, args.epochs, args.n, args.first_wh, args.marks_per_doubling)
            payload["runs"].append(result)
            print(f"{recipe} seed {seed}: best FID {result['best_fid']:.2f} at {result['wh_to_best']:.4f} Wh "
                  f"(step {result['best_step']}), final {result['final_fid']:.2f}", flush=True)
    runs = {(r["recipe"], r["seed"]): r for r in payload["runs"]}
    ratios = []
    for seed in range(args.seeds):
        ref, green = runs.get(("reference", seed)), runs.get(("green", seed))
        if ref and green:
            wh = first_reaching(green["checks"], ref["best_fid"])
            ratio = ref["wh_to_best"] / wh if wh else None
            green["wh_to_reference_best"], green["ratio_to_reference_best"] = wh, ratio
            ratios.append(ratio)
    payload["median_ratio"] = statistics.median(r for r in ratios if r) if any(ratios) else None
    kind = "estimated" if payload["runs"][0]["estimated"] else "measured"
    rows = [(r["recipe"], str(r["seed"]), f"{r['best_fid']:.2f}", f"{r['wh_to_best']:.4f}", str(r["best_step"]),
             f"{r['final_fid']:.2f}", f"{r['wh_train']:.4f}", f"{r['wh_checks']:.4f}",
             f"{r['ratio_to_reference_best']:.2f}x" if r.get("ratio_to_reference_best") else "-")
            for r in payload["runs"]]
    print_table(f"frontier: FID on {args.n} samples vs training Wh ({kind} energy, sensors {payload['runs'][0]['sensors']})",
                ("recipe", "seed", "best FID", "Wh to best", "step", "final FID", "Wh train", "Wh checks",
                 "green vs ref best"), rows)
    print(f"median green ratio to the reference's best: {payload['median_ratio']}")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in payload["runs"]:
        ax.plot([c["wh_train"] for c in r["checks"]], [c["fid"] for c in r["checks"]], "o-", ms=3, alpha=0.75,
                color=COLOURS.get(r["recipe"]), label=r["recipe"] if r["seed"] == 0 else None)
    ax.axhline(3.0, color="grey", ls="--", lw=0.8, label="goal: FID 3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"training energy ({kind}, Wh)")
    ax.set_ylabel(f"FID, {args.n} samples (mnist features)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "frontier.png", dpi=110)
    path = write_result("frontier", payload)
    print(f"wrote {path} and {RESULTS / 'frontier.png'}")
    print(json.dumps({"median_ratio": payload["median_ratio"]}))


if __name__ == "__main__":
    main()
