"""Two yardsticks, one ranking: FID on ecogen's mnist extractor vs FID on the standard Inception.

    python benchmarks/extractor_agreement.py [--n 300] [--steps 900] [--filters bilinear,bicubic,nearest,tf-bilinear]

Trains one DCGAN (the default recipe at half width) and keeps checkpoints along the way, trains a small
VAE, and adds uniform noise: generators of clearly different quality. Each is scored against the
held-out digits with both extractors; the script reports both FIDs and the Spearman rank correlation.
It then scores two of them with every resize filter, to show how much the filter moves Inception FID.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from scipy.stats import spearmanr

from _common import RESULTS, machine_load, print_table, write_result
from ecogen import load, train
from ecogen.config import TrainConfig, from_dict
from ecogen.data import prepare_data
from ecogen.metrics import Evaluator, load_extractor
from ecogen.metrics.evaluate import noise_images


def train_runs(root: Path, steps: int, seed: int) -> tuple[Path, Path]:
    gan, vae = root / "gan", root / "vae"
    every = max(steps // 6, 1)
    gan_cfg = from_dict(TrainConfig, {"model": {"width_mult": 0.5}, "steps": steps, "checkpoint_every": every,
                                      "keep_checkpoints": 12, "log_every": every, "seed": seed, "device": "cpu"})
    vae_cfg = from_dict(TrainConfig, {"model": {"name": "vae", "width_mult": 0.5, "latent_dim": 16},
                                      "optim": {"lr_g": 1e-3, "beta1": 0.9}, "steps": steps // 2,
                                      "log_every": steps, "seed": seed, "device": "cpu"})
    for cfg, out in ((gan_cfg, gan), (vae_cfg, vae)):
        if not (out / "checkpoints").is_dir():
            train(cfg, out, progress=False, overwrite=True)
    return gan, vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="generated images per generator (and real images)")
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--filters", default="bilinear,bicubic,nearest,tf-bilinear")
    args = parser.parse_args()
    load_at_start = machine_load()

    gan, vae = train_runs(RESULTS / "agreement_runs", args.steps, args.seed)
    steps = sorted(int(p.stem.split("_")[1]) for p in (gan / "checkpoints").glob("step_*.json"))
    images: dict[str, torch.Tensor] = {}
    for step in steps:
        images[f"dcgan step {step}"] = load(gan, device="cpu", checkpoint=step).sample(args.n, seed=1)
    vae_gen = load(vae, device="cpu")
    images[f"vae step {vae_gen.step}"] = vae_gen.sample(args.n, seed=1)
    images["uniform noise"] = noise_images(args.n, images[next(iter(images))], args.seed)

    data = prepare_data(load(gan, device="cpu").config.data, split=None)
    real = torch.from_numpy(data.holdout.images[: args.n])
    fids: dict[str, dict[str, float]] = {}
    seconds = {}
    for name in ("mnist", "inception"):
        ext = load_extractor(name)
        start = time.perf_counter()
        real_f = ext.extract(real)
        for label, batch in images.items():
            ev = Evaluator(ext, real_f, (real_f, real_f), ["fid"], torch.device("cpu"))
            fids.setdefault(label, {})[name] = ev.score(batch)["fid"]
        seconds[name] = time.perf_counter() - start
    labels = list(images)
    rho = spearmanr([fids[k]["mnist"] for k in labels], [fids[k]["inception"] for k in labels]).statistic
    rows = [(k, f"{fids[k]['mnist']:.2f}", f"{fids[k]['inception']:.2f}") for k in labels]
    print_table(f"FID by extractor ({args.n} generated vs {len(real)} held-out digits); Spearman rho = {rho:.3f}",
                ("generator", "FID mnist", "FID inception"), rows)

    # How much the resize filter moves Inception FID: on a weak and a strong generator.
    picks = [labels[1], labels[len(steps) - 1]]
    inception = load_extractor("inception")
    by_filter: dict[str, dict[str, float]] = {}
    for resize in args.filters.split(","):
        ext = inception.variant(resize=resize)
        real_f = ext.extract(real)
        ev = Evaluator(ext, real_f, (real_f, real_f), ["fid"], torch.device("cpu"))
        by_filter[resize] = {k: ev.score(images[k])["fid"] for k in picks}
    base = by_filter.get("bilinear", next(iter(by_filter.values())))
    rows = [(f, *[f"{v[k]:.2f} ({v[k] - base[k]:+.2f})" for k in picks]) for f, v in by_filter.items()]
    print_table("Inception FID by resize filter (difference from bilinear)", ("filter", *picks), rows)

    path = write_result("extractor_agreement", {
        "n": args.n, "steps": args.steps, "seed": args.seed, "load_at_start": load_at_start,
        "fid": fids, "spearman_rho": rho, "extract_seconds": seconds,
        "fid_by_resize_filter": by_filter, "filter_generators": picks,
        "inception_preprocessing": inception.describe(),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
