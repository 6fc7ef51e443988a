"""Does a conditional model give what is asked? Accuracy of the metrics' classifier on conditional
samples, per class, and per-class FID/KID against the held-out digits of that class.

    python benchmarks/conditional_accuracy.py [--run runs/cgan] [--model dcgan] [--n 200]

Without --run it trains the default conditional model into benchmarks/results/cond_<model>, as
`ecogen train --model <model> --conditional --data mnist` would (for dcgan that is the `conditional`
recipe). Target: at least 90% accuracy on digits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from _common import RESULTS, write_result
from ecogen import load, train
from ecogen.config import TrainConfig, from_dict
from ecogen.session.recipes import default_recipe, recipe_config
from ecogen.data import prepare_data
from ecogen.metrics import load_extractor
from ecogen.metrics.fid import fid
from ecogen.metrics.kid import kid
from ecogen.energy import record as records
from ecogen.rundir import RunDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--n", type=int, default=200, help="samples per class")
    parser.add_argument("--seed", type=int, default=0, help="training seed (without --run)")
    args = parser.parse_args()
    run = args.run or RESULTS / f"cond_{args.model}_seed{args.seed}"
    if args.run is None and not (run / "checkpoints").exists():
        values = {"model": {"name": args.model, "conditional": True}, "seed": args.seed}
        name = default_recipe(values)
        config = recipe_config(name, values) if name else from_dict(TrainConfig, values)
        train(config, run, progress=True)
    gen = load(run, device="cpu")
    data = prepare_data(gen.config.data, split=RunDir(run).read_split())
    held = data.holdout
    ext = load_extractor("mnist")
    table = Table(title=f"conditional samples of {run} ({args.n} per class, mnist classifier)")
    for col in ("class", "accuracy", "FID", "KID", "held-out images"):
        table.add_column(col, justify="right")
    per_class, hits = {}, 0
    for k, name in enumerate(gen.classes):
        images = gen.sample(args.n, seed=k, classes=[k])
        feats = ext.extract(images)
        accuracy = float((feats.probs.argmax(1) == int(name)).mean())
        real = ext.extract(torch.from_numpy(held.images[held.labels == k]))
        f, (kd, _) = fid(real.features, feats.features), kid(real.features, feats.features)
        per_class[name] = {"accuracy": accuracy, "fid": f, "kid": kd, "real": len(real)}
        hits += accuracy * args.n
        table.add_row(name, f"{accuracy:.1%}", f"{f:.2f}", f"{kd:.4f}", str(len(real)))
    overall = hits / (args.n * len(gen.classes))
    table.add_row("all", f"{overall:.1%}", "", "", "")
    Console().print(table)
    print(f"overall accuracy {overall:.1%} (target >= 90%)")
    bill = records.read(run / "run.json")
    print(f"training: {gen.step} steps, {bill.total.seconds:.0f} s, {bill.total.wh:.4f} Wh "
          f"({'estimated' if bill.estimated else 'measured'})")
    payload = {"run": str(run), "overall_accuracy": overall, "per_class": per_class, "step": gen.step,
               "n_per_class": args.n, "train_wh": bill.total.wh, "train_seconds": bill.total.seconds,
               "estimated": bill.estimated}
    print(f"wrote {write_result(f'conditional_accuracy_{run.name}', payload)}")


if __name__ == "__main__":
    main()
