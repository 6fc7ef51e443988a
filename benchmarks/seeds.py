"""Stability over seeds: does any seed of a recipe collapse, or drift away from its best?

    python benchmarks/seeds.py [--recipe quality|default|...] [--seeds 10] [--workers 2] [--epochs N] [--eval-every N]

Each seed trains the recipe on the bundled MNIST digits (its own schedule and checks; ``--epochs``
overrides the length). Then, for the kept best checkpoint and the final one: 100 samples are classified
by the mnist classifier (a collapsed run gives fewer than 3 distinct digits; we also report the most
frequent digit's share) and FID is computed on 2,000 samples. Seeds run in ``--workers`` processes of
one thread each: this benchmark measures stability, not energy, so running them side by side is fair.
``--recipe default`` is what `ecogen train` runs with no recipe; it makes no quality checks of its own,
so ``--eval-every`` adds them (FID on 500 samples) to keep a best checkpoint to compare with the final one.
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from _common import RESULTS, machine_load, print_table, write_result

COLLAPSE_BELOW = 3  # distinct digits among 100 samples


def one_seed(recipe: str, seed: int, epochs: int | None, eval_every: int | None = None) -> dict:
    os.environ["OMP_NUM_THREADS"] = "1"
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from ecogen import load, train
    from ecogen.data import prepare_data
    from ecogen.metrics import evaluate_run, load_extractor
    from ecogen.session.recipes import recipe_config
    from ecogen.rundir import RunDir

    out = RESULTS / "seeds" / f"{recipe}_seed{seed}"
    changes = {"seed": seed, "data": {"source": "mnist"}, **({"epochs": epochs} if epochs else {}),
               **({"eval_every": eval_every, "eval_n": 500, "eval_metrics": "fid"} if eval_every else {})}
    if recipe == "default":  # the plain defaults: what `ecogen train` runs without --recipe
        result = train(changes, out, overwrite=True, progress=False)
    else:
        result = train(recipe_config(recipe, changes), out, overwrite=True, progress=False)
    classifier = load_extractor("mnist")
    entry: dict = {"seed": seed, "steps": result.step, "stop_reason": result.stop_reason}
    for which in ("best", "latest"):
        generator = load(out, device="cpu", checkpoint=which)
        digits = classifier.extract(generator.sample(100, seed=1234)).probs.argmax(1)
        counts = np.bincount(np.asarray(digits), minlength=10)
        data = prepare_data(generator.config.data, split=RunDir(out).read_split())
        fid = evaluate_run(generator, data, metrics="fid", n=2000, progress=False, reference=False).metrics["fid"]
        entry[which] = {"distinct_digits": int((counts > 0).sum()), "top_share": float(counts.max() / 100),
                        "counts": counts.tolist(), "fid": fid, "step": generator.step}
    entry["collapsed"] = min(entry[w]["distinct_digits"] for w in ("best", "latest")) < COLLAPSE_BELOW
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="quality")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's length")
    parser.add_argument("--eval-every", type=int, default=None, help="add quality checks (and a best checkpoint)")
    args = parser.parse_args()
    load = machine_load()
    entries: list[dict] = []

    def save() -> None:  # after every seed: an interrupted benchmark keeps what it measured
        write_result(f"seeds_{args.recipe}", {"recipe": args.recipe, "epochs": args.epochs,
                                              "eval_every": args.eval_every, "load_at_start": load,
                                              "collapse_below": COLLAPSE_BELOW, "seeds_asked": args.seeds,
                                              "collapsed": sum(e["collapsed"] for e in entries),
                                              "seeds": sorted(entries, key=lambda e: e["seed"])})

    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        for entry in pool.map(one_seed, [args.recipe] * args.seeds, range(args.seeds), [args.epochs] * args.seeds,
                              [args.eval_every] * args.seeds):
            entries.append(entry)
            print(f"seed {entry['seed']}: best FID {entry['best']['fid']:.2f}, final {entry['latest']['fid']:.2f}, "
                  f"digits {entry['latest']['distinct_digits']}", flush=True)
            save()
    rows = [(str(e["seed"]), str(e["steps"]), f"{e['best']['step']}", f"{e['best']['fid']:.2f}",
             f"{e['latest']['fid']:.2f}", str(e["best"]["distinct_digits"]), str(e["latest"]["distinct_digits"]),
             f"{e['latest']['top_share']:.0%}", "yes" if e["collapsed"] else "no") for e in entries]
    print_table(f"{args.recipe}: {args.seeds} seeds (FID on 2,000 samples; digits among 100, mnist classifier)",
                ("seed", "steps", "best step", "best FID", "final FID", "digits (best)", "digits (final)",
                 "top digit share", "collapsed"), rows)
    print(f"collapsed: {sum(e['collapsed'] for e in entries)} of {args.seeds}")
    print(f"wrote {RESULTS / f'seeds_{args.recipe}.json'}")


if __name__ == "__main__":
    main()
