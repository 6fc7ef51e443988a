"""Why the `diffusion` recipe lags flow on the same UNet: its schedule and prediction target at equal energy.

    python benchmarks/diffusion_trials.py [--trials eps-cosine,v-cosine,eps-linear,flow] [--max-wh 0.25]
                                          [--n 500] [--steps 8,32] [--quick]

families.py found diffusion (epsilon on the cosine schedule) at FID 284.6 after 1 Wh where flow reached
6.04, and diffusion getting worse beyond 8 DDIM steps. Each trial here trains the `diffusion` recipe
(or `flow`, the reference) on MNIST for the same ``--max-wh`` (0.25 Wh estimated, no checks: about 3
minutes on 2 cores), then scores its final weights with the mnist extractor on ``--n`` images at each
of ``--steps``; about 5 minutes per trial. Writes benchmarks/results/diffusion_trials.json.
"""

from __future__ import annotations

import argparse

from _common import RESULTS, machine_load, piece, print_table, write_result  # noqa: E402
from ecogen import train  # noqa: E402
from ecogen.api import evaluate  # noqa: E402
from ecogen.energy import record as records  # noqa: E402

# name -> (recipe, options over it)
TRIALS = {  # every option explicit: the recipe predicts v since these trials (it predicted epsilon)
    "eps-cosine": ("diffusion", {"model.prediction": "epsilon"}),
    "v-cosine": ("diffusion", {"model.prediction": "v"}),
    "eps-linear": ("diffusion", {"model.prediction": "epsilon", "model.schedule": "linear"}),
    "v-linear": ("diffusion", {"model.prediction": "v", "model.schedule": "linear"}),
    "flow": ("flow", {}),
}


def run_trial(name: str, args: argparse.Namespace, folder) -> dict:
    recipe, options = TRIALS[name]
    out = folder / f"{name}_seed{args.seed}"
    config = {"data.source": "mnist", "seed": args.seed, "epochs": 1000, "energy.max_wh": args.max_wh,
              "eval_every": None, "target_fid": None, "sample_every": 100_000, "device": args.device, **options}
    train(config, out, recipe=recipe, overwrite=True, progress=False)
    record = records.read(out / "run.json")
    fids = {str(s): evaluate(out, metrics="fid", n=args.n, extractor="mnist", checkpoint="latest", steps=s,
                             progress=False, reference=False, copies=False, device=args.device).metrics["fid"]
            for s in args.steps}
    return {"trial": name, "recipe": recipe, "options": options, "seed": args.seed, "steps": record.step,
            "wh": record.total.wh, "estimated": record.estimated, "fid_by_steps": fids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", default="eps-cosine,v-cosine,eps-linear,flow")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-wh", type=float, default=0.25)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--steps", default="8,32")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.005 Wh, 50 images")
    args = parser.parse_args()
    name = "diffusion_trials"
    if args.quick:
        args.max_wh, args.n, name = 0.005, 50, "diffusion_trials_quick"
    args.steps = [int(s) for s in args.steps.split(",")]
    folder = RESULTS / name
    folder.mkdir(parents=True, exist_ok=True)
    load = machine_load()
    trials = [piece(folder / f"{t}_seed{args.seed}.json", t,
                    lambda: {**run_trial(t, args, folder), "load_at_start": load},
                    lambda r: ", ".join(f"FID {v:.1f} at {s} steps" for s, v in r["fid_by_steps"].items()))
              for t in args.trials.split(",")]
    print_table(f"diffusion settings at {args.max_wh} Wh, seed {args.seed} (FID on {args.n}, mnist features)",
                ("trial", "training steps", "Wh", *(f"FID at {s} steps" for s in args.steps)),
                [(t["trial"], str(t["steps"]), f"{t['wh']:.3f}",
                  *(f"{t['fid_by_steps'][str(s)]:.1f}" for s in args.steps)) for t in trials])
    path = write_result(name, {"max_wh": args.max_wh, "n": args.n, "sampling_steps": args.steps, "seed": args.seed,
                               "load_at_start": load, "trials": trials})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
