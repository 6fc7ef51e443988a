"""Transformations on a small real VAE (and a GAN): they beat their baselines, keep what they must."""

import numpy as np
import pytest
import torch
from PIL import Image

from ecogen import load
from ecogen.config import DataConfig
from ecogen.data import prepare_data
from ecogen.errors import EcogenError
from ecogen.metrics.image_quality import mse, psnr, ssim
from ecogen.rundir import RunDir
from ecogen.transforms import LatentModel, corrupt, inpaint, interpolate, reconstruct, slerp
from ecogen.transforms.run import latent_model

from conftest import run_cli


@pytest.fixture(scope="module")
def held_out(vae_run):
    data = prepare_data(DataConfig(), split=RunDir(vae_run).read_split())
    return torch.from_numpy(data.holdout.images[::10][:50])  # 50 digits the model never saw


def test_image_quality_measures():
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.isinf(psnr(x, x)).logical_not().all() and (psnr(x, x) > 100).all()
    assert ssim(x, x).allclose(torch.ones(2, dtype=torch.float64))
    y = x.clone()
    y[:, :, :8] = -1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., :8, :] = 1
    assert mse(x, y, 1 - mask).max() == 0 and mse(x, y, mask).min() > 0


def test_reconstruction_is_close(vae_run, held_out):
    model = latent_model(load(vae_run, device="cpu"), None, 0)
    rec = reconstruct(model, held_out)
    assert rec.shape == held_out.shape
    other = held_out.roll(1, dims=0)  # each digit paired with a different one: what "not reconstructed" scores
    assert psnr(rec, held_out).mean() > psnr(other, held_out).mean() + 3


@pytest.mark.parametrize("noise", ["gaussian:0.3", "saltpepper:0.15"])
def test_denoising_beats_the_noisy_input(vae_run, held_out, noise):
    model = latent_model(load(vae_run, device="cpu"), None, 0)
    noisy = corrupt(held_out, noise, seed=1)
    clean = reconstruct(model, noisy)
    assert psnr(clean, held_out).mean() > psnr(noisy, held_out).mean() + 1  # dB


def test_inpainting_beats_mean_fill_and_keeps_known_pixels(vae_run, held_out):
    model = latent_model(load(vae_run, device="cpu"), None, 0)
    missing = torch.zeros(1, 1, 32, 32)
    missing[..., 10:22, 6:26] = 1
    filled = inpaint(model, held_out, missing)
    known = (1 - missing).bool().expand_as(held_out)
    assert torch.equal(filled[known], held_out[known])  # exactly kept
    mean_fill = held_out * (1 - missing) + missing * (held_out * (1 - missing)).flatten(1).sum(1).view(-1, 1, 1, 1) / (
        1 - missing).sum()
    assert mse(filled, held_out, missing).mean() < mse(mean_fill, held_out, missing).mean()


def test_interpolation_paths_end_at_their_latents(vae_run):
    model = latent_model(load(vae_run, device="cpu"), None, 0)
    a, b = torch.randn(1, 16), torch.randn(1, 16)
    strip = interpolate(model, a, b, frames=5, path="linear")
    assert strip.shape == (5, 1, 32, 32)
    torch.testing.assert_close(strip[0:1], model.decode(a))
    torch.testing.assert_close(strip[-1:], model.decode(b))
    mid = slerp(a, b, 0.5)
    assert mid.norm() > 0.9 * min(a.norm(), b.norm())  # slerp keeps latent norms, linear shrinks them


def test_gan_inversion_reconstructs_its_own_samples(gan_run):
    generator = load(gan_run, device="cpu")
    target = generator.sample(4, seed=5)
    model = LatentModel(generator, steps=150, seed=0)
    rec = reconstruct(model, target)
    start = generator.sample(4, seed=0)  # where the optimisation starts
    assert mse(rec, target).mean() < 0.5 * mse(start, target).mean()
    with pytest.raises(EcogenError, match="inversion needs --steps > 0"):
        reconstruct(LatentModel(generator, steps=0), target)


