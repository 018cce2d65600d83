"""2-D convolution with FIR up/down-sampling, as stylegan2-ada's ``conv2d_resample`` defines it.

One padding is applied at the start (relative to the upsampled image); the convolution and the FIR filter
(``insilico_core.ops.upfirdn2d``) are then ordered so that the expensive part runs at the lower resolution:

* up > 1: transposed strided convolution, then the FIR filter (gain ``up**2``), then optional down;
* down > 1 only: FIR filter, then strided convolution;
* 1x1 kernels: resample on the cheaper side of the convolution;
* no resampling: plain ``conv2d`` when the padding is symmetric.

All paths compute the same function: zero-insert by ``up``, pad, FIR filter, convolve, FIR filter, keep
every ``down``-th sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from insilico_core import ops
from insilico_core.ops.upfirdn2d import filter_size, parse_padding


def _conv(
    x: torch.Tensor,
    w: torch.Tensor,
    stride: int = 1,
    padding: int | Sequence[int] = 0,
    groups: int = 1,
    transpose: bool = False,
    flip_weight: bool = True,
) -> torch.Tensor:
    """``conv2d`` (correlation) or ``conv_transpose2d``; ``flip_weight=False`` turns it into convolution."""
    if not flip_weight and (w.shape[2] > 1 or w.shape[3] > 1):
        w = w.flip([2, 3])
    if transpose:
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, groups=groups)
    return F.conv2d(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int | Sequence[int] = 0,
    groups: int = 1,
    flip_weight: bool = True,
    flip_filter: bool = False,
) -> torch.Tensor:
    """2-D convolution with optional FIR up/down-sampling.

    Args:
        x: ``[N, C_in, H, W]``, any real range.
        w: ``[C_out, C_in // groups, kh, kw]``, dtype of ``x``.
        f: FIR filter prepared by ``ops.setup_filter`` (float32, 1-D separable or 2-D, normally sum 1);
            None = identity (zero-insertion / plain subsampling).
        up, down: integer resampling factors (>= 1).
        padding: int, ``[x, y]`` or ``[x0, x1, y0, y1]``, relative to the upsampled image.
        groups: grouped convolution (the fused modulated convolution uses one group per sample).
        flip_weight: True = correlation (like ``F.conv2d``), False = true convolution.
        flip_filter: True = correlate with ``f``, False = convolve.

    Returns:
        ``[N, C_out, H', W']``; with ``padding = k // 2`` and an even-length filter,
        ``H' = H * up // down``.
    """
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d_resample: x and w must be 4-D, got {tuple(x.shape)} and {tuple(w.shape)}")
    if w.dtype != x.dtype:
        raise ValueError(f"conv2d_resample: w must have the dtype of x ({x.dtype}), got {w.dtype}")
    if f is not None and (f.ndim not in (1, 2) or f.dtype != torch.float32):
        raise ValueError("conv2d_resample: f must be a float32 1-D or 2-D filter from setup_filter")
    if not (isinstance(up, int) and up >= 1 and isinstance(down, int) and down >= 1):
        raise ValueError(f"conv2d_resample: up and down must be ints >= 1, got up={up!r}, down={down!r}")
    if not (isinstance(groups, int) and groups >= 1):
        raise ValueError(f"conv2d_resample: groups must be an int >= 1, got {groups!r}")
    out_channels, in_channels_per_group, kh, kw = (int(s) for s in w.shape)
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = parse_padding(padding)

    # Padding that centres the FIR filter on the up/down-sampled grid.
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2

    # 1x1 kernel, down only: downsample first, then the (cheap) convolution.
    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = ops.upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv(x, w, groups=groups, flip_weight=flip_weight)

    # 1x1 kernel, up only: convolve first, then upsample.
    if kw == 1 and kh == 1 and up > 1 and down == 1:
        x = _conv(x, w, groups=groups, flip_weight=flip_weight)
        return ops.upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up**2, flip_filter=flip_filter)

    # Down only: FIR filter, then strided convolution.
    if down > 1 and up == 1:
        x = ops.upfirdn2d(x, f, padding=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv(x, w, stride=down, groups=groups, flip_weight=flip_weight)

    # Up (and maybe down): transposed strided convolution, then FIR filter.
    if up > 1:
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_channels // groups, in_channels_per_group, kh, kw)
            w = w.transpose(1, 2)
            w = w.reshape(groups * in_channels_per_group, out_channels // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = _conv(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True,
                  flip_weight=not flip_weight)
        x = ops.upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up**2,
                          flip_filter=flip_filter)
        if down > 1:
            x = ops.upfirdn2d(x, f, down=down, flip_filter=flip_filter)
        return x

    # No resampling, symmetric non-negative padding: the convolution pads by itself.
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return _conv(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)

    # General case (asymmetric or negative padding without resampling).
    x = ops.upfirdn2d(x, None, padding=[px0, px1, py0, py1], flip_filter=flip_filter)
    return _conv(x, w, groups=groups, flip_weight=flip_weight)
