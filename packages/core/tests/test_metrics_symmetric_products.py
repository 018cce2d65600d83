"""Block-triangular symmetric products and the float32 chunked covariance path, against plain numpy."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import RunningMoments
from insilico_core.metrics.symmetric_products import congruence, gram


@pytest.mark.parametrize("dims, block", [(1, 4), (7, 4), (8, 4), (37, 8), (64, 256)])
def test_gram_equals_numpy_and_is_symmetric(dims, block):
    x = np.random.default_rng(dims).normal(size=(23, dims))
    out = gram(torch.from_numpy(x), block=block).numpy()
    np.testing.assert_allclose(out, x.T @ x, rtol=1e-12, atol=1e-12)
    assert np.array_equal(out, out.T)


@pytest.mark.parametrize("dims, block", [(1, 4), (9, 4), (16, 4), (45, 8), (30, 256)])
def test_congruence_equals_numpy_and_is_symmetric(dims, block):
    rng = np.random.default_rng(dims)
    a = rng.normal(size=(dims + 5, dims))
    lower = np.linalg.cholesky(a.T @ a)
    b = rng.normal(size=(dims + 3, dims))
    symmetric = b.T @ b
    out = congruence(torch.from_numpy(lower), torch.from_numpy(symmetric), block=block).numpy()
    np.testing.assert_allclose(out, lower.T @ symmetric @ lower, rtol=1e-11, atol=1e-11)
    assert np.array_equal(out, out.T)


def test_float32_features_give_the_float64_covariance_to_float32_precision():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 40)) @ rng.normal(size=(40, 40)) + 50.0  # offset: needs per-chunk centring
    moments = RunningMoments(chunk_rows=1024)
    for start in range(0, 3000, 96):
        moments.update(torch.from_numpy(x[start : start + 96]).float())
    expected = np.cov(x.astype(np.float32).astype(np.float64), rowvar=False)
    covariance = moments.covariance().numpy()
    assert covariance.dtype == np.float64
    assert np.abs(covariance - expected).max() < 1e-5 * np.abs(expected).max()


def test_float32_centring_on_a_rounded_mean_is_corrected_exactly():
    # features near 1e6 (float32 step 1/16): the float32 mean is off by up to 1/32 in each column, which
    # would add rows * d d^T (up to ~1e-3 of the unit variances) without the rank-one correction; the
    # float32 product of 64 rows itself is good to ~1e-6
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(64, 8)) + 1e6).astype(np.float32)
    moments = RunningMoments()
    moments.update(torch.from_numpy(x))
    expected = np.cov(x.astype(np.float64), rowvar=False)
    assert np.abs(moments.covariance().numpy() - expected).max() < 2e-5


def test_buffered_rows_count_and_survive_a_reused_caller_buffer():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6))
    moments = RunningMoments(chunk_rows=1000)
    buffer = torch.empty(10, 6, dtype=torch.float64)
    for start in range(0, 50, 10):
        buffer.copy_(torch.from_numpy(x[start : start + 10]))
        moments.update(buffer)
        assert moments.count == start + 10
    np.testing.assert_allclose(moments.covariance().numpy(), np.cov(x, rowvar=False), rtol=1e-12)
    other = RunningMoments()
    other.update(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="6 features"):
        moments.merge(other)


@pytest.mark.parametrize("chunk_rows", [0, -3])
def test_bad_chunk_rows_raise(chunk_rows):
    with pytest.raises(ValueError, match="chunk_rows"):
        RunningMoments(chunk_rows=chunk_rows)
