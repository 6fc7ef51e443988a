"""The tools the quality recipe is built from: learning-rate decay, spectral norm in D, R1, and an EMA
generator whose BatchNorm statistics are its own."""

import math

import pytest
import torch
from torch import nn

from ecogen import checkpoint, load, resume, train
from ecogen.config import ModelConfig
from ecogen.models.dcgan import Discriminator, Generator
from ecogen.training.hooks import Hooks
from ecogen.training.ema import RECOMPUTE_BATCH, RECOMPUTE_BATCHES, recompute_batchnorm
from ecogen.training.gan import r1_penalty
from ecogen.training.schedule import lr_factor

from conftest import tiny_config


@pytest.mark.parametrize("decay", ["linear", "cosine"])
def test_decay_holds_then_falls_to_zero(decay):
    factors = [lr_factor(decay, 0.5, s, 100) for s in range(0, 101, 10)]
    assert factors[:6] == [1.0] * 6 and factors[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in zip(factors[5:], factors[6:]))
    assert lr_factor(decay, 0.5, 75, 100) == pytest.approx(0.5)  # both are at half midway through the decay
    assert lr_factor("none", 0.0, 99, 100) == 1.0


class RecordLr(Hooks):
    def __init__(self):
        self.seen = []

    def after_step(self, state, run):
        self.seen.append([g["lr"] for opt in run.optimizers.values() for g in opt.param_groups])


class StopAt(Hooks):
    def __init__(self, step):
        self.step = step

    def after_step(self, state, run):
        return "paused" if state.step == self.step else None


def test_a_run_follows_its_decay_and_a_resume_continues_it_exactly(tmp_path):
    changes = {"optim": {"lr_g": 1e-3, "lr_d": 2e-3, "decay": "linear"}}
    hook = RecordLr()
    train(tiny_config(steps=4, **changes), tmp_path / "t", progress=False, callbacks=[hook])
    assert hook.seen == [pytest.approx([1e-3 * f, 2e-3 * f]) for f in (1.0, 0.75, 0.5, 0.25)]

    train(tiny_config(steps=6, **changes), tmp_path / "a", progress=False)
    paused = train(tiny_config(steps=6, **changes), tmp_path / "b", progress=False, callbacks=[StopAt(3)])
    assert (paused.step, paused.stop_reason) == (3, "paused")
    resume(tmp_path / "b", progress=False)
    a = checkpoint.latest(tmp_path / "a" / "checkpoints").tensors
    b = checkpoint.latest(tmp_path / "b" / "checkpoints").tensors
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_spectral_norm_discriminator_has_no_batchnorm_and_unit_spectral_norm(tmp_path):
    torch.manual_seed(0)
    D = Discriminator(32, 1, width_mult=0.25, norm="spectral")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    for _ in range(30):  # power iterations run in training mode
        D(torch.randn(4, 1, 32, 32))
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    sigmas = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in convs]
    assert sigmas == pytest.approx([1.0] * len(convs), rel=0.05)

    train(tiny_config(steps=3, model={"d_norm": "spectral"}), tmp_path / "sn", progress=False)
    resume(tmp_path / "sn", steps=4, progress=False)  # its parametrized weights round-trip
    assert load(tmp_path / "sn", device="cpu").sample(4, seed=0).shape[:2] == (4, 1)


def test_r1_is_half_gamma_times_the_squared_input_gradient():
    w = torch.randn(1, 3, 8, 8)
    x = torch.randn(5, 3, 8, 8, requires_grad=True)
    logits = (x * w).flatten(1).sum(1)  # a linear D: its input gradient is w everywhere
    assert r1_penalty(logits, x, gamma=4.0).item() == pytest.approx(2.0 * w.pow(2).sum().item(), rel=1e-5)


def test_lazy_r1_trains_and_changes_the_updates(tmp_path):
    plain = train(tiny_config(steps=4), tmp_path / "plain", progress=False)
    r1 = train(tiny_config(steps=4, r1_gamma=10.0, r1_every=2), tmp_path / "r1", progress=False)
    assert r1.step == 4 and all(math.isfinite(v) for v in r1.last.values())
    a = checkpoint.latest(tmp_path / "plain" / "checkpoints").tensors["model.D.net.0.weight"]
    b = checkpoint.latest(tmp_path / "r1" / "checkpoints").tensors["model.D.net.0.weight"]
    assert plain.step == 4 and not torch.equal(a, b)


def test_recomputed_batchnorm_statistics_are_the_ema_generators_own():
    G = Generator(16, 32, 1, width_mult=0.25)
    first_bn = G.net[1]
    first_bn.running_mean.fill_(5.0)  # stale statistics, as if copied from another network
    inputs = []
    handle = first_bn.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach()))
    recompute_batchnorm(G.eval(), 16, 0, seed=7, device=torch.device("cpu"))
    handle.remove()
    seen = torch.cat(inputs)
    assert len(seen) == RECOMPUTE_BATCH * RECOMPUTE_BATCHES and not G.training and first_bn.momentum == 0.1
    assert torch.allclose(first_bn.running_mean, seen.mean(dim=(0, 2, 3)), atol=1e-5)


def test_ema_run_samples_with_statistics_of_its_own_weights(tmp_path):
    train(tiny_config(steps=6, ema_decay=0.9), tmp_path / "e", progress=False)
    tensors = checkpoint.latest(tmp_path / "e" / "checkpoints").tensors
    ema_mean, live_mean = tensors["model.ema.net.1.running_mean"], tensors["model.G.net.1.running_mean"]
    assert not torch.equal(ema_mean, live_mean)  # recomputed, not copied from the live generator
    assert ModelConfig().d_norm == "batch"  # the default D is unchanged


def test_minibatch_std_trains_and_its_checkpoint_holds_the_spread_plane(tmp_path):
    from conftest import TINY

    config = tiny_config(steps=4, model={**TINY["model"], "d_mbstd": 4, "d_norm": "spectral"}, channels_last=True)
    result = train(config, tmp_path / "m", progress=False)
    assert result.step == 4 and all(math.isfinite(v) for v in result.last.values())
    ckpt = checkpoint.latest(tmp_path / "m" / "checkpoints")
    last = [k for k in ckpt.tensors if k.startswith("model.D.net.") and k.endswith("original")][-1]
    widest = ckpt.tensors[last]
    assert widest.shape[1] == 2 * 16 + 1  # quarter width at 16 px: D ends at 32 channels, plus the spread plane
