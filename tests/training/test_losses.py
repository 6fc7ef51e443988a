import math

import pytest
import torch

from ecogen.errors import EcogenError
from ecogen.training.losses import LOSSES

REAL = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
FAKE = torch.tensor([-3.0, 0.25, 1.5], dtype=torch.float64)


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def mean(values) -> float:
    return sum(values) / len(values)


def test_minimax_matches_its_formula():
    loss = LOSSES.get("minimax")
    d_expected = -mean([math.log(sig(x)) for x in REAL.tolist()]) - mean([math.log(1 - sig(x)) for x in FAKE.tolist()])
    g_expected = mean([math.log(1 - sig(x)) for x in FAKE.tolist()])
    assert loss.d(REAL, FAKE).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g(FAKE).item() == pytest.approx(g_expected, rel=1e-12)


def test_nonsaturating_matches_its_formula():
    loss = LOSSES.get("nonsaturating")
    g_expected = -mean([math.log(sig(x)) for x in FAKE.tolist()])
    assert loss.g(FAKE).item() == pytest.approx(g_expected, rel=1e-12)
    assert loss.d(REAL, FAKE).item() == pytest.approx(LOSSES.get("minimax").d(REAL, FAKE).item())


def test_hinge_matches_its_formula():
    loss = LOSSES.get("hinge")
    d_expected = mean([max(0.0, 1 - x) for x in REAL.tolist()]) + mean([max(0.0, 1 + x) for x in FAKE.tolist()])
    assert loss.d(REAL, FAKE).item() == pytest.approx(d_expected)
    assert loss.g(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


@pytest.mark.parametrize("name", ["minimax", "nonsaturating", "hinge"])
def test_losses_stay_finite_at_extreme_logits(name):
    loss = LOSSES.get(name)
    big = torch.tensor([1e4, -1e4], requires_grad=True)
    value = loss.d(big, -big) + loss.g(big)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(big.grad).all()


def test_nonsaturating_gradient_survives_where_minimax_saturates():
    # When D confidently rejects fakes (logit -10), minimax's G gradient vanishes, the non-saturating one does not.
    logits = torch.tensor([-10.0], requires_grad=True)
    LOSSES.get("minimax").g(logits).backward()
    g_minimax = logits.grad.abs().item()
    logits.grad = None
    LOSSES.get("nonsaturating").g(logits).backward()
    assert logits.grad.abs().item() > 1000 * g_minimax


def test_unknown_loss_lists_choices():
    with pytest.raises(EcogenError, match="hinge, minimax, nonsaturating"):
        LOSSES.get("wasserstein")
