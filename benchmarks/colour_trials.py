"""Which changes make colour emoji better at equal energy: the trials behind the `colour` recipe.

    python benchmarks/colour_trials.py [--trials demo,diffaug,...] [--seed 0] [--final-n 1000] [--quick]

SLOW: about 5 minutes per trial on 2 cores (training about 3, the Inception score about 2; the first
trial also extracts Inception features of all 1,589 emoji once), so the first 12 trials take about an
hour (on 2026-12-01 they took about 75 minutes here); the second round's 4 and the fourth round's 4
(D's minibatch std, with and without the EMA; R1 instead of spectral norm; nearest upsampling in G) and
the fifth round's 2 (nearest upsampling with the EMA, at the demo's energy and twice it) come after them.
``demo`` is today's ``make demo-color`` (the ``green`` recipe, 60 epochs); its training energy is the
budget every other trial gets (``long``: twice that). Each trial is checked with the emoji features
(FID and KID on ``--n`` samples) each time its training energy passes the next mark (the same marks for
all: frontier.py's ``EnergyMarks``), and its final model is scored under the small-set protocol:
Inception FID and KID of ``--final-n`` generated images against all 1,589 emoji, the near-copy share
against the training split, and the real-data reference (held-out against train).

Each finished trial is kept in benchmarks/results/colour_trials/NAME_seedK.json and skipped when the
script starts again. Writes benchmarks/results/colour_trials.json and colour_trials.png (KID against
training energy, one line per trial).
"""

from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _common import RESULTS, machine_load, piece, print_table, write_result  # noqa: E402
from frontier import EnergyMarks  # noqa: E402
from ecogen import train  # noqa: E402
from ecogen.api import evaluate  # noqa: E402
from ecogen.energy import record as records  # noqa: E402

AUGMENT = "color,translation,cutout"
# name -> (what it tries, options over the green recipe); "demo" first: its energy is the budget
TRIALS = {
    "demo": ("today's make demo-color: green, 60 epochs", {"epochs": 60}),
    "translation": ("DiffAugment, translation only", {"augment": "translation"}),
    "diffaug": ("DiffAugment, color + translation + cutout", {"augment": AUGMENT}),
    "ada": ("ADA-style probability for the same policy (target 0.6)",
            {"augment": AUGMENT, "ada_target": 0.6, "ada_kimg": 20.0}),
    # the rest change the plain demo settings (full DiffAugment cost quality at this budget: measured first)
    "wide": ("full-width G and D (x1.0 for x0.5)", {"model.width_mult": 1.0}),
    "narrow": ("quarter-width G and D", {"model.width_mult": 0.25}),
    "deep": ("one extra 3x3 conv after each G upsampling", {"model.g_depth": 1}),
    "ema": ("EMA of G (0.999, warmed up)", {"ema_decay": 0.999, "ema_warmup": True}),
    "r1": ("lazy R1 (gamma 0.1, every 16 D steps)", {"r1_gamma": 0.1, "r1_every": 16}),
    "conditional": ("the emoji groups as labels", {"model.conditional": True}),
    "long": ("twice the energy", {}),
    "long-ada": ("twice the energy, with the ADA probability", {"augment": AUGMENT, "ada_target": 0.6, "ada_kimg": 20.0}),
    # the second round: the two changes that helped together, and the optimiser (the regime is under-training)
    "long-ema": ("twice the energy, with the EMA", {"ema_decay": 0.999, "ema_warmup": True}),
    "lr-low": ("Adam at 2e-4 (a quarter of green's rate)", {"optim.lr_g": 2e-4, "optim.lr_d": 2e-4}),
    "batch64": ("batch 64 (green's is 32)", {"batch_size": 64}),
    "xflip": ("left-right mirrored reals and fakes (p 1/2 each image) before D", {"augment": "flip"}),
    "lr-decay": ("the demo's 60 epochs, the rates decayed by a cosine over the second half",
                 {"epochs": 60, "optim.decay": "cosine", "optim.decay_start": 0.5}),
    # the fourth round: recall is the weak side (0.03 against the real 0.85), so D is shown the batch's variety
    "mbstd": ("minibatch std in D (groups of 4)", {"model.d_mbstd": 4}),
    "mbstd-ema": ("minibatch std in D with the EMA of G (the colour recipe plus it)",
                  {"model.d_mbstd": 4, "ema_decay": 0.999, "ema_warmup": True}),
    "r1-nosn": ("lazy R1 (gamma 0.1, every 16) instead of spectral norm in D",
                {"model.d_norm": "none", "r1_gamma": 0.1, "r1_every": 16}),
    "nearest": ("G doubles by nearest upsampling + 3x3 conv (no transposed conv)", {"model.g_upsample": "nearest"}),
    # the fifth round: nearest upsampling had the best FID, precision and recall of the fourth; with the EMA
    "nearest-ema": ("nearest upsampling in G with the EMA of G (the colour recipe plus it)",
                    {"model.g_upsample": "nearest", "ema_decay": 0.999, "ema_warmup": True}),
    "long-nearest-ema": ("twice the energy, nearest upsampling and the EMA",
                         {"model.g_upsample": "nearest", "ema_decay": 0.999, "ema_warmup": True}),
}


