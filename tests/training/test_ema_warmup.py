"""The EMA warm-up: a short run's average forgets its random start, and the config reaches the loop."""

from __future__ import annotations

import torch
from torch import nn

from ecogen import load, train
from ecogen.training.ema import decay_at, update_ema
from conftest import tiny_config


def share_of_start(steps: int, warmup: bool) -> float:
    """Weight the EMA still gives its initial value after ``steps`` updates toward a constant live net."""
    ema, live = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    nn.init.zeros_(ema.weight), nn.init.ones_(live.weight)
    for step in range(1, steps + 1):
        update_ema(ema, live, decay_at(0.999, step, warmup))
    return 1.0 - float(ema.weight.detach())


def test_the_warm_up_ramps_to_the_decay_and_forgets_the_start():
    assert decay_at(0.999, 1, True) == 2 / 11 and decay_at(0.999, 10_000, True) == 0.999
    assert decay_at(0.999, 1, False) == 0.999
    assert abs(share_of_start(1000, False) - 0.999 ** 1000) < 1e-4  # 37% of the start is left without it
    assert share_of_start(1000, True) < 0.02


def test_the_config_reaches_the_loop(tmp_path):
    def ema_weights(warmup: bool) -> list[torch.Tensor]:
        out = tmp_path / f"w{warmup}"
        train(tiny_config(steps=3, ema_decay=0.999, ema_warmup=warmup), out, progress=False)
        return [v for k, v in load(out).modules.state_dict().items() if k.startswith("ema.") and v.is_floating_point()]
    cold, warm = ema_weights(False), ema_weights(True)
    assert cold and any(not torch.equal(a, b) for a, b in zip(cold, warm))
