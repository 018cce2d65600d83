"""Fréchet distance and running moments against numpy/scipy references in float64."""

import numpy as np
import pytest
import scipy.linalg
import torch
from insilico_core.metrics import (
    FrechetDistance,
    RunningMoments,
    frechet_distance,
    frechet_distance_from_features,
)


def scipy_frechet(mu1, sigma1, mu2, sigma2):
    """The pytorch-fid / Multi-StyleGAN formula: scipy sqrtm of the product, real part of its trace."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean.real))


def gaussian_stats(rng, n, d, scale=1.0, shift=0.0):
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    x = rng.normal(size=(n, d)) @ mixing * scale + shift
    return x.mean(0), np.cov(x, rowvar=False), x


def test_matches_scipy_sqrtm_full_rank():
    rng = np.random.default_rng(0)
    mu1, s1, _ = gaussian_stats(rng, 400, 32)
    mu2, s2, _ = gaussian_stats(rng, 400, 32, scale=1.3, shift=0.2)
    expected = scipy_frechet(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(
        torch.from_numpy(mu1), torch.from_numpy(s1), torch.from_numpy(mu2), torch.from_numpy(s2)
    ) == (pytest.approx(expected, rel=1e-6))


def test_rank_deficient_covariances_match_projected_reference():
    """n < d: both covariances live in a 7-dim subspace. Projecting onto an orthonormal basis Q of that
    subspace gives well-conditioned 7x7 covariances with the same eigenvalues of the product, where scipy's
    sqrtm is accurate; the full 40x40 computation must agree with it."""
    rng = np.random.default_rng(1)
    d, k = 40, 7
    q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    x = rng.normal(size=(5, k)) @ q.T  # 5 samples -> rank 4 covariance
    y = (rng.normal(size=(6, k)) * 1.5 + 0.3) @ q.T  # 6 samples -> rank 5
    mu1, s1 = x.mean(0), np.cov(x, rowvar=False)
    mu2, s2 = y.mean(0), np.cov(y, rowvar=False)
    assert np.linalg.matrix_rank(s1) < d
    p1, p2 = q.T @ s1 @ q, q.T @ s2 @ q
    reference_trace_sqrt = np.trace(
        scipy.linalg.sqrtm(scipy.linalg.sqrtm(p1).real @ p2 @ scipy.linalg.sqrtm(p1).real).real
    )
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * reference_trace_sqrt)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)


def test_identical_gaussians_give_zero_and_distance_is_symmetric():
    rng = np.random.default_rng(2)
    mu1, s1, _ = gaussian_stats(rng, 100, 16)
    mu2, s2, _ = gaussian_stats(rng, 100, 16, scale=2.0)
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-9
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-9)


def test_from_features_and_streaming_object_equal_one_shot():
    rng = np.random.default_rng(3)
    _, _, x = gaussian_stats(rng, 300, 12)
    _, _, y = gaussian_stats(rng, 250, 12, shift=0.5)
    expected = scipy_frechet(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_distance_from_features(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        expected, rel=1e-6
    )
    metric = FrechetDistance()
    for start in range(0, 300, 64):
        metric.update(real=torch.from_numpy(x[start : start + 64]).float())
    for start in range(0, 250, 100):
        metric.update(fake=torch.from_numpy(y[start : start + 100]).float())
    assert metric.compute() == pytest.approx(expected, rel=1e-5)  # float32 inputs


def test_running_moments_equal_one_shot_and_merge():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(257, 9)) * 3 + 100.0  # large offset: naive sum-of-squares would lose digits
    left, right = RunningMoments(), RunningMoments()
    for start in range(0, 130, 17):
        left.update(torch.from_numpy(x[start : min(start + 17, 130)]))
    right.update(torch.from_numpy(x[130:]))
    left.merge(right)
    assert left.count == 257
    np.testing.assert_allclose(left.mean.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(left.covariance().numpy(), np.cov(x, rowvar=False), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        left.covariance(ddof=0).numpy(), np.cov(x, rowvar=False, ddof=0), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros(3), np.eye(3), np.zeros(4), np.eye(4)), "one dimension"),
        ((np.zeros(3), np.eye(4), np.zeros(3), np.eye(3)), "covariance"),
        ((np.array([0.0, np.nan, 0.0]), np.eye(3), np.zeros(3), np.eye(3)), "NaN"),
    ],
)
def test_bad_gaussians_raise(args, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(*args)


def test_bad_features_raise():
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance_from_features(torch.zeros(1, 4), torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        frechet_distance_from_features(torch.zeros(5, 4, 1), torch.zeros(5, 4))
    metric = FrechetDistance()
    metric.update(real=torch.randn(4, 3))
    with pytest.raises(ValueError, match="3 features"):
        metric.update(real=torch.randn(4, 5))
    with pytest.raises(ValueError, match="fake"):
        metric.compute()


def numpy_trace_sqrt(s_full_rank, s_other):
    """Tr sqrt(S_a S_b) via numpy: eigenvalues of S_a^(1/2) S_b S_a^(1/2) with S_a well conditioned."""
    w, v = np.linalg.eigh(s_full_rank)
    root = (v * np.sqrt(w)) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root @ s_other @ root), 0, None)).sum())


def test_one_singular_covariance_uses_the_other_factor_and_matches_numpy():
    rng = np.random.default_rng(5)
    d = 30
    few = rng.normal(size=(8, d))  # rank 7 covariance
    many = rng.normal(size=(400, d)) @ (rng.normal(size=(d, d)) / np.sqrt(d)) + 0.1
    s_few, s_many = np.cov(few, rowvar=False), np.cov(many, rowvar=False)
    mu_few, mu_many = few.mean(0), many.mean(0)
    reference = float(
        ((mu_few - mu_many) ** 2).sum()
        + np.trace(s_few)
        + np.trace(s_many)
        - 2 * numpy_trace_sqrt(s_many, s_few)
    )
    # zero eigenvalues come out at rounding level and their square roots (~1e-8) limit the agreement
    assert frechet_distance(mu_few, s_few, mu_many, s_many) == pytest.approx(reference, rel=1e-7)
    assert frechet_distance(mu_many, s_many, mu_few, s_few) == pytest.approx(reference, rel=1e-7)
