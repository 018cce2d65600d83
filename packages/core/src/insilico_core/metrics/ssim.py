"""Structural similarity (SSIM) with a Gaussian window, as scikit-image and torchmetrics compute it.

Per channel, local statistics are Gaussian-weighted averages (window ``win_size`` = 11, sigma 1.5):
μx, μy, σx² = E[x²] − μx², σy², σxy (population moments, i.e. scikit-image ``use_sample_covariance=False``),

    SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),  C1 = (K1 L)², C2 = (K2 L)²,

with L = ``data_range``. The map is averaged over the pixels whose whole window lies inside the image (the
border of ``win_size // 2`` pixels is cropped, as both references do) and over channels: the per-image value
equals ``skimage.metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=L, channel_axis=0)``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from .checks import check_data_range, check_image_pair
from .paired import reduce_per_image


def gaussian_window(win_size: int, sigma: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised 1-D Gaussian weights ``[win_size]`` centred on the middle tap."""
    if win_size < 1 or win_size % 2 == 0:
        raise ValueError(f"win_size: expected an odd positive window size, got {win_size}")
    offsets = torch.arange(win_size, dtype=dtype) - (win_size - 1) / 2
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    return weights / weights.sum()


def _local_mean(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian average of every channel of ``x`` ``[N, C, H, W]``."""
    channels = x.shape[1]
    vertical = window.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    horizontal = window.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    return F.conv2d(F.conv2d(x, vertical, groups=channels), horizontal, groups=channels)


def ssim_map(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Local SSIM ``[N, C, H - win_size + 1, W - win_size + 1]`` (float64) of batches ``[N, C, H, W]``."""
    check_image_pair(x, y, min_size=win_size)
    data_range = check_data_range(data_range)
    x, y = x.to(torch.float64), y.to(torch.float64)
    window = gaussian_window(win_size, sigma).to(x.device)
    mu_x, mu_y = _local_mean(x, window), _local_mean(y, window)
    var_x = _local_mean(x * x, window) - mu_x**2
    var_y = _local_mean(y * y, window) - mu_y**2
    cov_xy = _local_mean(x * y, window) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    return ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: Literal["mean", "none"] = "mean",
) -> torch.Tensor:
    """Mean SSIM of image batches ``[N, C, H, W]`` on a pixel scale of width ``data_range`` (e.g. 1.0 or 255).

    ``reduction='none'`` returns the per-image values ``[N]``, ``'mean'`` their mean (float64 scalar).
    """
    per_image = ssim_map(x, y, data_range, win_size, sigma, k1, k2).mean(dim=(1, 2, 3))
    return reduce_per_image(per_image, reduction)
