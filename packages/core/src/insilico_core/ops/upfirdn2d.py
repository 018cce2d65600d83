"""Upsample, FIR-filter, downsample (``upfirdn2d``) with the StyleGAN2-ADA / StyleGAN3 calling convention.

Per plane of ``x`` ``[N, C, H, W]`` and per axis: insert ``up - 1`` zeros after every sample (length
``H * up``), pad with zeros (negative padding crops), convolve with the filter (a true convolution;
``flip_filter=True`` makes it a cross-correlation), keep every ``down``-th sample starting at the first.
Output size per axis::

    out = (in * up + pad0 + pad1 - filter_size) // down + 1

The filter is 2-D ``[fh, fw]``, or 1-D ``[k]`` meaning the separable filter ``outer(f, f)`` applied as a
horizontal then a vertical pass; ``gain`` multiplies the output (a 1-D filter: ``sqrt(gain)`` per pass).

The reference path does exactly the above with PyTorch ops. The compiled paths are polyphase: each output
sample sums only the taps that meet non-zero (inserted) samples, a ``1/up`` share per axis. Their backward is
the same op (the adjoint of upfirdn2d is upfirdn2d with the filter flipped, ``up`` and ``down`` swapped and
the padding of :meth:`_Config.adjoint`), so derivatives of every order exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from insilico_core.ops._dispatch import resolve_impl

Scaling = int | Sequence[int]
Padding = int | Sequence[int]


def setup_filter(
    f,
    device: torch.device | str = "cpu",
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1,
    separable: bool | None = None,
) -> torch.Tensor:
    """A float32 FIR filter tensor for the upfirdn2d family, from a list, array or tensor of taps.

    A scalar is ``[1]``. A 1-D filter stays 1-D (separable) when ``separable`` is True, or when it is None
    and the filter has >= 8 taps; otherwise it becomes the 2-D outer product ``f ⊗ f``. ``normalize`` divides
    by the sum; ``flip_filter`` flips every axis; ``gain`` multiplies the (2-D equivalent) filter, i.e. the
    taps are multiplied by ``gain ** (ndim / 2)``. None means ``[1]`` (no filtering).
    """
    if f is None:
        f = 1
    f = torch.as_tensor(f, dtype=torch.float32)
    if f.ndim not in (0, 1, 2) or f.numel() == 0:
        raise ValueError(
            f"setup_filter: expected a non-empty scalar, 1-D or 2-D filter, got shape {tuple(f.shape)}"
        )
    if f.ndim == 0:
        f = f[None]
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if f.ndim != (1 if separable else 2):
        raise ValueError(
            f"setup_filter: separable={separable} needs a 1-D filter, got shape {tuple(f.shape)}"
        )
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


def parse_scaling(value: Scaling, name: str = "up") -> tuple[int, int]:
    """``s`` or ``[sx, sy]`` -> ``(sx, sy)``, each an int >= 1."""
    if isinstance(value, int):
        value = [value, value]
    value = list(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value) or min(value) < 1:
        raise ValueError(f"{name} must be an int >= 1 or a pair [x, y] of them, got {value}")
    return value[0], value[1]


def parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    """``p``, ``[px, py]`` or ``[px0, px1, py0, py1]`` -> ``(px0, px1, py0, py1)`` (ints; negative crops)."""
    if isinstance(padding, int):
        padding = [padding, padding]
    padding = list(padding)
    if len(padding) == 2:
        padding = [padding[0], padding[0], padding[1], padding[1]]
    if len(padding) != 4 or not all(isinstance(p, int) for p in padding):
        raise ValueError(f"padding must be an int, [px, py] or [px0, px1, py0, py1] of ints, got {padding}")
    return padding[0], padding[1], padding[2], padding[3]


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """(width, height) of a filter (a 1-D filter is square; None is 1x1)."""
    if f is None:
        return 1, 1
    return f.shape[-1], f.shape[0]


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: Scaling = 1,
    down: Scaling = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1,
    impl: str | None = None,
) -> torch.Tensor:
    """Upsample by zero insertion, pad, FIR-filter and downsample each plane of ``x``.

    Args:
        x: ``[N, C, H, W]`` floating-point tensor.
        f: 2-D ``[fh, fw]`` or 1-D separable ``[k]`` float filter (see :func:`setup_filter`), or None
            for ``[[1]]``; it must not require grad.
        up: upsampling factor, int or ``[x, y]``.
        down: downsampling factor, int or ``[x, y]``.
        padding: int, ``[px, py]`` or ``[px0, px1, py0, py1]``, applied after upsampling; negative crops.
        flip_filter: False: true convolution (StyleGAN convention); True: cross-correlation.
        gain: output scale.
        impl: ``"ref"``, ``"cpu"``, ``"cuda"`` or None for the fastest backend available for ``x``.

    Returns:
        ``[N, C, (H * upy + py0 + py1 - fh) // downy + 1, (W * upx + px0 + px1 - fw) // downx + 1]``.
    """
    config = _validate(x, f, up, down, padding, flip_filter, gain)
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    kernels = resolve_impl(impl, x)
    if kernels is None:
        return _upfirdn2d_ref(x, f, config)
    return _Upfirdn2d.apply(x, f, config, kernels)


@dataclass(frozen=True)
class _Config:
    """The scalar arguments of one upfirdn2d call, parsed."""

    upx: int
    upy: int
    downx: int
    downy: int
    padx0: int
    padx1: int
    pady0: int
    pady1: int
    flip_filter: bool
    gain: float

    def adjoint(self, in_w: int, in_h: int, out_w: int, out_h: int, fw: int, fh: int) -> _Config:
        """The config whose op is the adjoint (transpose) of this one for the given input and output sizes.

        Per axis the adjoint maps the output grid back onto the input grid with the flipped filter: up and
        down swap, and the padding puts output sample ``o`` at upsampled position ``o * down - pad0`` again.
        """
        return _Config(
            upx=self.downx,
            upy=self.downy,
            downx=self.upx,
            downy=self.upy,
            padx0=fw - self.padx0 - 1,
            padx1=in_w * self.upx - out_w * self.downx + self.padx0 - self.upx + 1,
            pady0=fh - self.pady0 - 1,
            pady1=in_h * self.upy - out_h * self.downy + self.pady0 - self.upy + 1,
            flip_filter=not self.flip_filter,
            gain=self.gain,
        )


def _validate(x, f, up, down, padding, flip_filter, gain) -> _Config:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(
            f"upfirdn2d: x must be a floating-point [N, C, H, W] tensor, got shape "
            f"{tuple(getattr(x, 'shape', ()))}"
        )
    if f is not None:
        if not isinstance(f, torch.Tensor) or f.ndim not in (1, 2) or not f.is_floating_point():
            raise ValueError(
                f"upfirdn2d: f must be a 1-D (separable) or 2-D float filter tensor, got shape "
                f"{tuple(getattr(f, 'shape', ()))}"
            )
        if f.numel() == 0:
            raise ValueError("upfirdn2d: f must not be empty")
        if f.requires_grad:
            raise ValueError("upfirdn2d: f must not require grad (filters are constants; detach it)")
    upx, upy = parse_scaling(up, "up")
    downx, downy = parse_scaling(down, "down")
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    width, height = x.shape[3] * upx + padx0 + padx1, x.shape[2] * upy + pady0 + pady1
    if width < fw or height < fh:
        raise ValueError(
            f"upfirdn2d: the upsampled and padded input ({height}x{width}) is smaller than the "
            f"filter ({fh}x{fw}); expected at least the filter size"
        )
    return _Config(upx, upy, downx, downy, padx0, padx1, pady0, pady1, bool(flip_filter), float(gain))


def _upfirdn2d_ref(x: torch.Tensor, f: torch.Tensor, c: _Config) -> torch.Tensor:
    """The reference: zero insertion, pad/crop, depthwise conv2d, strided slice (PyTorch ops, autograd).

    Half-precision inputs are filtered in float32 and rounded once at the end (as the compiled kernels do), so
    the filter taps and the intermediate of a separable filter are not rounded to 8 or 11 mantissa bits.
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        return _upfirdn2d_ref(x.float(), f, c).to(x.dtype)
    n, ch, h, w = x.shape
    x = x.reshape(n, ch, h, 1, w, 1)
    x = F.pad(x, [0, c.upx - 1, 0, 0, 0, c.upy - 1])
    x = x.reshape(n, ch, h * c.upy, w * c.upx)
    x = F.pad(x, [max(c.padx0, 0), max(c.padx1, 0), max(c.pady0, 0), max(c.pady1, 0)])
    x = x[
        :,
        :,
        max(-c.pady0, 0) : x.shape[2] - max(-c.pady1, 0),
        max(-c.padx0, 0) : x.shape[3] - max(-c.padx1, 0),
    ]
    f = f.to(device=x.device, dtype=x.dtype) * (c.gain ** (f.ndim / 2))
    if not c.flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f[None, None].repeat([ch, 1] + [1] * f.ndim)
    if f.ndim == 4:
        x = F.conv2d(x, f, groups=ch)
    else:
        x = F.conv2d(x, f.unsqueeze(2), groups=ch)
        x = F.conv2d(x, f.unsqueeze(3), groups=ch)
    return x[:, :, :: c.downy, :: c.downx]


def _run_kernel(kernels, x: torch.Tensor, f: torch.Tensor, c: _Config) -> torch.Tensor:
    return kernels.upfirdn2d(
        x, f, c.upx, c.upy, c.downx, c.downy, c.padx0, c.padx1, c.pady0, c.pady1, c.flip_filter, c.gain
    )


class _Upfirdn2d(torch.autograd.Function):
    """upfirdn2d by a compiled kernel; linear in x, so its backward is the adjoint op (this Function)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, f: torch.Tensor, config: _Config, kernels) -> torch.Tensor:
        f = f.to(
            device=x.device, dtype=torch.float64 if x.dtype == torch.float64 else torch.float32
        ).contiguous()
        y = _run_kernel(kernels, x, f, config)
        ctx.save_for_backward(f)
        ctx.config, ctx.kernels, ctx.in_shape = config, kernels, x.shape
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        (f,) = ctx.saved_tensors
        _, _, in_h, in_w = ctx.in_shape
        fw, fh = filter_size(f)
        adjoint = ctx.config.adjoint(in_w, in_h, dy.shape[3], dy.shape[2], fw, fh)
        dx = _Upfirdn2d.apply(dy, f, adjoint, ctx.kernels) if ctx.needs_input_grad[0] else None
        return dx, None, None, None


def upsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: Scaling = 2,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1,
    impl: str | None = None,
) -> torch.Tensor:
    """Upsample ``x`` by ``up`` with the interpolation filter ``f``: output ``[N, C, H * upy, W * upx]``.

    The padding is centred for the filter, and the gain is multiplied by ``upx * upy`` so that a normalised
    filter keeps the mean (the inserted zeros would otherwise dilute it). ``padding`` is extra padding on top.
    """
    upx, upy = parse_scaling(up, "up")
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [
        padx0 + (fw + upx - 1) // 2,
        padx1 + (fw - upx) // 2,
        pady0 + (fh + upy - 1) // 2,
        pady1 + (fh - upy) // 2,
    ]
    return upfirdn2d(
        x, f, up=[upx, upy], padding=p, flip_filter=flip_filter, gain=gain * upx * upy, impl=impl
    )


def downsample2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    down: Scaling = 2,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1,
    impl: str | None = None,
) -> torch.Tensor:
    """Filter ``x`` with the anti-aliasing filter ``f`` and downsample by ``down``.

    Output ``[N, C, H // downy, W // downx]`` for sizes divisible by ``down`` (the padding is centred for the
    filter; ``padding`` is extra).
    """
    downx, downy = parse_scaling(down, "down")
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [
        padx0 + (fw - downx + 1) // 2,
        padx1 + (fw - downx) // 2,
        pady0 + (fh - downy + 1) // 2,
        pady1 + (fh - downy) // 2,
    ]
    return upfirdn2d(x, f, down=[downx, downy], padding=p, flip_filter=flip_filter, gain=gain, impl=impl)


def filter2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1,
    impl: str | None = None,
) -> torch.Tensor:
    """Filter ``x`` with ``f`` keeping its size ("same" padding centred for the filter; ``padding`` extra)."""
    padx0, padx1, pady0, pady1 = parse_padding(padding)
    fw, fh = filter_size(f)
    p = [
        padx0 + fw // 2,
        padx1 + (fw - 1) // 2,
        pady0 + fh // 2,
        pady1 + (fh - 1) // 2,
    ]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)
