"""ecogen's recipes on Fashion-MNIST under the protocol of Lucic et al. 2018, beside their published table.

    python benchmarks/paper_table.py [--recipes gan,vae-mixture] [--seeds 3] [--max-wh 1.0] [--epochs 20]
                                     [--n 10000] [--device auto] [--quick] [--only-seed K]
                                     [--name paper_table]

SLOW ON A CPU: each run trains on the 60,000 training images until its energy budget (``--max-wh``,
1 Wh estimated: the issue's bound) or ``--epochs`` (20, the paper's), checking quality with the bundled
`fashion` extractor on 2,000 samples every ``--check-every`` steps and keeping the best checkpoint; then
that checkpoint is scored with the standard Inception FID on ``--n`` (10,000) generated images against
the 10,000 official test images. On 2 AVX2 cores the Inception pass alone is about 20 minutes per run
(6 on a Zen 5 EPYC),
so 3 seeds of 2 recipes take several hours; on a GPU, minutes. Each finished run is kept in
benchmarks/results/paper_table/RUN.json and skipped when the script is started again, so it can be run
in pieces (``--only-seed``); the table, the JSON and the plot are rebuilt from all finished runs.

The protocol (google/compare_gan, as Lucic et al. ran it): images at 28x28 (ecogen trains at 28, so no
padding is added or removed); grey tiled to 3 channels; resized to 299x299 bilinearly by the Inception
extractor (stated in each result's ``fit_method``); fp32 features; the real test features extracted
once and cached under a hash of every input. What differs from the paper: the architecture (ecogen's
DCGAN at half width with spectral norm, hinge loss and an EMA of G, the ``quality`` recipe; the VAEs are
ecogen's conv VAE, ``vae`` with a Bernoulli likelihood sampled from N(0, I), ``vae-mixture`` the
``mixture-vae`` recipe: a learnt decoder variance, sampled from a 10-Gaussian mixture fitted to its codes,
each refit starting from the last; ``vae-mixture-scratch`` the same with each refit afresh),
the length (an energy budget of about 1 Wh instead of 20 epochs at batch 64), the Inception port (the
packaged PyTorch port of the TF FID network), and no hyperparameter search (Lucic et al. searched about
6.85 P100 GPU-years). The trial sides (``gan-wide``, ``gan-ema``, ``gan-nearest``, ``vae-mixture-20``,
``vae-mixture-40``, ``vae-mixture-z32``) each change one or two settings of those recipes (SIDES says
which); ``--name`` keeps another machine's table and pieces apart from the committed ``paper_table``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _common import RESULTS, machine_load, piece, pieces, print_table, write_result  # noqa: E402
from ecogen import train  # noqa: E402
from ecogen.api import evaluate  # noqa: E402
from ecogen.base import jsonl  # noqa: E402
from ecogen.energy import record as records  # noqa: E402
from ecogen.energy.machine import describe_machine  # noqa: E402

# Best FID on Fashion-MNIST, Lucic et al. 2018 as quoted in Dai & Wipf (ICLR 2019, Table 1); and Dai & Wipf's VAEs
PUBLISHED = {"MM GAN": 29.6, "NS GAN": 26.5, "LSGAN": 30.7, "WGAN": 21.5, "WGAN-GP": 24.5, "DRAGAN": 27.7,
             "BEGAN": 22.9, "VAE (Dai & Wipf)": 43.6, "2-Stage VAE (Dai & Wipf)": 29.3}
BEST_GAN, BEST_VAE = 21.5, 29.3
GOAL_GAN = 15.0  # every seed's best GAN FID at most this, each run within 1 Wh

# What each side trains: a recipe and the options laid over it (28x28: the protocol's size)
SIDES = {
    "gan": ("quality", {"eval_extractor": "fashion"}),
    # the same at full width (G 128-64 channels, as Lucic et al.'s InfoGAN-style G) with a longer EMA
    "gan-wide": ("quality", {"eval_extractor": "fashion", "model.width_mult": 1.0, "ema_decay": 0.999}),
    # half width, only the longer EMA: what the EMA buys alone
    "gan-ema": ("quality", {"eval_extractor": "fashion", "ema_decay": 0.999}),
    # half width, G doubling by nearest upsampling + 3x3 conv (no checkerboard), the longer EMA
    "gan-nearest": ("quality", {"eval_extractor": "fashion", "model.g_upsample": "nearest", "ema_decay": 0.999}),
    "vae": ("conditional-vae", {"model.conditional": False, "eval_extractor": "fashion"}),  # Bernoulli, N(0, I)
    # learnt variance, a fitted mixture prior, each refit starting from the last
    "vae-mixture": ("mixture-vae", {"eval_extractor": "fashion", "model.prior_refit": "warm"}),
    # the mixture with 20 or 40 Gaussians instead of 10; a 32-d code instead of 100 (the VAE gap's untried changes)
    "vae-mixture-20": ("mixture-vae", {"eval_extractor": "fashion", "model.prior_components": 20}),
    "vae-mixture-40": ("mixture-vae", {"eval_extractor": "fashion", "model.prior_components": 40}),
    "vae-mixture-z32": ("mixture-vae", {"eval_extractor": "fashion", "model.latent_dim": 32}),
    # the same, its mixture refit afresh before each check (the recipe's default)
    "vae-mixture-scratch": ("mixture-vae", {"eval_extractor": "fashion", "model.prior_refit": "scratch"}),
}
GAN_SIDES = ("gan", "gan-wide", "gan-ema", "gan-nearest")
VAE_SIDES = ("vae", "vae-mixture", "vae-mixture-scratch", "vae-mixture-20", "vae-mixture-40",
             "vae-mixture-z32")
COLOURS = {"gan": "tab:blue", "gan-wide": "tab:green", "gan-ema": "tab:cyan", "gan-nearest": "tab:olive",
           "vae": "tab:orange", "vae-mixture": "tab:red", "vae-mixture-scratch": "tab:pink",
           "vae-mixture-20": "tab:purple", "vae-mixture-40": "tab:gray", "vae-mixture-z32": "tab:brown"}
RUNS = RESULTS / "paper_table"


def train_one(side: str, seed: int, args: argparse.Namespace) -> dict:
    recipe, options = SIDES[side]
    out = RUNS / f"{side}_seed{seed}"
    config = {"data.source": "fashion-mnist", "data.image_size": 28, "seed": seed, "epochs": args.epochs,
              "energy.max_wh": args.max_wh, "eval_every": args.check_every, "eval_n": args.check_n,
              "eval_metrics": "fid", "device": args.device, "checkpoint_every": args.check_every, **options}
    cpu = time.process_time()
    result = train(config, out, recipe=recipe, overwrite=True, progress=not args.quiet)
    cpu_s = time.process_time() - cpu
    record = records.read(out / "run.json")
    checks = jsonl.read(out / "eval.jsonl").records
    best = min(checks, key=lambda c: c["fid"])
    scored = evaluate(out, metrics="fid", n=args.n, extractor=args.extractor, checkpoint="best", device=args.device,
                      progress=not args.quiet, precision="fp32", reference=False)
    return {
        "side": side, "recipe": recipe, "seed": seed, "steps": record.step, "stop_reason": result.stop_reason,
        "best_fid": scored.metrics["fid"], "extractor": scored.extractor, "n_fake": scored.n_fake, "n_real": scored.n_real,
        "fit_method": scored.fit_method, "inception_wh": scored.energy.get("wh"),
        "best_check": {"step": best["step"], "fast_fid": best["fid"], "wh": best["wh"]},
        "checks": [{k: c[k] for k in ("step", "wh", "wh_train", "fid")} for c in checks],
        "wh": record.total.wh, "cpu_s": cpu_s, "seconds": record.total.seconds, "flops": record.total.flops,
        "estimated": record.estimated, "sensors": [s["name"] for s in record.sensors],
        "machine": describe_machine(),  # each piece its own: pieces made on different days may differ
    }


def summary(runs: list[dict]) -> dict:
    out = {}
    for side in SIDES:
        fids = [r["best_fid"] for r in runs if r["side"] == side]
        if fids:
            out[side] = {"seeds": len(fids), "mean": statistics.fmean(fids), "min": min(fids), "max": max(fids),
                         "wh_max": max(r["wh"] for r in runs if r["side"] == side)}
    for side in GAN_SIDES:  # the goals, for each GAN side tried ("gan": the keys earlier results used)
        gan = [r for r in runs if r["side"] == side]
        if not gan:
            continue
        suffix = "" if side == "gan" else f"_{side}"
        out[f"goal_gan{suffix}"] = {"fid_at_most": GOAL_GAN, "wh_at_most": 1.0,
                                    "met": all(r["best_fid"] <= GOAL_GAN and r["wh"] <= 1.0 for r in gan)}
        # when each seed first beat the best published GAN: only the best checkpoint is scored with Inception,
        # so a seed that beats it gets that check's energy as a bound (an earlier check may beat it too)
        out[f"beats_best_gan{suffix}"] = {str(r["seed"]): {"beaten": r["best_fid"] <= BEST_GAN,
                                                           "wh_at_most": r["best_check"]["wh"]
                                                           if r["best_fid"] <= BEST_GAN else None} for r in gan}
    for side in VAE_SIDES:  # the goal, for each VAE recipe tried
        vae = [r for r in runs if r["side"] == side]
        if vae:
            out[f"goal_{side}"] = {"fid_at_most": BEST_VAE, "met": all(r["best_fid"] <= BEST_VAE for r in vae)}
    return out


def plot(runs: list[dict], path: Path, n: int) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in runs:
        ax.scatter(r["wh"], r["best_fid"], color=COLOURS[r["side"]], label=f"ecogen {r['side']}"
                   if r["seed"] == min(x["seed"] for x in runs if x["side"] == r["side"]) else None)
        ax.annotate(f"seed {r['seed']}", (r["wh"], r["best_fid"]), fontsize=7, xytext=(4, 2),
                    textcoords="offset points")
    # from 0: runs stopped by the same budget sit at one energy, and an offset axis hides that
    ax.set_xlim(0, 1.15 * max((r["wh"] for r in runs), default=1.0))
    for name, fid in PUBLISHED.items():
        if name in ("WGAN", "2-Stage VAE (Dai & Wipf)"):
            ax.axhline(fid, color="grey", ls="--", lw=0.8)
            ax.annotate(f"{name} {fid} (no energy published)", (ax.get_xlim()[0], fid), fontsize=8,
                        va="bottom", color="grey")
    ax.set_xlabel("energy of the training run, checks included (Wh, estimated)")
    ax.set_ylabel(f"Inception FID, {n:,} generated vs 10,000 test")
    ax.set_title("Fashion-MNIST under Lucic et al.'s protocol")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="gan,vae-mixture", help=f"sides to train: {', '.join(SIDES)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only-seed", type=int, default=None, help="train this seed alone (a piece of the table)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--max-wh", type=float, default=1.0, help="each run's energy budget")
    parser.add_argument("--check-every", type=int, default=500, help="steps between fast-extractor checks")
    parser.add_argument("--check-n", type=int, default=2000, help="generated images per check")
    parser.add_argument("--n", type=int, default=10000, help="generated images for the Inception FID")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--extractor", default="inception", help="the table's features (inception: the protocol)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of the whole path in minutes: 0.02 Wh, "
                        "500 generated images scored on the fast `fashion` features (Inception's pass over the "
                        "10,000 test images alone takes about 20 minutes here); results under paper_table_quick")
    parser.add_argument("--name", default="paper_table", help="the result's name and its pieces' folder: another "
                        "machine's table apart from the committed one (Wh and FIDs compare on one machine only)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    global RUNS
    name, RUNS = args.name, RESULTS / args.name
    if args.quick:
        args.max_wh, args.check_every, args.check_n, args.n, args.seeds = 0.02, 50, 500, 500, 1
        args.extractor = "fashion"
        name, RUNS = "paper_table_quick", RESULTS / "paper_table_quick"
    RUNS.mkdir(parents=True, exist_ok=True)
    load = machine_load()
    seeds = [args.only_seed] if args.only_seed is not None else list(range(args.seeds))
    for side in args.recipes.split(","):
        for seed in seeds:
            piece(RUNS / f"{side}_seed{seed}.json", f"{side} seed {seed}",
                  lambda: {**train_one(side, seed, args), "load_at_start": load},
                  lambda r: f"Inception FID {r['best_fid']:.2f} ({r['n_fake']} vs {r['n_real']}), {r['wh']:.3f} Wh, "
                            f"{r['cpu_s']:.0f} CPU-s, {r['flops']:.3g} FLOPs")
    runs = pieces(RUNS)
    table = summary(runs)
    cpus = {str([r.get("machine", {}).get(k) for k in ("cpu_model", "cpu_family", "vector_flags")]) for r in runs}
    if len(cpus) > 1:
        print(f"warning: the runs come from {len(cpus)} different CPUs ({sorted(cpus)}): their Wh and FIDs at "
              f"equal energy do not compare", file=sys.stderr)
    rows = [(k, f"{v:.1f}", "-", "-", "-", "Lucic et al. 2018 / Dai & Wipf 2019") for k, v in PUBLISHED.items()]
    rows += [(f"ecogen {r['side']} ({r['recipe']}) seed {r['seed']}", f"{r['best_fid']:.2f}", f"{r['wh']:.3f}",
              f"{r['cpu_s']:.0f}", f"{r['flops']:.3g}", f"{r['steps']} steps, {r['stop_reason']}") for r in runs]
    print_table(f"Fashion-MNIST, best FID ({args.extractor} features, {args.n:,} generated vs 10,000 test)",
                ("model", "FID", "Wh", "CPU-s", "FLOPs", "note"), rows)
    for side, s in table.items():
        print(side, json.dumps(s))
    plot(runs, RESULTS / f"{name}.png", args.n)
    path = write_result(name, {"protocol": {"extractor": args.extractor, "n_fake": args.n, "n_real": 10000, "image_size": 28,
                                            "channels": "grey tiled to 3", "resize": "bilinear to 299x299",
                                            "precision": "fp32", "max_wh": args.max_wh, "epochs": args.epochs},
                               "published": PUBLISHED, "runs": runs, "summary": table})
    print(f"wrote {path} and {RESULTS / (name + '.png')}")


if __name__ == "__main__":
    main()
