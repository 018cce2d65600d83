"""Style-modulated convolution (StyleGAN2): modulate the weight per sample, convolve, demodulate.

``modulated_conv2d`` is the math, with stylegan2-ada's semantics (fused grouped-convolution path and the
non-fused "scale activations before and after" path); ``modulate_weight`` is its per-sample weight, for
callers that run their own convolution with it (Multi-StyleGAN's matmul transposed convolution).
:class:`ModulatedConv2d` holds the parameters in either of the two checkpoint layouts in use:

* ``layout="stylegan2"`` (stylegan2-ada / stylegan3 ``SynthesisLayer`` and ``ToRGBLayer``, MSSG):
  ``weight [out, in, k, k]`` used as stored (demodulation removes its scale), buffer ``resample_filter``,
  affine child ``affine`` (an :class:`EqualizedLinear` with ``bias_init=1``). Without demodulation (ToRGB)
  the styles are multiplied by ``1 / sqrt(in * k * k)``.
* ``layout="rosinality"`` (rosinality ``ModulatedConv2d``, Multi-StyleGAN): ``weight [1, out, in, k, k]``
  multiplied by ``gain / sqrt(in * k * k)`` before modulation (Multi-StyleGAN: ``gain = sqrt 2``),
  affine child named ``modulation`` (rosinality) or ``modulation_mapping`` (Multi-StyleGAN) or absent
  (Multi-StyleGAN's GFP twins take precomputed styles), up-sampling kernel in child ``blur.kernel``
  (sum ``up**2``).

Both layouts run the same :func:`modulated_conv2d`; rosinality's "transposed conv, then blur with pad
``((p + 1) // 2 + up - 1, p // 2 + 1)``" is expressed as a ``conv2d_resample`` padding, so the results equal
the originals to float rounding.

stylegan2-ada's ``SynthesisLayer`` (noise_strength, bias, noise_const next to ``weight``) is a subclass in the
paper package that adds those parameters; its state-dict keys then match exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from insilico_core import ops
from insilico_core.nn.conv2d_resample import conv2d_resample
from insilico_core.nn.fir import FIRFilter2d


def modulate_weight(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True) -> torch.Tensor:
    """Per-sample weights ``w'[n, o, i] = weight[o, i] * styles[n, i]``, demodulated to
    ``w'[n, o] / sqrt(sum_{i,kh,kw} w'[n, o]^2 + 1e-8)`` (unit norm per output channel) when ``demodulate``.

    Args:
        weight: ``[out, in, kh, kw]`` (any scale; the caller applies equalized-lr gains).
        styles: ``[N, in]`` modulation coefficients.

    Returns:
        ``[N, out, in, kh, kw]``.
    """
    w = weight.unsqueeze(0) * styles.reshape(styles.shape[0], 1, -1, 1, 1)
    if demodulate:
        w = w * _demodulation(w).reshape(*w.shape[:2], 1, 1, 1)
    return w


def _demodulation(w: torch.Tensor) -> torch.Tensor:
    """``1 / sqrt(sum_{i,kh,kw} w^2 + 1e-8)`` of per-sample weights ``[N, out, in, kh, kw]``: ``[N, out]``."""
    return (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int | Sequence[int] = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,
) -> torch.Tensor:
    """Modulated (and optionally demodulated) 2-D convolution with FIR up/down-sampling.

    ``y[n] = conv2d_resample(x[n], w[n]) + noise`` with ``w = modulate_weight(weight, styles, demodulate)``:
    ``w[n, o, i] = weight[o, i] * styles[n, i]``, with ``demodulate`` divided by
    ``sqrt(sum_{i,kh,kw} w[n, o]^2 + 1e-8)``.

    Args:
        x: ``[N, in, H, W]`` activations, any real range.
        weight: ``[out, in, kh, kw]`` (any scale; the caller applies equalized-lr gains).
        styles: ``[N, in]`` modulation coefficients (around 1 after stylegan2's ``bias_init=1`` affine).
        noise: tensor broadcastable to the output ``[N, out, H', W']`` added after demodulation, or None.
        up, down, padding, resample_filter, flip_weight: as :func:`conv2d_resample`.
        demodulate: normalise each output feature map of the per-sample weight.
        fused_modconv: True = one grouped convolution with per-sample weights (fast for small batches,
            inference); False = scale activations before/after a shared-weight convolution (training).

    Returns:
        ``[N, out, H', W']``.
    """
    batch_size = x.shape[0]
    if weight.ndim != 4:
        raise ValueError(f"modulated_conv2d: weight must be [out, in, kh, kw], got {tuple(weight.shape)}")
    out_channels, in_channels, kh, kw = weight.shape
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"modulated_conv2d: x must be [N, {in_channels}, H, W], got {tuple(x.shape)}")
    if tuple(styles.shape) != (batch_size, in_channels):
        raise ValueError(
            f"modulated_conv2d: styles must be [{batch_size}, {in_channels}], got {tuple(styles.shape)}"
        )

    # fp16: pre-normalise weight and styles so the per-sample weights cannot overflow (stylegan2-ada).
    if x.dtype == torch.float16 and demodulate:
        weight = weight * (
            1 / math.sqrt(in_channels * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        )
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    if not fused_modconv:
        dcoefs = _demodulation(modulate_weight(weight, styles, demodulate=False)) if demodulate else None
        x = x * styles.to(x.dtype).reshape(batch_size, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding,
                            flip_weight=flip_weight)
        if demodulate and noise is not None:
            return torch.addcmul(noise.to(x.dtype), x, dcoefs.to(x.dtype).reshape(batch_size, -1, 1, 1))
        if demodulate:
            return x * dcoefs.to(x.dtype).reshape(batch_size, -1, 1, 1)
        if noise is not None:
            return x + noise.to(x.dtype)
        return x

    w = modulate_weight(weight, styles, demodulate).reshape(-1, in_channels, kh, kw)
    x = x.reshape(1, -1, *x.shape[2:])
    x = conv2d_resample(x, w.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding,
                        groups=batch_size, flip_weight=flip_weight)
    x = x.reshape(batch_size, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def rosinality_up_padding(kernel_size: int, taps: int, up: int = 2) -> list[int]:
    """``conv2d_resample`` padding ``[x0, x1, y0, y1]`` equal to rosinality's transposed conv + blur.

    rosinality upsamples with ``conv_transpose2d(stride=up, padding=0)`` and then blurs with padding
    ``((p + 1) // 2 + up - 1, p // 2 + 1)``, ``p = taps - up - (kernel_size - 1)``; ``conv2d_resample``
    adds ``(taps + up - 1) // 2 - (k - 1)`` before and ``(taps - up) // 2 - (k - up)`` after. The
    difference is the padding to ask for (``[1, 1]`` for k = 3, ``[1, 0]`` for Multi-StyleGAN's k = 2).
    """
    p = taps - up - (kernel_size - 1)
    before = (p + 1) // 2 + up - 1 - ((taps + up - 1) // 2 - (kernel_size - 1))
    after = p // 2 + 1 - ((taps - up) // 2 - (kernel_size - up))
    return [before, after, before, after]


class ModulatedConv2d(nn.Module):
    """Modulated convolution layer in the stylegan2-ada or the rosinality parameter layout (see module doc).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: square kernel size.
        affine: module mapping ``w [N, w_dim]`` to ``styles [N, in_channels]`` (normally
            ``EqualizedLinear(w_dim, in_channels, bias_init=1)``; Multi-StyleGAN adds ``gain=sqrt(2),
            bias_gain=sqrt(2 / in_channels)``); None = the caller passes ``styles`` to ``forward``.
        affine_name: attribute (state-dict) name of ``affine``: 'affine', 'modulation', 'modulation_mapping'.
        demodulate: weight demodulation (False for ToRGB).
        up: upsampling factor (1 or 2 in the papers).
        resample_filter: FIR taps for up-sampling. stylegan2 layout: buffer ``resample_filter`` (registered
            whenever not None, as ``SynthesisLayer`` does; ToRGB passes None). rosinality layout: child
            ``blur`` with ``kernel`` (sum ``up**2``), only when ``up > 1``.
        layout: 'stylegan2' or 'rosinality'.
        gain: He-constant numerator of the weight (rosinality layout always; stylegan2 layout only without
            demodulation, applied to the styles as ToRGB does).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        affine: nn.Module | None = None,
        affine_name: str = "affine",
        demodulate: bool = True,
        up: int = 1,
        resample_filter: Sequence[float] | None = (1, 3, 3, 1),
        layout: Literal["stylegan2", "rosinality"] = "stylegan2",
        gain: float = 1.0,
    ) -> None:
        super().__init__()
        if layout not in ("stylegan2", "rosinality"):
            raise ValueError(f"layout must be 'stylegan2' or 'rosinality', got {layout!r}")
        if up < 1:
            raise ValueError(f"up must be >= 1, got {up}")
        if up > 1 and resample_filter is None:
            raise ValueError("up-sampling needs a resample_filter, e.g. (1, 3, 3, 1)")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.up = up
        self.layout = layout
        self.affine_name = affine_name
        self.weight_gain = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        shape = [out_channels, in_channels, kernel_size, kernel_size]
        if layout == "stylegan2":
            self.weight = nn.Parameter(torch.randn(shape))
            if resample_filter is not None:
                self.register_buffer("resample_filter", ops.setup_filter(list(resample_filter)))
            else:
                self.resample_filter = None
            self.padding: list[int] | int = kernel_size // 2
        else:
            self.weight = nn.Parameter(torch.randn([1, *shape]))
            if up > 1:
                self.blur = FIRFilter2d(resample_filter, gain=up**2)
                self.padding = rosinality_up_padding(kernel_size, len(resample_filter), up)
            else:
                self.blur = None
                self.padding = kernel_size // 2
        if affine is not None:
            self.add_module(affine_name, affine)

    @property
    def affine_module(self) -> nn.Module | None:
        """The style affine (whatever its attribute name), or None."""
        return self._modules.get(self.affine_name)

    def compute_styles(self, w: torch.Tensor) -> torch.Tensor:
        """``w [N, w_dim]`` -> ``styles [N, in_channels]`` through the affine child."""
        affine = self.affine_module
        if affine is None:
            raise ValueError("this ModulatedConv2d has no affine; pass styles= to forward")
        return affine(w)

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor | None = None,
        *,
        styles: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        fused_modconv: bool = True,
    ) -> torch.Tensor:
        """``x [N, in, H, W]`` and ``w [N, w_dim]`` (or ``styles [N, in]`` / ``[N, 1, in, 1, 1]``) ->
        ``[N, out, H * up, W * up]``; ``noise`` (broadcastable to the output) is added after demodulation."""
        if styles is None:
            if w is None:
                raise ValueError("ModulatedConv2d.forward needs w (through the affine) or styles")
            styles = self.compute_styles(w)
        styles = styles.reshape(x.shape[0], self.in_channels)
        if self.layout == "stylegan2":
            weight = self.weight
            if not self.demodulate:
                styles = styles * self.weight_gain
            f = self.resample_filter
        else:
            weight = self.weight[0] * self.weight_gain
            f = self.blur.kernel / (self.up**2) if self.blur is not None else None
        return modulated_conv2d(
            x, weight, styles, noise=noise, up=self.up, padding=self.padding,
            resample_filter=f, demodulate=self.demodulate, flip_weight=(self.up == 1),
            fused_modconv=fused_modconv,
        )

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"kernel_size={self.kernel_size}, up={self.up}, demodulate={self.demodulate}, "
            f"layout={self.layout}"
        )
