"""KID against a direct double-loop implementation of StyleGAN2-ADA's unbiased MMD² estimate."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import KernelDistance, kid, kid_subset_estimates


def double_loop_mmd2(x, y):
    """Unbiased MMD² with k(a, b) = (a.b / d + 1)^3, written out element by element."""
    m, d = x.shape

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2 * xy / (m * m)


def test_single_full_subset_matches_double_loop():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(12, 5))
    fake = rng.normal(size=(12, 5)) + 0.4
    # subset_size = N: every subset is a permutation of the full sets, the estimate is order-independent
    value = kid(torch.from_numpy(real), torch.from_numpy(fake), num_subsets=3, subset_size=12)
    assert value == pytest.approx(double_loop_mmd2(fake, real), rel=1e-10)


def test_subsets_match_double_loop_on_the_same_draws():
    rng = np.random.default_rng(1)
    real = torch.from_numpy(rng.normal(size=(30, 4)))
    fake = torch.from_numpy(rng.normal(size=(25, 4)) * 1.2)
    estimates = kid_subset_estimates(real, fake, num_subsets=4, subset_size=8, seed=7)
    generator = torch.Generator().manual_seed(7)  # replay the documented draw order: fake then real
    for index in range(4):
        x = fake[torch.randperm(25, generator=generator)[:8]].numpy()
        y = real[torch.randperm(30, generator=generator)[:8]].numpy()
        assert float(estimates[index]) == pytest.approx(double_loop_mmd2(x, y), rel=1e-10)
    assert kid(real, fake, num_subsets=4, subset_size=8, seed=7) == pytest.approx(
        float(estimates.mean()), rel=1e-12
    )


def test_same_distribution_is_near_zero_and_shift_is_positive():
    generator = torch.Generator().manual_seed(2)
    a, b = torch.randn(500, 16, generator=generator), torch.randn(500, 16, generator=generator)
    assert abs(kid(a, b, num_subsets=20, subset_size=200)) < 0.01
    assert kid(a, b + 1.0, num_subsets=20, subset_size=200) > 0.1


def test_streaming_object_equals_functional():
    generator = torch.Generator().manual_seed(3)
    real, fake = torch.randn(90, 6, generator=generator), torch.randn(70, 6, generator=generator) + 0.3
    metric = KernelDistance(num_subsets=10, subset_size=20, seed=5)
    for start in range(0, 90, 32):
        metric.update(real=real[start : start + 32])
    metric.update(fake=fake)
    expected = kid_subset_estimates(real, fake, 10, 20, seed=5)
    assert metric.compute() == pytest.approx(float(expected.mean()), rel=1e-6)
    assert metric.compute_std() == pytest.approx(float(expected.std(unbiased=False)), rel=1e-5)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one dimension"):
        kid(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="at least 2 samples"):
        kid(torch.randn(1, 3), torch.randn(10, 3))
    with pytest.raises(ValueError, match="NaN"):
        kid(torch.full((5, 3), float("nan")), torch.randn(10, 3))
