"""What a VAE's samples gain from a prior fitted to its codes, per likelihood, on Fashion-MNIST.

    python benchmarks/vae_prior.py [--recons bce,gaussian] [--max-wh 0.35] [--n 2000] [--seed 0] [--quick]

About 10 minutes on 2 cores. For each likelihood, one VAE (the `mixture-vae` recipe with that likelihood, at
28x28) trains on the 60,000 training images to an energy budget; then its final weights sample ``--n``
images from each prior below, scored with the bundled `fashion` extractor against the 10,000 test images
(FID, the training checks' measure):

- ``standard``: N(0, I), what a VAE samples from by default;
- ``full-cov, means``: a full-covariance Gaussian fitted to the posterior means of 10,000 training images;
- ``fitted``: the same fitted to one draw of q(z|x) each (the aggregate posterior): ``--prior fitted``;
- ``mixture-5``, ``mixture`` (10, ``--prior mixture``), ``mixture-20``: full-covariance Gaussian mixtures
  on those codes (scikit-learn's EM, through ecogen's LatentPrior: what training ships).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import RESULTS, machine_load, print_table, write_result
from ecogen import train
from ecogen.api import load
from ecogen.data import prepare_data
from ecogen.energy import record as records
from ecogen.metrics.extractors import load_extractor
from ecogen.metrics.fid import fid
from ecogen.models.latent_prior import LatentPrior
from ecogen.models.vae import training_codes

RUNS = RESULTS / "vae_prior"


def score(generator, extractor, real: np.ndarray, z: torch.Tensor) -> float:
    decoder = generator.modules["decoder"]
    with torch.no_grad():
        images = torch.cat([decoder(c) for c in z.float().split(500)])
    return fid(real, extractor.extract(images, device=torch.device("cpu")).features)


# name -> (what the prior is fitted to, components; None: N(0, I)), what it is
PRIORS = {
    "standard": (None, 0, "N(0, I)"),
    "full-cov, means": ("means", 1, "a Gaussian fitted to the posterior means"),
    "fitted": ("codes", 1, "a Gaussian fitted to one draw of q(z|x) each (--prior fitted)"),
    "mixture-5": ("codes", 5, "5 Gaussians on the same codes"),
    "mixture": ("codes", 10, "10 Gaussians on the same codes (--prior mixture, the recipe's)"),
    "mixture-20": ("codes", 20, "20 Gaussians on the same codes"),
}


def draw(prior: str, mu: torch.Tensor, drawn: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` codes from ``prior``, fitted with ecogen's own LatentPrior (what training ships)."""
    fitted_to, components, _ = PRIORS[prior]
    u = torch.randn(n, mu.shape[1], generator=torch.Generator().manual_seed(seed + 1))
    if fitted_to is None:
        return u
    density = LatentPrior(mu.shape[1], components)
    density.fit(mu if fitted_to == "means" else drawn, seed)
    with torch.no_grad():
        return density(u)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recons", default="bce,gaussian", help="likelihoods to train: bce, gaussian, mse")
    parser.add_argument("--max-wh", type=float, default=0.35, help="each run's energy budget")
    parser.add_argument("--n", type=int, default=2000, help="samples per prior")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run in a minute: 0.01 Wh, 300 samples")
    args = parser.parse_args()
    name = "vae_prior_quick" if args.quick else "vae_prior"
    if args.quick:
        args.max_wh, args.n = 0.01, 300
    load_at_start = machine_load()
    extractor = load_extractor("fashion")
    results = []
    for recon in args.recons.split(","):
        out = RUNS / f"{recon}_seed{args.seed}"
        config = {"data.source": "fashion-mnist", "data.image_size": 28, "seed": args.seed,
                  "energy.max_wh": args.max_wh, "model.recon": recon, "device": "cpu"}
        train(config, out, recipe="mixture-vae", overwrite=True, progress=False)  # final weights: no checks
        record = records.read(out / "run.json")
        generator = load(out, device="cpu")
        data = prepare_data(generator.config.data)
        real = extractor.extract(torch.from_numpy(data.holdout.images), device=torch.device("cpu")).features
        mu, drawn = training_codes(generator.modules, torch.from_numpy(data.train.images), None, args.seed)
        active = int((mu.var(0) > 0.01).sum())
        for prior, (_, components, what) in PRIORS.items():
            z = draw(prior, mu, drawn, args.n, args.seed)
            results.append({"recon": recon, "prior": prior, "components": components, "what": what,
                            "fid": score(generator, extractor, real, z), "steps": record.step,
                            "wh_train": record.training_wh, "active_dims": active})
            print(f"{recon}, {prior}: fashion FID {results[-1]['fid']:.2f}", flush=True)
    rows = [(f"{r['recon']}, {r['prior']}", f"{r['fid']:.2f}", f"{r['wh_train']:.3f}", str(r["steps"]),
             str(r["active_dims"])) for r in results]
    print_table(f"VAE samples by prior (fashion FID, {args.n:,} samples vs 10,000 test)",
                ("likelihood, prior", "FID", "training Wh", "steps", "active dims"), rows)
    path = write_result(name, {"n": args.n, "max_wh": args.max_wh, "extractor": "fashion", "n_real": 10000,
                               "load_at_start": load_at_start, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