def run_trial(name: str, budget: float | None, args: argparse.Namespace, folder) -> dict:
    what, options = TRIALS[name]
    if name == "demo":
        options = {"epochs": args.demo_epochs}
    out = folder / f"{name}_seed{args.seed}"
    config = {"data.source": "emoji", "seed": args.seed, "epochs": 10_000, "eval_every": None, "target_fid": None,
              "eval_n": args.n, "eval_metrics": "fid,kid", "device": args.device, "keep_checkpoints": 1}
    if budget is not None:
        config["energy.max_wh"] = budget * (2 if name.startswith("long") else 1)
    config.update(options)
    marks = EnergyMarks(args.first_wh, 2)
    train(config, out, recipe="green", overwrite=True, progress=False, callbacks=[marks])
    record = records.read(out / "run.json")
    scored = evaluate(out, metrics="fid,kid,pr", n=args.final_n, extractor=args.extractor,
                      against="all", copies=True, progress=False, device=args.device)
    return {
        "trial": name, "what": what, "options": options, "seed": args.seed, "steps": record.step,
        "wh_train": record.training_wh, "stop_reason": record.stop_reason, "estimated": record.estimated,
        "checks": [{k: c.get(k) for k in ("step", "wh_train", "fid", "kid")} for c in marks.lines],
        "final": scored.metrics, "reference": scored.real_vs_real, "noise": scored.noise,
        "near_copy_share": scored.copies["share"], "heldout_copy_share": scored.copies["heldout_share"],
        "n_fake": scored.n_fake, "n_real": scored.n_real, "extractor": scored.extractor,
    }


def plot(trials: list[dict], path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, t in enumerate(trials):  # 20 distinct colours, and a second marker past the first ten
        checks = [c for c in t["checks"] if c.get("kid") is not None]
        ax.plot([c["wh_train"] for c in checks], [max(c["kid"], 1e-4) for c in checks], "os"[i // 10] + "-", ms=3,
                color=plt.cm.tab20(i % 20), label=t["trial"])
    ax.set(xscale="log", yscale="log", xlabel="training energy (Wh, estimated)", ylabel="KID (emoji features)",
           title="Colour emoji at 32x32: quality against training energy, by trial")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", default=",".join(TRIALS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=500, help="generated images per emoji-feature check")
    parser.add_argument("--final-n", type=int, default=1000, help="generated images for the final Inception score")
    parser.add_argument("--first-wh", type=float, default=0.01)
    parser.add_argument("--extractor", default="inception")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--demo-epochs", type=int, default=60, help="make demo-color's epochs: the budget's run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 trials, 2 epochs, emoji features")
    parser.add_argument("--name", default="colour_trials",
                        help="results name: a round on another machine keeps its own pieces, JSON and plot")
    args = parser.parse_args()
    name, names = args.name, args.trials.split(",")
    if args.quick:
        names, args.demo_epochs, args.n, args.final_n, args.extractor, name = (["demo", "ada"], 2, 100, 100, "emoji",
                                                                                "colour_trials_quick")
    folder = RESULTS / name
    folder.mkdir(parents=True, exist_ok=True)
    load = machine_load()
    budget = None
    for trial in ["demo", *[t for t in names if t != "demo"]]:  # the demo's energy is everyone's budget
        result = piece(folder / f"{trial}_seed{args.seed}.json", trial,
                       lambda: {**run_trial(trial, budget, args, folder), "load_at_start": load},
                       lambda r: f"KID {r['final']['kid']:.4f} FID {r['final']['fid']:.1f} ({r['extractor']}, all emoji), "
                                 f"near-copies {r['near_copy_share']:.1%}, {r['wh_train']:.3f} Wh")
        if trial == "demo":
            budget = result["wh_train"]
    # the table is every finished trial of this seed, not only this start's: a start that adds trials
    # must not drop the earlier ones from the JSON
    trials = [json.loads(p.read_text()) for t in TRIALS if (p := folder / f"{t}_seed{args.seed}.json").exists()]
    demo_kid = trials[0]["final"]["kid"]
    rows = [(t["trial"], f"{t['final']['kid']:.4f}", f"{t['final']['kid'] / demo_kid:.2f}",
             f"{t['final']['fid']:.1f}", f"{t['final'].get('precision', float('nan')):.2f}",
             f"{t['final'].get('recall', float('nan')):.2f}", f"{t['near_copy_share']:.1%}", f"{t['wh_train']:.3f}",
             str(t["steps"])) for t in trials]
    print_table(f"colour trials, seed {args.seed}: {trials[0]['extractor']} features, {trials[0]['n_fake']} generated "
                f"vs all {trials[0]['n_real']} emoji (reference held-out vs train: KID "
                f"{trials[0]['reference'].get('kid', float('nan')):.4f})",
                ("trial", "KID", "KID / demo", "FID", "precision", "recall", "near-copies", "Wh", "steps"), rows)
    plot(trials, RESULTS / f"{name}.png")
    path = write_result(name, {"budget_wh": budget, "seed": args.seed, "load_at_start": load, "trials": trials})
    print(f"wrote {path} and {RESULTS / (name + '.png')}")


if __name__ == "__main__":
    main()
