"""SSIM and PSNR against scikit-image on the same inputs."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import PairedImageMetric, psnr, ssim
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def noisy_pair(seed, shape=(3, 2, 40, 33), scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=shape) * scale
    y = np.clip(x + rng.normal(scale=0.1 * scale, size=shape), 0, scale)
    return x, y


def skimage_ssim(x, y, data_range):
    return structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=0,
    )


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_ssim_matches_scikit_image(data_range):
    x, y = noisy_pair(0, scale=data_range)
    ours = ssim(torch.from_numpy(x), torch.from_numpy(y), data_range=data_range, reduction="none")
    expected = [skimage_ssim(x[i], y[i], data_range) for i in range(x.shape[0])]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-7)
    assert float(ssim(torch.from_numpy(x), torch.from_numpy(y), data_range=data_range)) == pytest.approx(
        np.mean(expected), rel=1e-5
    )


def test_ssim_of_identical_images_is_one_and_symmetric():
    x, y = noisy_pair(1, shape=(2, 1, 16, 16))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    assert float(ssim(xt, xt, 1.0)) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim(xt, yt, 1.0)) == pytest.approx(float(ssim(yt, xt, 1.0)), rel=1e-12)


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_matches_scikit_image(data_range):
    x, y = noisy_pair(2, scale=data_range)
    ours = psnr(torch.from_numpy(x), torch.from_numpy(y), data_range=data_range, reduction="none")
    expected = [peak_signal_noise_ratio(x[i], y[i], data_range=data_range) for i in range(x.shape[0])]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5)
    pooled = psnr(torch.from_numpy(x), torch.from_numpy(y), data_range=data_range, reduction="pooled")
    assert float(pooled) == pytest.approx(peak_signal_noise_ratio(x, y, data_range=data_range), rel=1e-5)


def test_streaming_paired_metric_equals_functional():
    x, y = noisy_pair(3, shape=(7, 1, 20, 20))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    metric = PairedImageMetric(lambda a, b: ssim(a, b, data_range=1.0, reduction="none"))
    metric.update(xt[:4], yt[:4])
    metric.update(xt[4:], yt[4:])
    assert metric.compute() == pytest.approx(float(ssim(xt, yt, 1.0)), rel=1e-12)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one shape"):
        ssim(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 17), 1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        psnr(torch.full((1, 1, 4, 4), float("nan")), torch.rand(1, 1, 4, 4), 1.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4), 0.0)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        psnr(torch.rand(4, 4), torch.rand(4, 4), 1.0)
