"""Each metric against closed forms or hand-computed cases."""

import itertools

import numpy as np
import pytest
import scipy.linalg

from ecogen.errors import EcogenError
from ecogen.metrics.fid import fid, frechet_distance
from ecogen.metrics.inception_score import inception_score
from ecogen.metrics.kid import kid, mmd2_unbiased
from ecogen.metrics.precision_recall import precision_recall


def test_fid_of_two_gaussians_with_diagonal_covariances():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)  # = 5 + (1 + 1 + 4)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected) == pytest.approx(11.0)


def test_fid_matches_the_textbook_formula_on_full_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T, b @ b.T
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    textbook = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(textbook, rel=1e-8)


def test_fid_is_zero_for_identical_sets_and_finite_for_singular_covariances():
    x = np.random.default_rng(1).normal(size=(50, 128))  # fewer samples than dimensions: singular
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(fid(x, x + 0.1))


@pytest.mark.parametrize("n_real, n_fake", [(40, 300), (300, 40), (30, 30), (300, 200)])
def test_the_gram_form_equals_the_covariance_form(n_real, n_fake):
    """Sets smaller than the feature dimension take the n x n route; it must give the same FID."""
    rng = np.random.default_rng(3)
    real = rng.normal(size=(n_real, 64)) @ rng.normal(size=(64, 64))
    fake = rng.normal(0.3, 1.2, size=(n_fake, 64)) @ rng.normal(size=(64, 64))
    full = frechet_distance(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))
    assert fid(real, fake) == pytest.approx(full, rel=1e-7)


def test_fid_sample_estimate_approaches_the_closed_form():
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 1.0, size=(200_000, 2))
    y = rng.normal(3.0, 2.0, size=(200_000, 2))
    # closed form: ||mu||^2 = 2 * 9 = 18; per dim (1 - 2)^2 = 1 -> 20
    assert fid(x, y) == pytest.approx(20.0, rel=0.01)


def test_mmd_unbiased_by_hand():
    x, y = np.array([[1.0], [2.0]]), np.array([[0.0], [3.0]])
    k = lambda a, b: (a * b + 1) ** 3  # d = 1
    xx = 2 * k(1, 2) / 2
    yy = 2 * k(0, 3) / 2
    xy = np.mean([k(a, b) for a, b in itertools.product([1, 2], [0, 3])])
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_kid_is_near_zero_for_one_distribution_and_caps_its_subset_size():
    rng = np.random.default_rng(3)
    same = kid(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)), subsets=20, subset_size=100)
    shifted = kid(rng.normal(size=(400, 8)), rng.normal(1.0, 1.0, size=(400, 8)), subsets=20, subset_size=100)
    assert abs(same[0]) < 5 * same[1] + 0.01 and shifted[0] > 10 * abs(same[0])
    mean, std = kid(rng.normal(size=(5, 8)), rng.normal(size=(7, 8)))  # subset size 1000 capped at 5
    assert np.isfinite(mean) and np.isfinite(std)
    with pytest.raises(EcogenError, match="at least 2"):
        kid(rng.normal(size=(1, 8)), rng.normal(size=(7, 8)))


def test_inception_score_by_hand():
    confident_distinct = np.eye(4)[np.arange(40) % 4]  # each image sure, classes balanced -> IS = 4
    assert inception_score(confident_distinct, splits=1)[0] == pytest.approx(4.0)
    all_same = np.eye(4)[np.zeros(40, dtype=int)]
    assert inception_score(all_same, splits=2)[0] == pytest.approx(1.0)
    unsure = np.full((40, 4), 0.25)
    assert inception_score(unsure, splits=4) == (pytest.approx(1.0), pytest.approx(0.0))


def test_inception_score_is_fair_to_sets_sorted_by_class():
    sorted_by_class = np.eye(10)[np.repeat(np.arange(10), 50)]
    assert inception_score(sorted_by_class, splits=10)[0] > 8.0


def test_precision_recall_identical_disjoint_and_by_hand():
    x = np.random.default_rng(4).normal(size=(100, 5))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)
    real = np.array([[0.0], [1.0], [2.0], [3.0]])  # k=3 radii: 3, 2, 2, 3 -> real manifold [-3, 6]
    far = np.array([[5.0], [6.0], [7.0], [100.0]])
    assert precision_recall(real, far)[0] == pytest.approx(2 / 4)  # 5 and 6 are inside, 7 and 100 are not
    near = np.array([[4.5], [5.0], [5.5], [6.0]])  # radii 1.5, 1, 1, 1.5 -> generated manifold [3, 7.5]
    assert precision_recall(real, near) == (pytest.approx(1.0), pytest.approx(1 / 4))  # only 3.0 is covered


def test_precision_recall_need_more_than_k_images():
    with pytest.raises(EcogenError, match="more than k=3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))


def test_kid_from_precomputed_kernels_equals_kid_per_subset(monkeypatch):
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(300, 16)), rng.normal(0.3, 1.0, size=(200, 16))
    fast = kid(real, fake, subsets=10, subset_size=150)
    monkeypatch.setattr("ecogen.metrics.kid.PRECOMPUTE_MAX", 0)  # force the one-product-per-subset path
    slow = kid(real, fake, subsets=10, subset_size=150)
    assert fast == pytest.approx(slow, rel=1e-9)
