"""DiffAugment: differentiable, seeded, and each augmentation does what it says."""

import pytest
import torch

from ecogen import train
from ecogen.errors import ConfigError
from ecogen.training.augment import apply_policy, cutout, flip, parse_policy, translation

from conftest import run_cli, tiny_config


def test_translation_moves_a_pixel_and_fills_with_zeros():
    x = torch.full((64, 1, 16, 16), 5.0)
    x[:, :, 8, 8] = 9.0
    out = translation(x, torch.Generator().manual_seed(0))
    for img in out:
        ys, xs = torch.nonzero(img[0] == 9.0, as_tuple=True)
        assert len(ys) == 1 and abs(int(ys[0]) - 8) <= 2 and abs(int(xs[0]) - 8) <= 2  # 0.125 x 16 = 2
        assert set(img.unique().tolist()) <= {0.0, 5.0, 9.0}
    moved = [(int(torch.nonzero(img[0] == 9.0)[0, 0]), int(torch.nonzero(img[0] == 9.0)[0, 1])) for img in out]
    assert len(set(moved)) > 5  # shifts differ between images
    assert (out == 0).any()  # something was shifted in from the zero border


def test_cutout_zeroes_one_square_of_half_the_size():
    out = cutout(torch.ones(32, 3, 16, 16), torch.Generator().manual_seed(1))
    assert ((out == 0).sum(dim=(1, 2, 3)) == 3 * 8 * 8).all()


def test_flip_mirrors_about_half_the_images_and_nothing_else():
    x = torch.rand(200, 3, 8, 8)
    out = flip(x, torch.Generator().manual_seed(2))
    mirrored = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (mirrored ^ kept).all() and 70 < int(mirrored.sum()) < 130
    assert torch.equal(out, flip(x, torch.Generator().manual_seed(2)))


def test_policy_is_differentiable_and_seeded():
    policy = parse_policy("color,translation,cutout,flip")
    x = torch.rand(8, 1, 16, 16, requires_grad=True)
    a = apply_policy(x, policy, torch.Generator().manual_seed(3))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    b = apply_policy(x.detach(), policy, torch.Generator().manual_seed(3))
    assert torch.equal(a.detach(), b)
    assert parse_policy("none") == [] and parse_policy("") == []
    unknown = "unknown augmentation 'rotate'; choose from: color, cutout, flip, translation"
    with pytest.raises(ConfigError, match=unknown):
        parse_policy("translation,rotate")


def test_a_gan_trains_with_diffaugment_and_a_bad_policy_is_exit_2(tmp_path):
    result = train(tiny_config(augment="translation,cutout", steps=3), tmp_path / "r", progress=False)
    assert result.step == 3 and torch.isfinite(torch.tensor(result.last["loss_d"]))
    proc = run_cli("train", "--data", "digits", "--augment", "translation,rotate", "--out", str(tmp_path / "bad"))
    assert proc.returncode == 2 and "unknown augmentation 'rotate'" in proc.stderr and not (tmp_path / "bad").exists()
    proc = run_cli("train", "--data", "digits", "--model", "vae", "--augment", "translation", "--out", str(tmp_path / "v"))
    assert proc.returncode == 2 and "the VAE has none" in proc.stderr
