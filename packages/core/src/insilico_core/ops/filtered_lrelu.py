"""Filtered leaky ReLU (StyleGAN3): bias, FIR upsample, leaky ReLU + clamp, FIR downsample.

StyleGAN3's alias-free layers run their non-linearity at a temporarily higher sampling rate: per channel of
``x [N, C, H, W]``

1. add the bias ``b[C]``;
2. upsample by ``up`` (zero insertion), pad by ``padding`` (relative to the upsampled image; negative crops),
   convolve with the up filter ``fu`` times ``up**2`` (keeps the signal mean);
3. multiply by ``gain``, apply a leaky ReLU with negative ``slope``, clamp to ``[-clamp, clamp]``;
4. convolve with the down filter ``fd`` and keep every ``down``-th sample.

Output size per axis: ``(in * up + pad0 + pad1 - (fu_taps - 1) - (fd_taps - 1) + (down - 1)) // down``.

This is the reference composition of :func:`~insilico_core.ops.bias_act` and
:func:`~insilico_core.ops.upfirdn2d` (NVlabs stylegan3's ``_filtered_lrelu_ref`` semantics, including
``flip_filter``). It runs on any device and dtype, and autograd gives derivatives of every order; the
bias_act / upfirdn2d calls inside use their compiled backends when available.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from insilico_core.ops.bias_act import bias_act
from insilico_core.ops.upfirdn2d import filter_size, parse_padding, upfirdn2d


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int | Sequence[int] = 0,
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
    flip_filter: bool = False,
    impl: str | None = None,
) -> torch.Tensor:
    """Bias + upsample + leaky ReLU + clamp + downsample, as StyleGAN3's ``filtered_lrelu``.

    Args:
        x: ``[N, C, H, W]`` floating-point activations.
        fu: up filter, float32 ``[taps]`` (separable), ``[fh, fw]`` or None (identity).
        fd: down filter, same forms as ``fu``.
        b: bias ``[C]`` of the dtype of ``x``, or None.
        up, down: integer resampling factors (>= 1).
        padding: int, ``[px, py]`` or ``[px0, px1, py0, py1]`` relative to the upsampled image.
        gain: multiplier before the activation (sqrt 2 for hidden layers, 1 for ToRGB).
        slope: negative slope of the leaky ReLU (0.2; 1 makes it linear, as StyleGAN3's ToRGB layer).
        clamp: clamp magnitude after the activation, None = off.
        flip_filter: False = convolution (StyleGAN convention), True = correlation.
        impl: backend of the inner ops (``'ref'``, ``'cpu'``, ``'cuda'`` or None = best available).

    Returns:
        ``[N, C, H_out, W_out]`` in the dtype of ``x`` (sizes from the module docstring).
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(
            f"filtered_lrelu: x must be a 4-D floating-point tensor, got {getattr(x, 'shape', x)}"
        )
    if not (isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1):
        raise ValueError(f"filtered_lrelu: up and down must be ints >= 1, got up={up!r}, down={down!r}")
    if not gain > 0:
        raise ValueError(f"filtered_lrelu: gain must be > 0, got {gain}")
    if not slope >= 0:
        raise ValueError(f"filtered_lrelu: slope must be >= 0, got {slope}")
    if clamp is not None and clamp < 0:
        raise ValueError(f"filtered_lrelu: clamp must be None or >= 0, got {clamp}")
    if b is not None and (b.ndim != 1 or b.shape[0] != x.shape[1]):
        raise ValueError(f"filtered_lrelu: b must be [{x.shape[1]}], got {tuple(b.shape)}")
    px0, px1, py0, py1 = parse_padding(padding)
    fu_w, fu_h = filter_size(fu)
    fd_w, fd_h = filter_size(fd)
    out_w = (x.shape[3] * up + px0 + px1 - (fu_w - 1) - (fd_w - 1) + (down - 1)) // down
    out_h = (x.shape[2] * up + py0 + py1 - (fu_h - 1) - (fd_h - 1) + (down - 1)) // down
    if out_w < 1 or out_h < 1:
        raise ValueError(
            f"filtered_lrelu: input {tuple(x.shape[2:])} with up={up}, down={down}, padding={padding} and "
            f"filters of {fu_w}/{fd_w} taps gives an empty output"
        )

    x = bias_act(x, b, impl=impl)
    x = upfirdn2d(x, fu, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter, impl=impl)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp, impl=impl)
    return upfirdn2d(x, fd, down=down, flip_filter=flip_filter, impl=impl)
