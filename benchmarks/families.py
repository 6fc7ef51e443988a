"""What each generator family costs for the same quality: GAN, VAE, diffusion and flow on MNIST, side by side.

    python benchmarks/families.py [--families gan,vae,diffusion,flow] [--seeds 2] [--max-wh 1.0]
                                  [--iterative-wh 3.0] [--n 2000] [--sweep 1,2,4,8,16,32,64]
                                  [--data mnist] [--only-seed K] [--quick]

SLOW: every run trains until its training-energy budget (``--max-wh``, 1 Wh estimated each by default,
checks excluded; ``--iterative-wh`` gives diffusion and flow another), about 11 minutes of training per
Wh on 2 cores; GAN and VAE checks are cheap, but diffusion and flow sample 2,000 images at 8 steps per
check (about a minute each, 9 checks) and then at 1-64 steps for the sweep (15-20 minutes). **The default
2 seeds took 115 minutes on 2 cores of a Zen 5 EPYC (2026-12-04) and 118 on 2 cores of an Intel Xeon with
AMX** (2026-12-03), where ``--sampling fast`` (the default) samples the UNet in bf16; on 2 AVX2 cores, where
it stays fp32, one seed took 1 h 33 min (2026-12-01), so 2 seeds about 3 h. With ``--iterative-wh 3`` each
of diffusion and flow took about 70 minutes on AVX2 (2026-12-02). On Fashion-MNIST one seed at 1 Wh took 77
and 73 minutes (Xeon, fp32 sampling). ``--only-seed`` runs one seed; ``--quick``: minutes, for a smoke run.

All runs are one after another, on the same machine; each finished run is kept in
benchmarks/results/families/FAMILY_seedK_BUDGETwh.json and skipped when the script starts again, so it
can be run in pieces (``--only-seed``, ``--families``); the table, JSON and plots are rebuilt from every
finished run under the budgets asked for (``--restore`` first writes back, from the committed result, the
pieces a fresh clone lacks; ``--iterative-wh 3`` writes families_iterative3wh.json, with
the GAN and VAE at ``--max-wh``; with ``--name N`` the pieces go in N/ and the result is N_iterative3wh).
Quality is FID on ``--n`` (2,000) generated images against the
held-out digits with the bundled mnist extractor, checked each time a run's *training* energy passes the
next mark (the same marks for every family: frontier.py's ``EnergyMarks``); diffusion and flow check at their few
``--check-steps``. After training, the final weights of diffusion and flow are scored again at every
sampling-step count of ``--sweep``, with the energy per image of sampling measured (metered
``ecogen sample``, not estimated from FLOPs) at each.

``--data fashion-mnist`` runs the same on Fashion-MNIST's 60,000 training images, scored against its
10,000 official test images with the bundled ``fashion`` extractor (benchmarks/results/families_fashion*).

Writes benchmarks/results/families.json (a ``families`` mapping: per family, per seed and overall,
``best_fid``, ``wh_to_best``, ``wh_per_1000_images``, ``flops_per_image``; the sweeps; every check; the
goals: where diffusion and flow first reach FID 5, the GAN beside them, the flow steps that match the
GAN) and two plots: FID against training Wh, and FID against Wh per 1,000 sampled images.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _common import (RESULTS, machine_load, piece, pieces, pieces_machine, print_table,  # noqa: E402
                     restore_pieces, write_result)
from frontier import EnergyMarks  # noqa: E402
from ecogen import train  # noqa: E402
from ecogen.api import evaluate, sample_to  # noqa: E402
from ecogen.base.device import resolve_device  # noqa: E402
from ecogen.config import ModelConfig  # noqa: E402
from ecogen.energy.precision import resolve_precision  # noqa: E402
from ecogen.energy import record as records  # noqa: E402
from ecogen.energy.machine import describe_machine  # noqa: E402
from ecogen.training.hooks import Hooks  # noqa: E402

# family -> (recipe, options over it)
FAMILIES = {
    "gan": ("quality", {}),
    "vae": ("conditional-vae", {"model.conditional": False}),
    "diffusion": ("diffusion", {}),
    "flow": ("flow", {}),
}
COLOURS = {"gan": "tab:blue", "vae": "tab:orange", "diffusion": "tab:red", "flow": "tab:green"}
ITERATIVE = ("diffusion", "flow")
GOAL_FID, GOAL_WH = 5.0, 3.0  # diffusion or flow at most this FID within this much training energy
# --data -> (source, fast extractor, result name)
DATA = {"mnist": ("mnist", "mnist", "families"), "fashion-mnist": ("fashion-mnist", "fashion", "families_fashion")}


class TrainingBudget(Hooks):
    """Stops a run before its *training* energy (checks and grids excluded) would pass ``wh``: looked at every
    ``every`` steps, it stops when that many more steps at the mean cost so far would cross the budget,
    so a run ends within it (a stop *at* the budget ended the first 3 Wh flow run at 3.015 Wh). A budget
    on the total would let the checks eat it: 2,000 diffusion samples at 8 steps cost about 0.085 Wh,
    more than 100 of its training steps, so a 1 Wh total left it 0.13 Wh of training (measured)."""

    writes = False

    def __init__(self, wh: float, every: int = 5) -> None:
        self.wh, self.every = wh, every

    def after_step(self, state, run) -> str | None:
        if state.step % self.every:
            return None
        report = run.account.tracker.report()
        spent = records.training_wh(report.phase_wh())
        return "budget_wh" if spent + self.every * spent / state.step > self.wh else None


def sampling_cost(out: Path, steps: int | None, n: int, tmp: Path, fast: bool) -> dict:
    """Wh per 1,000 images and FLOPs per image of metered sampling at ``steps`` (None: one pass); ``fast``:
    ``ecogen sample --fast`` (bf16 where probed faster)."""
    result = sample_to(out, n, tmp / f"sample-{out.name}-{steps}", checkpoint="latest", steps=steps, seed=1,
                       fast=fast)
    return {"wh_per_1000_images": 1000 * result.wh_per_image, "flops_per_image": result.flops_per_image,
            "evaluations": result.evaluations}


def budget_of(family: str, args: argparse.Namespace) -> float:
    """A run's training-energy budget: diffusion and flow may have their own (``--iterative-wh``)."""
    return args.iterative_wh if family in ITERATIVE and args.iterative_wh else args.max_wh


