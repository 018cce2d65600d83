"""Non-local (self-attention) block over image positions (SAGAN / BigGAN; Multi-StyleGAN's U-Net D).

Every position attends to a max-pooled grid of keys and values:
``beta = softmax_j(theta(x)_i . phi(x)_j)``, ``y_i = o(sum_j beta_ij g(x)_j)``,
``out = (gamma * y + residual(x)) / output_divisor`` with a learned scalar ``gamma`` that starts at 0, so
the block starts as (a scaled) identity and learns how much attention to use.

Keys as Multi-StyleGAN's ``NonLocalBlock``: ``gamma []``, ``theta.weight``, ``phi.weight``, ``g.weight``,
``o.weight`` (1x1 equalized convolutions without bias) and ``residual_mapping.weight`` when the width changes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from insilico_core.nn.equalized import EqualizedConv2d


class SelfAttention2d(nn.Module):
    """Non-local block with pooled keys/values.

    Args:
        in_channels: input width.
        out_channels: output width (None = ``in_channels``); a 1x1 ``residual_mapping`` is added when the
            widths differ.
        key_divisor: query/key width is ``out_channels // key_divisor`` (8).
        value_divisor: value width is ``out_channels // value_divisor`` (2).
        pool: max-pool factor of keys and values (2; 1 = full attention). H and W must be divisible by it.
        conv_gain: He-constant numerator of the 1x1 equalized convolutions (Multi-StyleGAN: sqrt 2).
        output_divisor: ``gamma * y + residual(x)`` is divided by it (Multi-StyleGAN: sqrt 2; SAGAN: 1). A
            division, not a multiplication by the reciprocal, as Multi-StyleGAN computes it (the two
            differ in the last bit).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        key_divisor: int = 8,
        value_divisor: int = 2,
        pool: int = 2,
        conv_gain: float = math.sqrt(2),
        output_divisor: float = math.sqrt(2),
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        key_channels = out_channels // key_divisor
        value_channels = out_channels // value_divisor
        if key_channels < 1 or value_channels < 1:
            raise ValueError(
                f"out_channels={out_channels} is too small for key_divisor={key_divisor} and "
                f"value_divisor={value_divisor}"
            )
        if pool < 1:
            raise ValueError(f"pool must be >= 1, got {pool}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.pool = pool
        self.output_divisor = output_divisor
        self.gamma = nn.Parameter(torch.tensor(0.0))
        self.theta = EqualizedConv2d(in_channels, key_channels, 1, bias=False, gain=conv_gain)
        self.phi = EqualizedConv2d(in_channels, key_channels, 1, bias=False, gain=conv_gain)
        self.g = EqualizedConv2d(in_channels, value_channels, 1, bias=False, gain=conv_gain)
        self.o = EqualizedConv2d(value_channels, out_channels, 1, bias=False, gain=conv_gain)
        if in_channels != out_channels:
            self.residual_mapping = EqualizedConv2d(in_channels, out_channels, 1, bias=False, gain=conv_gain)
        else:
            self.residual_mapping = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, in_channels, H, W]`` -> ``[N, out_channels, H, W]``."""
        n, _, h, w = x.shape
        if h % self.pool or w % self.pool:
            raise ValueError(f"SelfAttention2d: H and W ({h}, {w}) must be divisible by pool={self.pool}")
        query = self.theta(x).flatten(start_dim=2)  # [N, Ck, HW]
        key = self.phi(x)
        value = self.g(x)
        if self.pool > 1:
            key = F.max_pool2d(key, self.pool)
            value = F.max_pool2d(value, self.pool)
        key = key.flatten(start_dim=2)  # [N, Ck, HW / pool^2]
        value = value.flatten(start_dim=2)  # [N, Cv, HW / pool^2]
        beta = F.softmax(torch.bmm(query.transpose(1, 2), key), dim=-1)  # [N, HW, HW / pool^2]
        attended = self.o(torch.bmm(value, beta.transpose(1, 2)).reshape(n, -1, h, w))
        y = self.gamma * attended + self.residual_mapping(x)
        return y / self.output_divisor if self.output_divisor != 1 else y

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, pool={self.pool}"
