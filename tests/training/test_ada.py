"""ADA's adaptive augmentation probability: the controller follows the overfitting signal within [0, 1],
p = 0 and p = 1 are no augmentation and DiffAugment, and a resumed run goes on from the saved p."""

from __future__ import annotations

import pytest
import torch

from ecogen import checkpoint, resume, train
from ecogen.base import jsonl
from ecogen.training.augment import AdaptiveProbability, apply_policy, parse_policy
from conftest import run_cli, tiny_config


def test_p_follows_the_sign_of_d_on_the_reals_and_stays_in_range():
    ada = AdaptiveProbability(target=0.6, kimg=0.064, device=torch.device("cpu"))  # 1 per 64 images
    confident = torch.full((8,), 3.0)  # E[sign D(real)] = 1 > 0.6: D overfits
    for update in range(3):
        ada.observe(confident, update)
    assert float(ada.p) == 0.0  # adjusted every 4 D updates only
    ada.observe(confident, 3)
    assert float(ada.p) == pytest.approx(32 / 64)  # 4 updates x 8 images seen
    for update in range(4, 12):
        ada.observe(confident, update)
    assert float(ada.p) == 1.0  # clamped
    for update in range(12, 20):
        ada.observe(-confident, update)  # r = -1 < 0.6: p falls, to 0 at most
    assert float(ada.p) == 0.0


def test_p_zero_is_no_augmentation_p_one_is_diffaugment_and_between_is_a_share():
    x = torch.rand(64, 3, 8, 8) * 2 - 1
    seeded = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    full, color = parse_policy("color,translation,cutout"), parse_policy("color")
    assert torch.equal(apply_policy(x, full, seeded(), torch.tensor(0.0)), x)
    assert torch.equal(apply_policy(x, color, seeded(), torch.tensor(1.0)), apply_policy(x, color, seeded()))
    changed = lambda y: (y != x).flatten(1).any(1).float().mean().item()  # noqa: E731
    assert changed(apply_policy(x, full, seeded(), torch.tensor(1.0))) == 1.0
    assert 0.3 < changed(apply_policy(x, color, seeded(), torch.tensor(0.5))) < 0.7


def test_an_ada_run_logs_p_and_resumes_bit_for_bit(tmp_path):
    ada = {"augment": "translation,cutout", "ada_target": 0.01, "ada_kimg": 1.0, "log_every": 1}
    train(tiny_config(steps=8, checkpoint_every=3, **ada), tmp_path / "straight", progress=False)
    train(tiny_config(steps=4, **ada), tmp_path / "halves", progress=False)
    resume(tmp_path / "halves", steps=8, progress=False)
    a, b = (checkpoint.latest(tmp_path / name / "checkpoints").tensors for name in ("straight", "halves"))
    assert a.keys() == b.keys() and "state.ada_p" in a
    assert all(torch.equal(a[k], b[k]) for k in a)
    ps = [line["ada_p"] for line in jsonl.read(tmp_path / "straight" / "log.jsonl").records]
    assert len(ps) == 8 and all(0.0 <= p <= 1.0 for p in ps) and ps[-1] > 0.0  # D soon tells reals: p rises


def test_ada_without_a_policy_is_one_line(tmp_path):
    result = run_cli("train", "--data", "digits", "--steps", "2", "--ada-target", "0.6", "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and "give a policy too" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_p_zero_skips_the_work_and_draws_nothing():
    x, rng = torch.rand(4, 1, 8, 8), torch.Generator().manual_seed(0)
    before = rng.get_state()
    assert apply_policy(x, parse_policy("translation,cutout"), rng, 0.0) is x
    assert torch.equal(rng.get_state(), before)