def _write_digits(folder, images):
    """As 28x28 PNGs, the size MNIST digits come in (the model pads them back to 32)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images[..., 2:30, 2:30]):
        Image.fromarray(((img[0].numpy() + 1) * 127.5).astype(np.uint8)).save(folder / f"d{i}.png")


def test_cli_transforms_end_to_end(vae_run, held_out, tmp_path):
    _write_digits(tmp_path / "in", held_out[:4])
    before = {p: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    assert run_cli("transform", "corrupt", "--input", str(tmp_path / "in"), "--out", str(tmp_path / "noisy")).returncode == 0
    proc = run_cli("transform", "denoise", str(vae_run), "--input", str(tmp_path / "noisy"), "--out", str(tmp_path / "clean"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == ["d0.png", "d1.png", "d2.png", "d3.png"]
    proc = run_cli("receipt", str(tmp_path / "clean" / "d0.png"))
    assert proc.returncode == 0 and "denoise" in proc.stdout
    proc = run_cli("transform", "inpaint", str(vae_run), "--input", str(tmp_path / "in" / "d1.png"), "--box", "4,4,20,10",
                   "--out", str(tmp_path / "filled.png"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("transform", "interpolate", str(vae_run), "--from", str(tmp_path / "in" / "d0.png"), "--to",
                   str(tmp_path / "in" / "d1.png"), "--frames", "6", "--out", str(tmp_path / "path.png"))
    assert proc.returncode == 0 and Image.open(tmp_path / "path.png").size == (6 * 34 + 2, 36)
    assert {p: p.read_bytes() for p in (tmp_path / "in").iterdir()} == before  # inputs untouched


@pytest.mark.parametrize(
    "args, message",
    [
        (["inpaint", "--box", "1,1,100,5"], "does not fit inside"),
        (["inpaint"], "exactly one of --mask"),
        (["inpaint", "--mask", "WRONG_MASK"], "is 5x5 but the image is 28x28"),
        (["reconstruct", "--input", "NOT_IMAGE"], "cannot read image"),
        (["reconstruct", "--out", "INPUT"], "refusing to overwrite the input"),
        (["interpolate", "--seeds", "1"], "--seeds must be two integers"),
    ],
)
def test_bad_transform_input(vae_run, held_out, tmp_path, args, message):
    _write_digits(tmp_path / "in", held_out[:1])
    image = tmp_path / "in" / "d0.png"
    Image.new("L", (5, 5), 255).save(tmp_path / "mask.png")
    (tmp_path / "text.png").write_text("hello")
    subst = {"WRONG_MASK": str(tmp_path / "mask.png"), "NOT_IMAGE": str(tmp_path / "text.png"), "INPUT": str(image)}
    args = [subst.get(a, a) for a in args]
    kind, rest = args[0], args[1:]
    base = [] if "--input" in rest or kind == "interpolate" else ["--input", str(image)]
    out = [] if "--out" in rest else ["--out", str(tmp_path / "o.png")]
    proc = run_cli("transform", kind, str(vae_run), *base, *rest, *out)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert image.read_bytes() and Image.open(image).size == (28, 28)


def test_a_gan_without_steps_cannot_reconstruct(tiny_run, tmp_path):
    Image.new("L", (16, 16)).save(tmp_path / "x.png")
    proc = run_cli("transform", "reconstruct", str(tiny_run), "--input", str(tmp_path / "x.png"), "--steps", "0",
                   "--out", str(tmp_path / "y.png"))
    assert proc.returncode == 2 and "a GAN has no encoder" in proc.stderr


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_outputs_keep_the_inputs_size_and_mode_and_inpaint_keeps_known_pixels(vae_run, held_out, tmp_path, size, mode):
    """Whatever the input's size (padded or resized to the model's 32) and mode, outputs come back at it."""
    from ecogen import api

    digit = ((held_out[3, 0].numpy() + 1) * 127.5).astype(np.uint8)
    img = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    if mode == "RGB":  # a tinted digit: the colour must survive where pixels are known
        rgb = np.asarray(img.convert("RGB")).astype(np.int32) * np.array([1.0, 0.6, 0.3])
        img = Image.fromarray(rgb.astype(np.uint8), "RGB")
    img.save(tmp_path / "in.png")
    box = (size // 4, size // 3, size // 2, size // 4)
    api.transform("inpaint", tmp_path / "filled.png", run=vae_run, inputs=tmp_path / "in.png", device="cpu",
                  box=",".join(map(str, box)), steps=5)
    api.transform("denoise", tmp_path / "clean.png", run=vae_run, inputs=tmp_path / "in.png", device="cpu", steps=5)
    before = np.asarray(img)
    for name in ("filled.png", "clean.png"):
        out = Image.open(tmp_path / name)
        assert out.size == (size, size) and out.mode == mode
    after = np.asarray(Image.open(tmp_path / "filled.png"))
    x, y, w, h = box
    known = np.ones((size, size), dtype=bool)
    known[y : y + h, x : x + w] = False
    assert np.array_equal(after[known], before[known])  # every known pixel, exactly
    assert not np.array_equal(after[~known], before[~known])  # and the hole was filled by the model
