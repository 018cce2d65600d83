"""Minibatch standard deviation (PGGAN / StyleGAN discriminators).

Appends, as extra feature maps, the standard deviation of the features across a group of samples,
averaged over channels and pixels. It lets the discriminator see the variety of a batch and so
penalises mode collapse.

Two conventions are parameters:

* stylegan2-ada ``MinibatchStdLayer(group_size=4, num_channels=1)``: groups of ``G = min(group_size, N)``
  samples taken with stride ``N / G`` (sample ``i`` is in group ``i mod (N / G)``), ``sqrt(var + 1e-8)``;
* Multi-StyleGAN ``MinibatchStdDev``: the whole batch is one group (``group_size=None``) and
  ``sqrt(max(var, 1e-8))`` (``eps_mode='clamp'``); a batch of one gives the constant 1e-4.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


def minibatch_stddev(
    x: torch.Tensor,
    group_size: int | None = 4,
    num_channels: int = 1,
    eps: float = 1e-8,
    eps_mode: Literal["add", "clamp"] = "add",
) -> torch.Tensor:
    """Append ``num_channels`` minibatch-stddev feature maps to ``x``.

    Args:
        x: ``[N, C, H, W]`` features; ``N`` must be divisible by the group size and ``C`` by
            ``num_channels``.
        group_size: samples per group (``min(group_size, N)``); None = the whole batch.
        num_channels: the channels are split into this many groups, each giving one statistic map.
        eps: stabiliser of the square root.
        eps_mode: 'add' = ``sqrt(var + eps)`` (stylegan2), 'clamp' = ``sqrt(max(var, eps))``
            (Multi-StyleGAN).

    Returns:
        ``[N, C + num_channels, H, W]``: ``x`` followed by the statistic maps (constant per sample and
        channel group, non-negative).
    """
    if x.ndim != 4:
        raise ValueError(f"minibatch_stddev: x must be [N, C, H, W], got {tuple(x.shape)}")
    if eps_mode not in ("add", "clamp"):
        raise ValueError(f"minibatch_stddev: eps_mode must be 'add' or 'clamp', got {eps_mode!r}")
    n, c, h, w = x.shape
    g = n if group_size is None else min(group_size, n)
    if n % g != 0:
        raise ValueError(f"minibatch_stddev: batch size {n} is not divisible by the group size {g}")
    if c % num_channels != 0:
        raise ValueError(f"minibatch_stddev: {c} channels are not divisible by num_channels={num_channels}")
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)  # [G, n, F, c, H, W]
    y = y - y.mean(dim=0)
    y = y.square().mean(dim=0)  # variance over the group, [n, F, c, H, W]
    y = (y + eps).sqrt() if eps_mode == "add" else y.clamp(min=eps).sqrt()
    y = y.mean(dim=[2, 3, 4])  # [n, F]
    y = y.reshape(-1, num_channels, 1, 1).repeat(g, 1, h, w)  # [N, F, H, W]
    return torch.cat([x, y], dim=1)


class MinibatchStdDev(nn.Module):
    """Module form of :func:`minibatch_stddev` (no parameters, nothing in the state dict)."""

    def __init__(
        self,
        group_size: int | None = 4,
        num_channels: int = 1,
        eps: float = 1e-8,
        eps_mode: Literal["add", "clamp"] = "add",
    ) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels
        self.eps = eps
        self.eps_mode = eps_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` -> ``[N, C + num_channels, H, W]``."""
        return minibatch_stddev(x, self.group_size, self.num_channels, self.eps, self.eps_mode)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}, eps_mode={self.eps_mode}"