def key(family: str, seed: int, wh: float) -> str:
    """A piece's name: the budget is part of it, so a run under another budget never replaces one (no dot:
    the run's folder name must not read as a file suffix)."""
    return f"{family}_seed{seed}_{wh:g}wh".replace(".", "p")


def run(family: str, seed: int, args: argparse.Namespace, tmp: Path, runs_dir: Path) -> dict:
    started = time.perf_counter()
    recipe, options = FAMILIES[family]
    budget = budget_of(family, args)
    out = runs_dir / key(family, seed, budget)
    source, extractor, _ = DATA[args.data]
    config = {"data.source": source, "eval_extractor": extractor, "seed": seed, "epochs": 1000, "energy.max_wh": None,
              "sample_every": 100_000,  # no grids mid-run: one of 64 diffusion images at 32 steps costs a check
              "eval_every": None, "target_fid": None, "eval_n": args.n, "eval_metrics": "fid",
              "device": args.device, **options}
    marks = EnergyMarks(args.first_wh, args.marks_per_doubling)
    train(config, out, recipe=recipe, overwrite=True, progress=False, callbacks=[marks, TrainingBudget(budget)])
    record = records.read(out / "run.json")
    best = min(marks.lines, key=lambda c: c["fid"])
    entry = {
        "family": family, "seed": seed, "steps": record.step, "max_wh": budget,
        "checks": [{k: c[k] for k in ("step", "wh", "wh_train", "fid")} for c in marks.lines],
        "best_fid": best["fid"], "wh_to_best": best["wh_train"], "best_step": best["step"],
        # training: all but the checks and the grids (records.NOT_TRAINING; the first 3 Wh runs counted 0.013 Wh)
        "wh_train": record.training_wh,
        "estimated": record.estimated,
    }
    # the checks kept no checkpoint of their own: the run's best by FID is the latest check at or below
    # the best; score the final weights across the sweep (and at the default steps for one-pass models),
    # sampling as the checks did: in bf16 where the run computed in it (``--sampling fast``)
    fast = args.sampling == "fast"
    entry["sampling_precision"] = resolve_precision("auto", resolve_device(args.device)) if fast else "fp32"
    if family in ITERATIVE:
        sweep = []
        for steps in args.sweep:
            fid = evaluate(out, metrics="fid", n=args.n, extractor=extractor, checkpoint="latest", device=args.device,
                           progress=False, reference=False, copies=False, steps=steps,
                           fast=fast).metrics["fid"]
            sweep.append({"steps": steps, "fid": fid, **sampling_cost(out, steps, args.cost_n, tmp, fast)})
        entry["sweep"], entry["check_steps"] = sweep, best.get("sampling_steps")
        best_sweep = min(sweep, key=lambda s: s["fid"])
        entry.update(final_best_fid=best_sweep["fid"], best_sampling_steps=best_sweep["steps"])
        if best_sweep["fid"] < entry["best_fid"]:  # the final weights win: their training energy, not a check's
            entry.update(best_fid=best_sweep["fid"], wh_to_best=entry["wh_train"], best_step=record.step)
        entry = priced(entry)
    else:
        entry.update(sampling_cost(out, None, args.cost_n, tmp, fast))
    entry["wall_s"] = time.perf_counter() - started  # training, checks, sweep and costs: the piece's share
    return entry


