"""Colour emoji under the small-set protocol: today's `make demo-color` settings against the `colour` recipe.

    python benchmarks/colour_quality.py [--seeds 3] [--only-seed K] [--n 5000] [--quick]

SLOW: each side trains as `make demo-color` would (a few minutes), then 5,000 generated images are scored
with Inception features (about 8 minutes at 10 images/s on 2 cores), so 3 seeds x 2 sides take about
1.5 hours; the Inception features of all 1,589 emoji are extracted once and cached. Both sides run in
this one process, side by side, on the same machine.

The protocol is the one few-shot papers use: FID and KID of ``--n`` generated images against the whole
data set (all 1,589 emoji), Inception features; precision and recall; the real-data reference (held-out
against train); and the share of near-copies of a training image (metrics/copies.py). Each side samples
its best checkpoint by its own checks, as `make demo-color` does.

Each finished (side, seed) is kept in benchmarks/results/colour_quality/SIDE_seedK.json and skipped when
started again; the table and JSON are rebuilt from all finished runs. Writes
benchmarks/results/colour_quality.json (per seed: each side's figures and ``kid_ratio``, the new recipe's
KID over the old settings' KID) and colour_quality.png (64 samples of each side, seed 0).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from PIL import Image

from _common import RESULTS, machine_load, piece, pieces, print_table, write_result
from ecogen import train
from ecogen.api import evaluate, load
from ecogen.base.images import save_grid
from ecogen.energy import record as records

# side -> (recipe, options): "old" is the Makefile's demo-color before the colour recipe
SIDES = {"old": ("green", {"epochs": 60}), "new": ("colour", {})}
FOLDER = RESULTS / "colour_quality"


def run_side(side: str, seed: int, args: argparse.Namespace) -> dict:
    recipe, options = SIDES[side]
    out = FOLDER / f"{side}_seed{seed}"
    config = {"data.source": "emoji", "seed": seed, "device": args.device, **options}
    if args.quick:
        config["epochs"] = 2
    train(config, out, recipe=recipe, overwrite=True, progress=False)
    record = records.read(out / "run.json")
    wh_train = record.training_wh
    scored = evaluate(out, metrics="fid,kid,pr", n=args.n, extractor=args.extractor, against="all",
                      copies=True, checkpoint="best", progress=False, device=args.device)
    save_grid(load(out, checkpoint="best").sample(64, seed=0), FOLDER / f"{side}_seed{seed}.png", nrow=8)
    return {
        "side": side, "recipe": recipe, "options": options, "seed": seed, "steps": record.step,
        "wh_train": wh_train, "wh_total": record.total.wh, "estimated": record.estimated, "eval_wh": scored.energy["wh"],
        "fid": scored.metrics["fid"], "kid": scored.metrics["kid"], "kid_std": scored.metrics.get("kid_std"),
        "precision": scored.metrics.get("precision"), "recall": scored.metrics.get("recall"),
        "near_copy_share": scored.copies["share"], "heldout_copy_share": scored.copies["heldout_share"],
        "reference": scored.real_vs_real, "n_fake": scored.n_fake, "n_real": scored.n_real,
        "extractor": scored.extractor,
    }


def side_by_side(path) -> None:
    """Seed 0's 64 samples of each side, old left, new right."""
    grids = [np.asarray(Image.open(FOLDER / f"{side}_seed0.png").convert("RGB")) for side in SIDES]
    gap = np.full((grids[0].shape[0], 16, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([grids[0], gap, grids[1]], axis=1)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only-seed", type=int, default=None)
    parser.add_argument("--n", type=int, default=5000, help="generated images per score")
    parser.add_argument("--extractor", default="inception")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, 200 images, emoji features")
    args = parser.parse_args()
    global FOLDER
    name = "colour_quality"
    if args.quick:
        args.n, args.extractor, args.seeds, name = 200, "emoji", 1, "colour_quality_quick"
        FOLDER = RESULTS / name
    FOLDER.mkdir(parents=True, exist_ok=True)
    load_state = machine_load()
    seeds = [args.only_seed] if args.only_seed is not None else list(range(args.seeds))
    for seed in seeds:
        for side in SIDES:  # side by side: old then new, seed by seed
            piece(FOLDER / f"{side}_seed{seed}.json", f"{side} seed {seed}",
                  lambda: {**run_side(side, seed, args), "load_at_start": load_state},
                  lambda r: f"KID {r['kid']:.4f}, FID {r['fid']:.1f}, near-copies {r['near_copy_share']:.1%}, "
                            f"{r['wh_train']:.3f} Wh")
    runs = {(r["side"], r["seed"]): r for r in pieces(FOLDER)}
    per_seed = {}
    for seed in sorted({s for _, s in runs}):
        if ("old", seed) in runs and ("new", seed) in runs:
            old, new = runs["old", seed], runs["new", seed]
            per_seed[str(seed)] = {"old": old, "new": new, "kid_ratio": new["kid"] / old["kid"]}
    rows = [(f"{side} ({r['recipe']}) seed {r['seed']}", f"{r['kid']:.4f}", f"{r['fid']:.1f}", f"{r['precision']:.2f}",
             f"{r['recall']:.2f}", f"{r['near_copy_share']:.1%}", f"{r['wh_train']:.3f}", str(r["steps"]))
            for (side, _), r in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0] != "old"))]
    some = next(iter(runs.values()))
    print_table(f"colour emoji, small-set protocol: {some['extractor']} features, {some['n_fake']:,} generated vs all "
                f"{some['n_real']:,} emoji (reference held-out vs train: KID {some['reference'].get('kid', float('nan')):.4f})",
                ("run", "KID", "FID", "precision", "recall", "near-copies", "training Wh", "steps"), rows)
    for seed, pair in per_seed.items():
        print(f"seed {seed}: KID ratio new / old {pair['kid_ratio']:.3f}")
    ratios = [p["kid_ratio"] for p in per_seed.values()]
    if (FOLDER / "old_seed0.png").exists() and (FOLDER / "new_seed0.png").exists():
        side_by_side(RESULTS / f"{name}.png")
    path = write_result(name, {
        "protocol": {"extractor": args.extractor, "n_fake": args.n, "real": "all emoji", "checkpoint": "best"},
        "sides": {k: {"recipe": r, "options": o} for k, (r, o) in SIDES.items()},
        "per_seed": per_seed, "kid_ratio_max": max(ratios) if ratios else None,
        "kid_ratio_mean": statistics.fmean(ratios) if ratios else None, "load_at_start": load_state,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
