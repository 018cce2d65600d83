"""Filtered leaky ReLU (StyleGAN3): bias, FIR upsample, leaky ReLU + clamp, FIR downsample.

StyleGAN3's alias-free layers run their non-linearity at a temporarily higher sampling rate: per channel of
``x [N, C, H, W]``

1. add the bias ``b[C]``;
2. upsample by ``up`` (zero insertion), pad by ``padding`` (relative to the upsampled image; negative crops),
   convolve with the up filter ``fu`` times ``up**2`` (keeps the signal mean);
3. multiply by ``gain``, apply a leaky ReLU with negative ``slope``, clamp to ``[-clamp, clamp]``;
4. convolve with the down filter ``fd`` and keep every ``down``-th sample.

Output size per axis: ``(in * up + pad0 + pad1 - (fu_taps - 1) - (fd_taps - 1) + (down - 1)) // down``.

Backends (NVlabs stylegan3's semantics, including ``flip_filter``):

* ``ref``: the composition of :func:`~insilico_core.ops.bias_act` and :func:`~insilico_core.ops.upfirdn2d`
  on their reference paths (``_filtered_lrelu_ref`` of NVlabs); any device and dtype; autograd.
* ``cpu`` / ``cuda``: one fused kernel (csrc/filtered_lrelu_cpu.cpp, csrc/filtered_lrelu.cu). The CPU kernel
  makes the upsampled intermediate image one row at a time and never stores it; only one sign byte per
  intermediate sample is kept for the backward pass (bit 0: the slope applied, bit 1: clamped), as NVlabs'
  ``si``. The backward pass is the same kernel run on the transposed geometry (filters and up/down swapped,
  the filters flipped) with the sign bytes as the activation's derivative; that pass is linear, so it is
  differentiable again and second derivatives work (the sign mask is piecewise constant in ``x``; NVlabs'
  CUDA op has no double backward).
* ``None``: the fused kernel where it was measured faster than the composition (:data:`FUSED_AUTO_BACKENDS`),
  else the composition on the inner ops' best backends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from insilico_core.ops._dispatch import resolve_impl
from insilico_core.ops.bias_act import bias_act
from insilico_core.ops.upfirdn2d import filter_size, parse_padding, upfirdn2d

# compiled backends whose fused kernel impl=None uses (tools/bench/ops.py: the CPU kernel is faster than the
# composition of the compiled bias_act and upfirdn2d; the CUDA kernel, written without a GPU at hand to
# measure it, is used only when asked for by name)
FUSED_AUTO_BACKENDS = frozenset({"cpu"})


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
        x: ``[N, C, H, W]`` floating-point activations (any strides, e.g. channels-last).
        fu: up filter, float ``[taps]`` (separable), ``[fh, fw]`` or None (identity); not requiring grad.
        fd: down filter, same forms as ``fu``.
        b: bias ``[C]`` of the dtype of ``x``, or None.
        up, down: integer resampling factors (>= 1).
        padding: int, ``[px, py]`` or ``[px0, px1, py0, py1]`` relative to the upsampled image.
        gain: multiplier before the activation (sqrt 2 for hidden layers, 1 for ToRGB).
        slope: negative slope of the leaky ReLU (0.2; 1 makes it linear, as StyleGAN3's ToRGB layer).
        clamp: clamp magnitude after the activation, None = off.
        flip_filter: False = convolution (StyleGAN convention), True = correlation.
        impl: ``'ref'`` (PyTorch composition), ``'cpu'`` / ``'cuda'`` (the fused kernel) or None (see the
            module docstring).

    Returns:
        ``[N, C, H_out, W_out]`` (contiguous) in the dtype of ``x`` (sizes from the module docstring).
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
    for name, f in (("fu", fu), ("fd", fd)):
        if f is not None and (not isinstance(f, torch.Tensor) or f.ndim not in (1, 2) or f.numel() == 0):
            raise ValueError(
                f"filtered_lrelu: {name} must be None or a non-empty 1-D or 2-D filter tensor, got "
                f"{getattr(f, 'shape', f)}"
            )
    px0, px1, py0, py1 = parse_padding(padding)
    fu_w, fu_h = filter_size(fu)
    fd_w, fd_h = filter_size(fd)
    mid_w = x.shape[3] * up + px0 + px1 - (fu_w - 1)
    mid_h = x.shape[2] * up + py0 + py1 - (fu_h - 1)
    out_w = (mid_w - (fd_w - 1) + (down - 1)) // down
    out_h = (mid_h - (fd_h - 1) + (down - 1)) // down
    if out_w < 1 or out_h < 1:
        raise ValueError(
            f"filtered_lrelu: input {tuple(x.shape[2:])} with up={up}, down={down}, padding={padding} and "
            f"filters of {fu_w}/{fd_w} taps gives an empty output"
        )

    kernels = resolve_impl(impl, x, auto_backends=FUSED_AUTO_BACKENDS)
    if kernels is None:
        inner_impl = "ref" if impl == "ref" else None
        return composed_filtered_lrelu(
            x, fu, fd, b, up, down, [px0, px1, py0, py1], gain, slope, clamp, flip_filter, inner_impl
        )

    if b is not None and b.dtype != x.dtype:
        raise ValueError(f"filtered_lrelu: b must have the dtype of x ({x.dtype}), got {b.dtype}")
    if any(f is not None and f.requires_grad for f in (fu, fd)):
        raise ValueError(
            "filtered_lrelu: fu and fd must not require grad (filters are constants; detach them)"
        )
    geometry = _Geometry(
        up=up,
        down=down,
        up_pad_x0=px0,
        up_pad_y0=py0,
        down_pad_x0=0,
        down_pad_y0=0,
        in_w=x.shape[3],
        in_h=x.shape[2],
        mid_w=mid_w,
        mid_h=mid_h,
        out_w=out_w,
        out_h=out_h,
        flip_filter=bool(flip_filter),
        filter_gain=float(up**2),
        gain=float(gain),
        slope=float(slope),
        clamp=float(clamp) if clamp is not None else -1.0,
    )
    filter_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    fu, fd = (
        (f if f is not None else torch.ones([1])).to(device=x.device, dtype=filter_dtype).contiguous()
        for f in (fu, fd)
    )
    return _FilteredLRelu.apply(x, b, fu, fd, geometry, kernels)


def composed_filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    b: torch.Tensor | None,
    up: int,
    down: int,
    padding: Sequence[int],
    gain: float,
    slope: float,
    clamp: float | None,
    flip_filter: bool,
    impl: str | None,
) -> torch.Tensor:
    """filtered_lrelu as four calls of bias_act and upfirdn2d on backend ``impl`` (NVlabs'
    ``_filtered_lrelu_ref``; arguments already checked by :func:`filtered_lrelu`, ``padding`` 4 ints)."""
    x = bias_act(x, b, impl=impl)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2, flip_filter=flip_filter, impl=impl)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp, impl=impl)
    return upfirdn2d(x, fd, down=down, flip_filter=flip_filter, impl=impl)


@dataclass(frozen=True)
class _Geometry:
    """The sizes and scalars of one pass of the fused kernel (``FilteredLReluArgs`` in csrc/op_args.h).

    The up stage maps the input ``[in_h, in_w]`` onto the intermediate grid ``[mid_h, mid_w]`` (upsample by
    ``up``, ``up_pad_*0`` zeros before, the up filter), the down stage maps that grid onto the output
    ``[out_h, out_w]`` (``down_pad_*0`` zeros before, the down filter, every ``down``-th sample). The forward
    pass has no down-stage padding; its transpose has.
    """

    up: int
    down: int
    up_pad_x0: int
    up_pad_y0: int
    down_pad_x0: int
    down_pad_y0: int
    in_w: int
    in_h: int
    mid_w: int
    mid_h: int
    out_w: int
    out_h: int
    flip_filter: bool
    filter_gain: float
    gain: float
    slope: float
    clamp: float  # < 0: no clamp

    def transposed(self, fu: torch.Tensor, fd: torch.Tensor) -> _Geometry:
        """The geometry of the transposed linear map, whose up filter is ``fd`` and down filter ``fu``.

        Each stage's transpose is a stage of the other kind on the same intermediate grid: the down stage
        (down ``d``, padding ``p`` before, ``k`` taps) becomes an up stage (up ``d``, ``k - 1 - p`` before)
        and vice versa; the filters are read the other way round (``flip_filter`` toggles).
        """
        fu_w, fu_h = filter_size(fu)
        fd_w, fd_h = filter_size(fd)
        return _Geometry(
            up=self.down,
            down=self.up,
            up_pad_x0=fd_w - 1 - self.down_pad_x0,
            up_pad_y0=fd_h - 1 - self.down_pad_y0,
            down_pad_x0=fu_w - 1 - self.up_pad_x0,
            down_pad_y0=fu_h - 1 - self.up_pad_y0,
            in_w=self.out_w,
            in_h=self.out_h,
            mid_w=self.mid_w,
            mid_h=self.mid_h,
            out_w=self.in_w,
            out_h=self.in_h,
            flip_filter=not self.flip_filter,
            filter_gain=self.filter_gain,
            gain=self.gain,
            slope=self.slope,
            clamp=self.clamp,
        )


# kernel modes (FilteredLReluArgs::mode)
_FORWARD, _FORWARD_WITH_SIGNS, _MASKED_LINEAR = 0, 1, 2


def _run_kernel(kernels, x, fu, fd, b, signs, mode: int, g: _Geometry) -> tuple[torch.Tensor, torch.Tensor]:
    empty = torch.empty(0, device=x.device)
    return kernels.filtered_lrelu(
        x,
        fu,
        fd,
        b if b is not None else empty.to(x.dtype),
        signs if signs is not None else empty.to(torch.uint8),
        mode,
        g.up,
        g.down,
        g.up_pad_x0,
        g.up_pad_y0,
        g.down_pad_x0,
        g.down_pad_y0,
        g.mid_w,
        g.mid_h,
        g.out_w,
        g.out_h,
        g.flip_filter,
        g.filter_gain,
        g.gain,
        g.slope,
        g.clamp,
    )


class _FilteredLRelu(torch.autograd.Function):
    """The fused forward pass; keeps the sign bytes when x or b needs a gradient."""

    @staticmethod
    def forward(ctx, x, b, fu, fd, geometry: _Geometry, kernels):
        mode = _FORWARD_WITH_SIGNS if ctx.needs_input_grad[0] or ctx.needs_input_grad[1] else _FORWARD
        y, signs = _run_kernel(kernels, x, fu, fd, b, None, mode, geometry)
        ctx.save_for_backward(fu, fd, signs)
        ctx.geometry, ctx.kernels = geometry, kernels
        ctx.mark_non_differentiable(signs)
        return y

    @staticmethod
    def backward(ctx, dy):
        fu, fd, signs = ctx.saved_tensors
        dx = _MaskedLinear.apply(dy, signs, fd, fu, ctx.geometry.transposed(fu, fd), ctx.kernels)
        db = dx.sum([0, 2, 3]) if ctx.needs_input_grad[1] else None
        return (dx if ctx.needs_input_grad[0] else None), db, None, None, None, None


class _MaskedLinear(torch.autograd.Function):
    """``down_stage(mask(up_stage(x)))`` with the activation's derivative read from the sign bytes: linear in
    ``x``; its backward is the same op on the transposed geometry (so derivatives of every order exist)."""

    @staticmethod
    def forward(ctx, x, signs, fu, fd, geometry: _Geometry, kernels):
        y, _ = _run_kernel(kernels, x, fu, fd, None, signs, _MASKED_LINEAR, geometry)
        ctx.save_for_backward(signs, fu, fd)
        ctx.geometry, ctx.kernels = geometry, kernels
        return y

    @staticmethod
    def backward(ctx, dy):
        signs, fu, fd = ctx.saved_tensors
        dx = _MaskedLinear.apply(dy, signs, fd, fu, ctx.geometry.transposed(fu, fd), ctx.kernels)
        return dx, None, None, None, None, None
