"""Quality and energy of the transformations on held-out digits, against simple baselines.

    python benchmarks/transform_quality.py [--vae runs/vae] [--gan runs/demo] [--n 200]

Without --vae it first trains one (`--model vae`, 5 epochs on the bundled MNIST) into
benchmarks/results/vae_run. Reports PSNR and SSIM of reconstruction, denoising gain over the noisy
input (with a 3x3 median filter for reference), and inpainting error in the masked region against
mean fill and nearest-neighbour fill, with Wh per image for each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from scipy import ndimage

from _common import RESULTS, print_table, write_result
from ecogen import load, train
from ecogen.config import DataConfig, TrainConfig, from_dict
from ecogen.data import prepare_data
from ecogen.energy import EnergyTracker
from ecogen.metrics.image_quality import mse, psnr, ssim
from ecogen.rundir import RunDir
from ecogen.transforms import corrupt, inpaint, reconstruct
from ecogen.transforms.run import latent_model


def metered(fn, n: int):
    with EnergyTracker("auto") as tracker, tracker.phase("transform"):
        out = fn()
    report = tracker.report()
    return out, report.wh() / n, report.estimated


def median_filter(images: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(ndimage.median_filter(images.numpy(), size=(1, 1, 3, 3)))


def nearest_fill(images: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    out = images.clone().numpy()
    hole = missing[0, 0].numpy().astype(bool)
    _, (iy, ix) = ndimage.distance_transform_edt(hole, return_indices=True)
    out[:, :, hole] = out[:, :, iy[hole], ix[hole]]
    return torch.from_numpy(out)


def ensure_vae(path: Path | None) -> Path:
    if path is not None:
        return path
    out = RESULTS / "vae_run"
    if not (out / "checkpoints").exists():
        cfg = from_dict(TrainConfig, {"model": {"name": "vae"}, "optim": {"lr_g": 1e-3, "beta1": 0.9}, "epochs": 5})
        train(cfg, out, progress=True)
    return out


def evaluate(run: Path, images: torch.Tensor, label: str) -> tuple[list[tuple], dict]:
    gen = load(run, device="cpu")
    model = latent_model(gen, None, 0)
    n = len(images)
    rows, data = [], {}
    rec, wh, est = metered(lambda: reconstruct(model, images), n)
    rows.append((f"{label} reconstruct", f"PSNR {psnr(rec, images).mean():.2f} dB, SSIM {ssim(rec, images).mean():.3f}", "", f"{wh * 1000:.4f}"))
    data["reconstruct"] = {"psnr": float(psnr(rec, images).mean()), "ssim": float(ssim(rec, images).mean()), "wh_per_image": wh}
    for noise in ("gaussian:0.3", "saltpepper:0.15"):
        noisy = corrupt(images, noise, seed=1)
        clean, wh, _ = metered(lambda: reconstruct(model, noisy), n)
        p_noisy, p_clean = psnr(noisy, images).mean(), psnr(clean, images).mean()
        p_median = psnr(median_filter(noisy), images).mean()
        rows.append((f"{label} denoise {noise}", f"PSNR {p_clean:.2f} dB (gain {p_clean - p_noisy:+.2f})",
                     f"noisy {p_noisy:.2f}, median 3x3 {p_median:.2f}", f"{wh * 1000:.4f}"))
        data[f"denoise {noise}"] = {"psnr": float(p_clean), "noisy_psnr": float(p_noisy), "median_psnr": float(p_median),
                                    "wh_per_image": wh}
    missing = torch.zeros(1, 1, *images.shape[-2:])
    h, w = images.shape[-2:]
    missing[..., h // 3 : 2 * h // 3, w // 4 : 3 * w // 4] = 1
    filled, wh, _ = metered(lambda: inpaint(model, images, missing), n)
    known = 1 - missing
    mean_fill = images * known + missing * ((images * known).flatten(1).sum(1) / known.sum()).view(-1, 1, 1, 1)
    e_model, e_mean = mse(filled, images, missing).mean(), mse(mean_fill, images, missing).mean()
    e_near = mse(nearest_fill(images, missing), images, missing).mean()
    rows.append((f"{label} inpaint (middle third)", f"masked MSE {e_model:.4f}", f"mean fill {e_mean:.4f}, nearest {e_near:.4f}",
                 f"{wh * 1000:.4f}"))
    data["inpaint"] = {"masked_mse": float(e_model), "mean_fill_mse": float(e_mean), "nearest_fill_mse": float(e_near),
                       "wh_per_image": wh}
    data["estimated"] = est
    return rows, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", type=Path)
    parser.add_argument("--gan", type=Path)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    vae = ensure_vae(args.vae)
    split = RunDir(vae).read_split()
    held = prepare_data(DataConfig(), split=split).holdout
    images = torch.from_numpy(held.images[: args.n])
    rows, payload = evaluate(vae, images, "VAE")
    payload = {"vae": payload, "run": str(vae), "n": len(images)}
    if args.gan:
        gan_rows, payload["gan"] = evaluate(args.gan, images, "GAN (inversion, 300 steps)")
        rows += gan_rows
    print_table(f"transformations on {len(images)} held-out digits (energy estimated: {payload['vae']['estimated']})",
                ("task", "result", "baselines", "mWh / image"), rows)
    print(f"wrote {write_result('transform_quality', payload)}")


if __name__ == "__main__":
    main()
