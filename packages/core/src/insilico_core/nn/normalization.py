"""Pixel-wise feature normalisation (PGGAN "pixel norm", StyleGAN's ``normalize_2nd_moment``)."""

from __future__ import annotations

import torch
from torch import nn


def normalize_2nd_moment(
    x: torch.Tensor, dim: int = 1, eps: float = 1e-8, divide: bool = False
) -> torch.Tensor:
    """``x / sqrt(mean(x**2, dim) + eps)``: unit second moment along ``dim`` (any shape, any real range).

    StyleGAN's mapping network normalises ``z`` and the label embedding with it (``dim=1`` of ``[N, D]``);
    PGGAN, neuron-gan and Multi-StyleGAN normalise feature vectors per pixel (``dim=1`` of ``[N, C, H, W]``).

    Args:
        x: tensor to normalise.
        dim: the dimension whose mean square becomes 1.
        eps: added to the mean square (keeps all-zero vectors finite).
        divide: how the root is applied, which only changes the last bit of a float: False multiplies by
            ``rsqrt`` (stylegan2-ada's ``normalize_2nd_moment``), True divides by ``sqrt`` (PGGAN's and
            Multi-StyleGAN's ``PixelNorm``). A port that must reproduce its original bit for bit picks the
            original's form.
    """
    mean_square = x.square().mean(dim=dim, keepdim=True) + eps
    if divide:
        return x / mean_square.sqrt()
    return x * mean_square.rsqrt()


class PixelNorm(nn.Module):
    """Module form of :func:`normalize_2nd_moment` (no parameters, nothing in the state dict)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8, divide: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps
        self.divide = divide

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, C, ...]`` -> same shape, unit mean square over ``dim``."""
        return normalize_2nd_moment(x, self.dim, self.eps, self.divide)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}, divide={self.divide}"
