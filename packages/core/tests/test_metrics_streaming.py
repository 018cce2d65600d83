"""The chunked running covariance (BLAS syrk, rows shifted by the running mean) against numpy."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import RunningMoments
from insilico_core.metrics.streaming import accumulate_lower_gram, mirror_lower_


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dims", [1, 7, 64])
def test_accumulated_lower_gram_equals_numpy(dims, dtype):
    rng = np.random.default_rng(dims)
    x, y = rng.normal(size=(23, dims)), rng.normal(size=(9, dims))
    out = torch.full((dims, dims), float("nan"), dtype=dtype)  # beta=0 must not read it
    accumulate_lower_gram(torch.from_numpy(x).to(dtype), out, beta=0.0)
    accumulate_lower_gram(torch.from_numpy(y).to(dtype), out, beta=1.0)
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    expected = x.T @ x + y.T @ y
    np.testing.assert_allclose(
        np.tril(out.double().numpy()), np.tril(expected), rtol=tolerance, atol=tolerance
    )
    symmetric = mirror_lower_(out).double().numpy()
    assert np.array_equal(symmetric, symmetric.T)


def test_accumulated_lower_gram_reads_strided_views():
    x = np.random.default_rng(3).normal(size=(20, 12))
    view = torch.from_numpy(x)[::2, 1::2]  # neither row- nor column-contiguous
    out = torch.empty(6, 6, dtype=torch.float64)
    accumulate_lower_gram(view, out, beta=0.0)
    np.testing.assert_allclose(np.tril(out.numpy()), np.tril(x[::2, 1::2].T @ x[::2, 1::2]), rtol=1e-12)


@pytest.mark.parametrize("size, block", [(1, 4), (8, 4), (10, 4), (10, 3), (300, 256)])
def test_mirror_lower_copies_the_lower_triangle_upwards(size, block):
    lower = np.tril(np.random.default_rng(size).normal(size=(size, size)))
    above = np.triu(np.full((size, size), np.nan), 1)  # must be ignored
    matrix = torch.from_numpy(lower + above)
    out = mirror_lower_(matrix, block=block)
    assert out.data_ptr() == matrix.data_ptr()
    np.testing.assert_array_equal(out.numpy(), lower + np.tril(lower, -1).T)


@pytest.mark.parametrize("batch", [7, 100, 250])
def test_batches_across_chunk_boundaries_equal_numpy(batch):
    # slices and folds of 64 rows, with batches smaller than, larger than and several times that
    x = np.random.default_rng(batch).normal(size=(301, 5)) * 2 + 30.0
    moments = RunningMoments(chunk_rows=64)
    for start in range(0, 301, batch):
        moments.update(torch.from_numpy(x[start : start + batch]))
        assert moments.count == min(start + batch, 301)
    np.testing.assert_allclose(moments.mean.numpy(), x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(moments.covariance().numpy(), np.cov(x, rowvar=False), rtol=1e-11, atol=1e-12)


def test_a_batch_of_another_precision_keeps_its_precision():
    # float32 rows accumulate in float32; a float64 batch folds them in first and is then kept in float64
    rng = np.random.default_rng(6)
    low, high = rng.normal(size=(40, 4)).astype(np.float32), rng.normal(size=(30, 4)) * 1e-3 + 0.5
    moments = RunningMoments()
    moments.update(torch.from_numpy(low))
    moments.update(torch.from_numpy(high))
    moments.update(torch.from_numpy(low[:5]).half())
    both = np.concatenate([low.astype(np.float64), high, low[:5].astype(np.float16).astype(np.float64)])
    assert moments.count == 75
    np.testing.assert_allclose(moments.covariance().numpy(), np.cov(both, rowvar=False), rtol=1e-5, atol=1e-9)


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


def test_a_poor_first_shift_still_gives_the_covariance():
    # the first chunk is shifted by its first batch's mean: here one row, 3 standard deviations out, on
    # features near 1e4 (float32 step ~1e-3), where unshifted float32 products would lose every digit
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(500, 6)) + 1e4).astype(np.float32)
    x[0] += 3.0
    moments = RunningMoments()
    moments.update(torch.from_numpy(x[:1]))
    moments.update(torch.from_numpy(x[1:]))
    reference = x.astype(np.float64)
    np.testing.assert_allclose(moments.mean.numpy(), reference.mean(0), rtol=0, atol=1e-6)
    assert np.abs(moments.covariance().numpy() - np.cov(reference, rowvar=False)).max() < 1e-5


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_features_raise(bad, dtype):
    features = torch.ones(4, 3, dtype=dtype)
    features[2, 1] = bad
    with pytest.raises(ValueError, match="features: expected finite values"):
        RunningMoments().update(features)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the torch branches of the helpers")
def test_cuda_statistics_equal_the_cpu_ones():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2100, 37)) + 5.0
    on_cpu, on_gpu = RunningMoments(chunk_rows=1000), RunningMoments(chunk_rows=1000)
    for start in range(0, 2100, 300):
        on_cpu.update(torch.from_numpy(x[start : start + 300]).float())
        on_gpu.update(torch.from_numpy(x[start : start + 300]).float().cuda())
    assert on_gpu.covariance().device.type == "cuda"
    np.testing.assert_allclose(on_gpu.mean.cpu().numpy(), on_cpu.mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        on_gpu.covariance().cpu().numpy(), on_cpu.covariance().numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        on_gpu.covariance().cpu().numpy(), np.cov(x, rowvar=False), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="finite"):
        on_gpu.update(torch.full((2, 37), float("nan"), device="cuda"))
