"""The proof: the green recipe against the reference recipe, same machine, same run, side by side.

    python benchmarks/green_vs_reference.py [--seeds 3] [--data mnist|emoji] [--inception] [--reuse]
                                            [--green-set KEY=VALUE ...]

For each seed: the reference runs its full schedule (quality is checked every epoch only to draw its
curve; that checking is not charged to it: its energy is `wh_train`, training without the checks);
its best FID is the target; the green recipe then trains with --target-fid set to it, its own checks
charged to it. Reports Wh, seconds and FLOPs to the target, final FID/KID (both final models scored
alike on 500 samples, not charged), the ratio, and draws FID-vs-Wh curves (PNG). ``--green-set``
tries a change to the green recipe (dotted keys, YAML values) without editing it. Energy comes from
the sensor the machine has (say which when quoting it). ``--data emoji`` runs the same protocol on the
colour emoji (checks on the bundled emoji features: ``auto``); ``--inception`` also scores both final
models with the standard Inception features (FID and KID; KID is unbiased on the small held-out set).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import yaml  # noqa: E402
from _common import RESULTS, machine_load, write_result  # noqa: E402
from ecogen import load, train  # noqa: E402
from ecogen.data import prepare_data  # noqa: E402
from ecogen.metrics import evaluate_run  # noqa: E402
from ecogen.rundir import RunDir  # noqa: E402
from ecogen.config import TrainConfig, from_dict, load_yaml, merge  # noqa: E402
from ecogen.session.recipes import RECIPES  # noqa: E402
from ecogen.energy import record as records  # noqa: E402


# The reference's checks only find its best FID and draw its curve; they are not charged to it.
REFERENCE_CHECKS = {"eval_every": 70, "eval_n": 500, "eval_metrics": "fid,kid"}


def run(recipe: str, seed: int, extra: dict, reuse: bool, source: str = "mnist",
        inception: bool = False) -> tuple[list[dict], records.RunRecord, dict]:
    """Train one recipe (its own schedule; the green one stops at its target, checking as its recipe says)."""
    folder = "green_vs_reference" if source == "mnist" else f"green_vs_reference_{source}"
    out = RESULTS / folder / f"{recipe}_seed{seed}"
    extra = {**extra, "data": {"source": source}}
    checks = REFERENCE_CHECKS if recipe == "reference" else {}
    values = merge(RECIPES.get(recipe).values, {"seed": seed, **checks, **extra})
    config = from_dict(TrainConfig, values)
    done = (out / "run.json").exists() and (out / "config.yaml").exists()
    saved = from_dict(TrainConfig, load_yaml(out / "config.yaml")) if done else None
    same = saved is not None and saved == replace(config, data=replace(config.data, channels=saved.data.channels))
    if not (reuse and same):
        train(config, out, overwrite=True, progress=False)
    checks = [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]
    generator = load(out, device="auto")
    data = prepare_data(generator.config.data, split=RunDir(out).read_split())
    final = evaluate_run(generator, data, metrics="fid,kid", n=500, progress=False).metrics
    scores = {k: final[k] for k in ("fid", "kid")}
    if inception:
        result = evaluate_run(generator, data, metrics="fid,kid", n=500, extractor="inception", progress=False)
        scores.update({"inception_fid": result.metrics["fid"], "inception_kid": result.metrics["kid"],
                       "inception_floor_fid": result.real_vs_real["fid"], "inception_floor_kid": result.real_vs_real["kid"]})
        scores["floor_n_real"] = result.n_real
    return checks, records.read(out / "run.json"), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="reuse finished runs with the same config")
    parser.add_argument("--data", default="mnist", help="mnist (grey digits) or emoji (colour)")
    parser.add_argument("--inception", action="store_true", help="also score the final models on Inception features")
    parser.add_argument("--green-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="changes to the green recipe to try, e.g. batch_size=32")
    args = parser.parse_args()
    green_set = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.green_set)}
    rows, payload, curves = [], {"seeds": [], "data": args.data, "load_at_start": machine_load()}, []
    for seed in range(args.seeds):
        ref_checks, ref_record, ref_final = run("reference", seed, {}, args.reuse, args.data, args.inception)
        best = min(ref_checks, key=lambda c: c["fid"])
        target = best["fid"]
        green_checks, green_record, green_final = run("green", seed, {**green_set, "target_fid": target}, args.reuse,
                                                      args.data, args.inception)
        reached = green_record.quality.get("reached") if green_record.quality else None
        ref_to_target = best["wh_train"]
        green_to_target = reached["wh"] if reached else None
        ratio = ref_to_target / green_to_target if green_to_target else None
        entry = {
            "seed": seed, "target_fid": target, "reference_best_step": best["step"],
            "reference_wh_to_target": ref_to_target, "reference_wh_full": ref_record.total.wh - ref_record.phases["eval"].wh,
            "reference_seconds_to_target": best["seconds"],
            "reference_flops_full": ref_record.total.flops,
            "reference_final": ref_final,
            "green_reached": reached is not None, "green_wh_to_target": green_to_target,
            "green_seconds_to_target": reached["seconds"] if reached else None,
            "green_flops": green_record.total.flops, "green_final": green_final, "green_step": green_record.step,
            "green_eval_wh": green_record.phases["eval"].wh if "eval" in green_record.phases else 0.0,
            "ratio": ratio, "sensors": [s["name"] for s in green_record.sensors], "estimated": green_record.estimated,
        }
        payload["seeds"].append(entry)
        curves.append((seed, ref_checks, green_checks))
        rows.append((str(seed), f"{target:.2f}", f"{ref_to_target:.4f}", f"{entry['reference_wh_full']:.4f}",
                     f"{green_to_target:.4f}" if green_to_target else "not reached",
                     f"{ratio:.2f}x" if ratio else "-"))
    ratios = [e["ratio"] for e in payload["seeds"] if e["ratio"]]
    payload["median_ratio"] = statistics.median(ratios) if ratios else None
    payload["green_set"] = green_set
    kind = "estimated" if payload["seeds"][0]["estimated"] else "measured"
    table = Table(title=f"green vs reference ({kind} energy, sensors {payload['seeds'][0]['sensors']})")
    for col in ("seed", "target FID (ref best)", "ref Wh to best", "ref Wh full", "green Wh to target", "ratio"):
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    print(f"median ratio: {payload['median_ratio']}")
    fig, ax = plt.subplots(figsize=(6, 4))
    for seed, ref, green in curves:
        ax.plot([c["wh_train"] for c in ref], [c["fid"] for c in ref], "o-", color="tab:red", alpha=0.7,
                label="reference" if seed == 0 else None)
        ax.plot([c["wh"] for c in green], [c["fid"] for c in green], "o-", color="tab:green", alpha=0.7,
                label="green" if seed == 0 else None)
    ax.set_xlabel(f"energy ({kind}, Wh)")
    ax.set_ylabel(f"FID ({'mnist' if args.data == 'mnist' else args.data} features)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    name = "green_vs_reference" if args.data == "mnist" else f"green_vs_reference_{args.data}"
    fig.savefig(RESULTS / f"{name}.png", dpi=110)
    print(f"wrote {write_result(name, payload)} and {RESULTS / f'{name}.png'}")


if __name__ == "__main__":
    main()