def priced(entry: dict) -> dict:
    """A diffusion or flow piece's sampling cost at the steps that gave its best FID: the sweep's best when
    the final weights won, else the check's few steps (its cost measured by the sweep at that count).
    Pieces from before ``check_steps`` was kept all checked at ModelConfig's default."""
    if "sweep" not in entry:
        return entry
    check_won = entry["best_fid"] < entry["final_best_fid"]
    steps = (entry.get("check_steps") or ModelConfig().check_steps) if check_won else entry["best_sampling_steps"]
    at = next((s for s in entry["sweep"] if s["steps"] == steps), None)
    if at is None:  # checks at a count the sweep left out: unpriced rather than priced at another count
        return {**entry, "best_fid_steps": steps, "wh_per_1000_images": float("nan"), "flops_per_image": float("nan")}
    return {**entry, "best_fid_steps": steps,
            "wh_per_1000_images": at["wh_per_1000_images"], "flops_per_image": at["flops_per_image"]}


def overall(runs: list[dict]) -> dict:
    out = {}
    for family in FAMILIES:
        mine = [r for r in runs if r["family"] == family]
        if not mine:
            continue
        out[family] = {
            "per_seed": {str(r["seed"]): {k: r.get(k) for k in ("best_fid", "wh_to_best", "wh_per_1000_images",
                                                                   "flops_per_image")} for r in mine},
            **{k: statistics.fmean(r[k] for r in mine) for k in ("best_fid", "wh_to_best", "wh_per_1000_images",
                                                                 "flops_per_image")},
        }
    return out


def goals(runs: list[dict], fid_goal: float = GOAL_FID) -> dict:
    """The issue's goals, read off the runs: where each diffusion/flow run first reaches ``fid_goal`` (a
    check at its few check steps, else the final sweep's best), with the same seed's GAN at that training
    energy (its last check at or below it), and the fewest sampling steps at which flow's final model
    matches the same seed's best GAN FID."""
    by = {(r["family"], r["seed"]): r for r in runs}
    reached, matched = [], []
    for r in runs:
        if r["family"] not in ITERATIVE:
            continue
        gan = by.get(("gan", r["seed"]))
        first = next(({**c, "how": "check"} for c in r["checks"] if c["fid"] <= fid_goal), None)
        if first is None and r.get("final_best_fid", float("inf")) <= fid_goal:
            first = {"wh_train": r["wh_train"], "fid": r["final_best_fid"],
                     "how": f"final weights at {r['best_sampling_steps']} steps"}
        gan_check = None
        if first and gan:
            before = [c for c in gan["checks"] if c["wh_train"] <= first["wh_train"]]
            gan_check = before[-1] if before else None
        reached.append({"family": r["family"], "seed": r["seed"], "reached": first is not None,
                        "within_goal_wh": bool(first) and first["wh_train"] <= GOAL_WH,
                        "wh_train": first and first["wh_train"], "fid": first and first["fid"],
                        "how": first and first["how"], "best_fid": r["best_fid"],
                        "gan_fid_at_same_wh": gan_check and gan_check["fid"],
                        "gan_check_wh": gan_check and gan_check["wh_train"]})
        if r["family"] == "flow" and gan and "sweep" in r:
            steps = next((s["steps"] for s in r["sweep"] if s["fid"] <= gan["best_fid"]), None)
            matched.append({"seed": r["seed"], "gan_best_fid": gan["best_fid"], "flow_steps_to_match": steps})
    return {"fid_goal": fid_goal, "within_wh": GOAL_WH, "first_reached": reached, "flow_matches_gan": matched}


