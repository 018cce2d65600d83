"""The rosinality/stylegan2-pytorch op conventions (used by Multi-StyleGAN and its weights), mapped onto
:func:`bias_act` and :func:`upfirdn2d`.

- ``fused_leaky_relu(x, bias, negative_slope, scale)`` = ``scale * leaky_relu(x + bias, negative_slope)`` with
  ``bias`` along dim 1 (any input rank >= 2): :func:`bias_act` with ``act="lrelu"``.
- ``upfirdn2d_rosinality(x, kernel, up, down, pad=(p0, p1))``: the same ``up``/``down`` on both axes and the
  padding ``(p0, p1)`` on both axes; the kernel is applied as a true convolution with no gain: NVlabs
  :func:`upfirdn2d` with ``padding=[p0, p1, p0, p1]``, ``flip_filter=False``, ``gain=1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from insilico_core.ops.bias_act import bias_act
from insilico_core.ops.upfirdn2d import upfirdn2d


def fused_leaky_relu(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    negative_slope: float = 0.2,
    scale: float = 2**0.5,
    impl: str | None = None,
) -> torch.Tensor:
    """``scale * leaky_relu(x + bias, negative_slope)``, ``bias`` ``[C]`` on dim 1 of ``x`` ``[N, C, ...]``.

    ``bias=None`` skips the bias. At ``x + bias = 0`` the slope is ``negative_slope`` (as in F.leaky_relu).
    """
    if x.ndim < 2:
        raise ValueError(f"fused_leaky_relu: x must have rank >= 2 ([N, C, ...]), got shape {tuple(x.shape)}")
    return bias_act(x, bias, dim=1, act="lrelu", alpha=negative_slope, gain=scale, impl=impl)


class FusedLeakyReLU(nn.Module):
    """Learned per-channel bias followed by a scaled leaky ReLU (rosinality ``FusedLeakyReLU``).

    Parameter ``bias`` ``[channels]`` (initialised to zeros), absent when ``bias=False``.
    """

    def __init__(
        self, channels: int, negative_slope: float = 0.2, scale: float = 2**0.5, *, bias: bool = True
    ) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)

    def extra_repr(self) -> str:
        channels = self.bias.shape[0] if self.bias is not None else "no bias"
        return f"{channels}, negative_slope={self.negative_slope}, scale={self.scale}"


def upfirdn2d_rosinality(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: int = 1,
    down: int = 1,
    pad: Sequence[int] = (0, 0),
    impl: str | None = None,
) -> torch.Tensor:
    """Zero-insert by ``up``, pad ``(p0, p1)`` on both axes, convolve with ``kernel`` ``[kh, kw]``, keep every
    ``down``-th sample. Output ``(H * up + p0 + p1 - kh) // down + 1`` per axis."""
    if len(pad) != 2:
        raise ValueError(f"upfirdn2d_rosinality: pad must be a pair (p0, p1), got {pad}")
    if not isinstance(kernel, torch.Tensor) or kernel.ndim != 2:
        raise ValueError(
            f"upfirdn2d_rosinality: kernel must be a 2-D tensor, got shape "
            f"{tuple(getattr(kernel, 'shape', ()))}"
        )
    p0, p1 = int(pad[0]), int(pad[1])
    return upfirdn2d(
        x, kernel, up=up, down=down, padding=[p0, p1, p0, p1], flip_filter=False, gain=1, impl=impl
    )
