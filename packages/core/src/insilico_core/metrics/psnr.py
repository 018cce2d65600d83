"""Peak signal-to-noise ratio: 10 log10(L² / MSE) with L the width of the pixel scale (``data_range``)."""

from __future__ import annotations

from typing import Literal

import torch

from .checks import check_data_range, check_image_pair
from .paired import reduce_per_image


def psnr(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    reduction: Literal["mean", "none", "pooled"] = "mean",
) -> torch.Tensor:
    """PSNR in dB of image batches ``[N, C, H, W]`` (float64).

    ``'none'``: per-image values ``[N]`` (each equals ``skimage.metrics.peak_signal_noise_ratio``);
    ``'mean'``: their mean; ``'pooled'``: one value from the MSE over the whole batch (torchmetrics' default,
    which MSSG reports per batch). Identical images give ``inf``.
    """
    check_image_pair(x, y)
    data_range = check_data_range(data_range)
    squared_error = (x.to(torch.float64) - y.to(torch.float64)).square()
    if reduction == "pooled":
        return 10 * torch.log10(data_range**2 / squared_error.mean())
    per_image = 10 * torch.log10(data_range**2 / squared_error.mean(dim=(1, 2, 3)))
    return reduce_per_image(per_image, reduction)