def plots(runs: list[dict], n: int, extractor: str, name: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in runs:
        ax.plot([c["wh_train"] for c in r["checks"]], [c["fid"] for c in r["checks"]], "o-", ms=3, alpha=0.8,
                color=COLOURS[r["family"]], label=r["family"] if r["seed"] == 0 else None)
    _save(fig, ax, "training energy (Wh, estimated)", f"FID, {n} samples ({extractor} features)",
          "Quality against training energy, by family", f"{name}_training.png")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in runs:
        if "sweep" in r:
            ax.plot([s["wh_per_1000_images"] for s in r["sweep"]], [s["fid"] for s in r["sweep"]], "o-", ms=3,
                    color=COLOURS[r["family"]], label=f"{r['family']} (1-64 steps)" if r["seed"] == 0 else None)
        else:
            ax.scatter([r["wh_per_1000_images"]], [r["best_fid"]], color=COLOURS[r["family"]],
                       label=r["family"] if r["seed"] == 0 else None)
    _save(fig, ax, "sampling energy (Wh per 1,000 images, measured)", f"FID, {n} samples ({extractor} features)",
          "Quality against sampling energy, by family", f"{name}_sampling.png")


def _save(fig, ax, xlabel: str, ylabel: str, title: str, name: str) -> None:
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / name, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="gan,vae,diffusion,flow")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only-seed", type=int, default=None, help="run this seed alone (a piece of the table)")
    parser.add_argument("--max-wh", type=float, default=1.0, help="each run's training energy budget (checks excluded)")
    parser.add_argument("--iterative-wh", type=float, default=None,
                        help="diffusion's and flow's budget, when not --max-wh (the goal allows them 3 Wh)")
    parser.add_argument("--n", type=int, default=2000, help="generated images per FID")
    parser.add_argument("--cost-n", type=int, default=200, help="images sampled to measure the energy per image")
    parser.add_argument("--sweep", default="1,2,4,8,16,32,64", help="sampling steps scored for diffusion and flow")
    parser.add_argument("--first-wh", type=float, default=0.004)
    parser.add_argument("--marks-per-doubling", type=int, default=1,
                        help="checks per doubling of training energy (a diffusion check at 2,000 samples is ~50 s)")
    parser.add_argument("--data", choices=sorted(DATA), default="mnist",
                        help="fashion-mnist: 60,000 training images, scored against the official test split")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sampling", choices=("fast", "fp32"), default="fast",
                        help="fast: sweeps and sampling costs in bf16 where probed faster (as a bf16 run's checks)")
    parser.add_argument("--name", default=None, help="results name (default: from --data), its pieces' folder; "
                                                     "--iterative-wh adds _iterativeXwh to the result's name")
    parser.add_argument("--restore", action="store_true",
                        help="first write the committed result's runs back as pieces where none is kept")
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.01 Wh, 200 images, steps 1,4")
    args = parser.parse_args()
    started = time.perf_counter()
    # the pieces' folder is per data set (or --name), the result per budget too: one folder serves both budgets
    name = (args.name or DATA[args.data][2]) + (f"_iterative{args.iterative_wh:g}wh" if args.iterative_wh else "")
    if args.quick:
        args.max_wh, args.n, args.cost_n, args.seeds, args.sweep, args.first_wh = 0.01, 200, 20, 1, "1,4", 0.002
        name += "_quick"
    args.sweep = [int(s) for s in args.sweep.split(",")]
    seeds = [args.only_seed] if args.only_seed is not None else list(range(args.seeds))
    payload: dict = {"load_at_start": machine_load(), "data": args.data, "extractor": DATA[args.data][1],
                     "max_wh": args.max_wh, "budget": "training Wh, checks excluded",
                     "iterative_wh": args.iterative_wh, "n": args.n, "sweep": args.sweep,
                     "marks_per_doubling": args.marks_per_doubling, "sampling": args.sampling}
    # every budget's pieces, in one folder per data set (or per --name)
    runs_dir = RESULTS / ((args.name or DATA[args.data][2]) + ("_quick" if args.quick else ""))
    runs_dir.mkdir(parents=True, exist_ok=True)
    if args.restore:
        restored = restore_pieces(runs_dir, RESULTS / f"{name}.json",
                                  lambda r: key(r["family"], r["seed"], r["max_wh"]))
        print(f"restored {restored} pieces from {name}.json into {runs_dir.name}/", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for family in args.families.split(","):
                piece(runs_dir / f"{key(family, seed, budget_of(family, args))}.json", f"{family} seed {seed}",
                      lambda: {**run(family, seed, args, Path(tmp), runs_dir),
                               "load_at_start": payload["load_at_start"], "machine": describe_machine()},
                      lambda e: f"best FID {e['best_fid']:.2f} at {e['wh_to_best']:.4f} Wh, "
                                f"{e['wh_per_1000_images']:.4f} Wh per 1,000 images")
    order = {f: i for i, f in enumerate(FAMILIES)}
    runs = sorted((priced(r) for r in pieces(runs_dir) if r.get("max_wh") == budget_of(r["family"], args)),
                  key=lambda r: (r["seed"], order[r["family"]]))
    payload["runs"], payload["families"], payload["goals"] = runs, overall(runs), goals(runs)
    # the whole table's time: every piece's own (pieces may come from several starts), and this start's
    payload["wall_s_pieces"] = sum(r.get("wall_s", float("nan")) for r in runs)
    payload["wall_s_this_start"] = time.perf_counter() - started
    rows = [(f, f"{v['best_fid']:.2f}", f"{v['wh_to_best']:.4f}", f"{v['wh_per_1000_images']:.4f}",
             f"{v['flops_per_image']:.3g}") for f, v in payload["families"].items()]
    print_table(f"families on {args.data} (mean over {len({r['seed'] for r in runs})} seeds; FID on {args.n}, "
                f"{DATA[args.data][1]} features)",
                ("family", "best FID", "training Wh to best", "Wh / 1,000 images", "FLOPs / image"), rows)
    for g in payload["goals"]["first_reached"]:
        gan = (f"the GAN's check at {g['gan_check_wh']:.3f} Wh: FID {g['gan_fid_at_same_wh']:.2f}"
               if g["gan_check_wh"] is not None else "no GAN check by then")
        print(f"{g['family']} seed {g['seed']}: " + (
            f"FID {g['fid']:.2f} <= {GOAL_FID} at {g['wh_train']:.3f} training Wh ({g['how']}; {gan})"
            if g["reached"] else f"never at most {GOAL_FID} (best {g['best_fid']:.2f})"))
    for m in payload["goals"]["flow_matches_gan"]:
        gan = f"the GAN's best FID {m['gan_best_fid']:.2f}"
        print(f"flow seed {m['seed']}: " + (f"matches {gan} at {m['flow_steps_to_match']} sampling steps"
                                           if m["flow_steps_to_match"] else f"does not reach {gan} at any step count"))
    if not args.quick:
        plots(runs, args.n, DATA[args.data][1], name)
    path = write_result(name, payload, machine=pieces_machine(runs))
    print(f"{payload['wall_s_pieces'] / 60:.0f} minutes for the table's runs ({payload['wall_s_this_start'] / 60:.0f} "
          f"in this start); wrote {path}")


if __name__ == "__main__":
    main()
