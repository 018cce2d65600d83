"""The progressive networks' resampling steps, computed the fast way on CPU with the same values.

* :func:`bilinear_resample` — bilinear resampling with ``align_corners=False`` (the original's
  ``Interpolate``): for a small NCHW-contiguous tensor on the CPU it is done as two small matrix products,
  one per axis, with PyTorch's own interpolation weights (``F.interpolate`` applied to an identity matrix),
  because PyTorch's CPU kernel converts NCHW tensors to channels-last and back on every call and its
  backward is slower still (3x at 16-32 px, forward and backward). The dense matrices cost ``size``
  multiply-adds per output, so from 64 px inputs on, and for other layouts and devices, ``F.interpolate``
  runs. Same linear map either way; the sums are rounded in a different order (one float32 ulp).
* :func:`average_pool_2x2` — 2x2 average pooling (the discriminator's ``AvgPool2d(2)``, which also equals
  bilinear resampling by 0.5) as four strided adds: bit-identical to ``F.avg_pool2d(x, 2)``, about twice as
  fast forward and backward, and differentiable to any order (the gradient penalty differentiates the
  critic twice).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

MATRIX_MAX_SIZE = 32  # largest input side resampled by matrix products (measured crossover: 32-64 px)


@functools.lru_cache(maxsize=64)
def interpolation_matrix(
    size: int, scale_factor: float, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``[out, size]`` matrix of 1-D linear interpolation (``align_corners=False``) from ``size`` samples,
    ``out = floor(size * scale_factor)``; row ``k`` holds the weights of the inputs in output ``k``."""
    identity = torch.eye(size, dtype=torch.float32).unsqueeze(0)
    weights = F.interpolate(identity, scale_factor=scale_factor, mode="linear", align_corners=False)[0]
    return weights.t().to(dtype=dtype, device=device).contiguous()


def bilinear_resample(x: torch.Tensor, scale_factor: float) -> torch.Tensor:
    """``x [N, C, H, W]`` -> ``[N, C, floor(H s), floor(W s)]``, bilinear with ``align_corners=False``."""
    height, width = x.shape[-2:]
    if x.device.type != "cpu" or not x.is_contiguous() or max(height, width) > MATRIX_MAX_SIZE:
        return F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=False)
    rows = interpolation_matrix(height, scale_factor, x.dtype, x.device)
    columns = interpolation_matrix(width, scale_factor, x.dtype, x.device)
    return rows @ (x @ columns.t())


def _pool(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    v = x.view(n, c, h // 2, 2, w // 2, 2)
    return (v[:, :, :, 0, :, 0] + v[:, :, :, 0, :, 1] + v[:, :, :, 1, :, 0] + v[:, :, :, 1, :, 1]) * 0.25


def _spread(g: torch.Tensor) -> torch.Tensor:
    n, c, h, w = g.shape
    return (g * 0.25)[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


class _AveragePool2x2(torch.autograd.Function):
    """2x2 mean; its gradient is :class:`_Spread2x2` (the adjoint), whose gradient is this again."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return _pool(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _Spread2x2.apply(grad)


class _Spread2x2(torch.autograd.Function):
    """Each value / 4 copied to its 2x2 block: the adjoint of :class:`_AveragePool2x2`."""

    @staticmethod
    def forward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _spread(grad)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _AveragePool2x2.apply(grad)


def average_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``x [N, C, H, W]`` (H, W even) -> ``[N, C, H/2, W/2]``, the mean of each 2x2 block."""
    if x.ndim != 4 or x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"average_pool_2x2 expects [N, C, H, W] with even H and W, got {tuple(x.shape)}")
    return _AveragePool2x2.apply(x)


class Resample(nn.Module):
    """Bilinear resampling by ``scale_factor`` (``align_corners=False``), the original's ``Interpolate``;
    ``scale_factor=0.5`` (exactly 2x2 average pooling) and the blocks' ``AvgPool2d(2)`` use
    :func:`average_pool_2x2`, other factors :func:`bilinear_resample`."""

    def __init__(self, scale_factor: float) -> None:
        super().__init__()
        self.scale_factor = float(scale_factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` -> ``[N, C, H * s, W * s]``."""
        if self.scale_factor == 0.5:
            return average_pool_2x2(x)
        return bilinear_resample(x, self.scale_factor)

    def extra_repr(self) -> str:
        kind = "2x2 average" if self.scale_factor == 0.5 else "bilinear"
        return f"scale_factor={self.scale_factor:g}, {kind}"
