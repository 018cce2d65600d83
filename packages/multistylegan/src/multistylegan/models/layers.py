"""Building blocks shared by the Multi-StyleGAN generator and discriminator.

Each module holds the original parameter and buffer names (``weight``, ``bias``, ``kernel``,
``modulation_mapping``, ...) so state dicts load strictly, and computes with the original's order of
operations so outputs match the original code to float rounding. The equalized layers are the core's
(``insilico_core.nn``) with this codebase's constants, and so are the noise injection and the resampling
FIR filters (``FIRFilter2d``: ``blur``, ``upsample``); the fused bias + leaky ReLU is the core op
(``insilico_core.ops``), which picks a compiled kernel when one is built. The modulated convolution is
the core's in its rosinality layout (``[1, out, in, k, k]`` weight, ``modulation_mapping`` affine); this
package's subclass adds what is particular to Multi-StyleGAN: returning the style it computed so the twin
module of the other domain can borrow it, and the 2x2 stride-2 transposed convolution + gain-4 blur computed
as a batched matmul and pixel shuffle (the core runs a grouped transposed convolution). The matmul form
needs the kernel to be as wide as the stride (no two taps land on one output pixel), which only this
codebase's 2x2 upsampling kernel is; the 3x3 kernels of the other StyleGAN2 ports gain nothing from it.

Quirks kept on purpose (they are baked into the released weights, spec section 7): equalised weights scale
by sqrt(2)/sqrt(fan_in) and biases by sqrt(2)/sqrt(out); leaky ReLUs have gain 1 (not sqrt 2); the skip
upsampling kernel sums to 1 (a x1/4 gain); the blur after a transposed convolution sums to 4.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from insilico_core.nn import EqualizedConv2d, EqualizedLinear, FIRFilter2d, NoiseInjection, modulate_weight
from insilico_core.nn import ModulatedConv2d as CoreModulatedConv2d
from insilico_core.ops import FusedLeakyReLU
from torch import nn

__all__ = [
    "ConstantInput",
    "FusedLeakyReLU",
    "ModulatedConv2d",
    "NoiseInjection",
    "OutputBlock",
    "StyledConv2d",
    "blur",
    "equalized_conv2d",
    "equalized_linear",
    "leaky_relu_gain_one",
    "upsample",
]

BLUR_TAPS = (1, 3, 3, 1)
SQRT2 = math.sqrt(2)


def leaky_relu_gain_one(channels: int) -> FusedLeakyReLU:
    """Bias + leaky ReLU(0.2) with gain 1, the activation of this whole codebase (param ``bias``)."""
    return FusedLeakyReLU(channels, negative_slope=0.2, scale=1.0)


def equalized_linear(
    in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0
) -> EqualizedLinear:
    """Core equalized linear layer with this codebase's constants: W sqrt(2)/sqrt(in), b sqrt(2)/sqrt(out).

    Params ``weight [out, in]`` ~ N(0, 1) and optional ``bias [out]`` (``bias_init``).
    """
    return EqualizedLinear(
        in_features,
        out_features,
        bias=bias,
        bias_init=bias_init,
        gain=SQRT2,
        bias_gain=SQRT2 / math.sqrt(out_features),
    )


def equalized_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = False,
) -> EqualizedConv2d:
    """Core equalized 2-D convolution with this codebase's constants: ``W sqrt(2)/sqrt(in k k)``,
    ``b sqrt(2)/sqrt(out)``. Params ``weight [out, in, k, k]`` ~ N(0, 1), optional ``bias [out]`` (zeros)."""
    return EqualizedConv2d(
        in_channels,
        out_channels,
        kernel_size,
        bias=bias,
        stride=stride,
        padding=padding,
        gain=SQRT2,
        bias_gain=SQRT2 / math.sqrt(out_channels),
    )


def blur(gain: float = 1.0, padding: tuple[int, int] = (2, 2)) -> FIRFilter2d:
    """Core FIR filter ``outer(1,3,3,1)/64 * gain`` at the same rate (buffer ``kernel [4, 4]``).

    ``padding`` (before, after) on both axes; the generator uses gain 4, pad (2, 1) after its stride-2
    transposed convolutions, the discriminator gain 1, pad (2, 2) after its stride-2 convolutions.
    """
    return FIRFilter2d(BLUR_TAPS, padding=padding, gain=gain)


def upsample() -> FIRFilter2d:
    """Core 2x upsampling FIR: zero insertion then ``outer(1,3,3,1)/64`` (buffer ``kernel``), pad (2, 1).

    The kernel sums to 1, not 4 as in StyleGAN2, so the output has 1/4 of the input's mean (kept: the
    released weights were trained with it). ``[B, C, H, W]`` -> ``[B, C, 2H, 2W]``.
    """
    return FIRFilter2d(BLUR_TAPS, up=2, padding=(2, 1), gain=1.0)


class ModulatedConv2d(CoreModulatedConv2d):
    """StyleGAN2 weight-modulated convolution, one weight set per module: the core ``ModulatedConv2d`` in
    its rosinality layout (gain sqrt 2, affine child ``modulation_mapping``) plus Multi-StyleGAN's style
    hand-over and its fast upsampling path.

    Params: ``weight [1, out, in, k, k]`` ~ N(0, 1); with ``modulation_mapping`` an ``EqualizedLinear
    (style_dimension -> in)`` whose bias starts at 1. Forward ``(x [B, in, H, W], style)``: ``style`` is
    a w vector ``[B, style_dimension]`` when the module owns a mapping (it then also returns the style
    ``s [B, 1, in, 1, 1]`` it computed), else it is such an ``s`` borrowed from the twin module of the
    other domain. ``W_b = sqrt(2)/sqrt(in k k) * weight * s_b``, demodulated to unit norm per output
    channel when ``demodulate`` (epsilon 1e-8). ``upsampling``: a 2x2 stride-2 transposed convolution
    then ``blur(gain=4, padding=(2, 1))`` -> ``[B, out, 2H, 2W]``, computed here with the core's
    ``modulate_weight`` as a batched matmul and a pixel shuffle (the core runs a grouped transposed
    convolution, slower on CPU and not bit-identical); otherwise the core's grouped convolution with same
    padding.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dimension: int,
        demodulate: bool = True,
        upsampling: bool = False,
        modulation_mapping: bool = True,
    ) -> None:
        if upsampling and kernel_size != 2:
            raise ValueError(f"the upsampling modulated convolution has a 2x2 kernel, got {kernel_size}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            affine_name="modulation_mapping",
            demodulate=demodulate,
            up=2 if upsampling else 1,
            resample_filter=BLUR_TAPS,
            layout="rosinality",
            gain=SQRT2,
        )
        self.upsampling = upsampling
        # created after the weight, as in the original, so seeded initialisations draw in the same order
        self.modulation_mapping = (
            equalized_linear(style_dimension, in_channels, bias_init=1.0) if modulation_mapping else None
        )

    def forward(
        self, x: torch.Tensor, style: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        batch, channels, _, _ = x.shape
        if channels != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {channels}")
        if self.modulation_mapping is not None:
            modulation = self.modulation_mapping(style).view(batch, 1, self.in_channels, 1, 1)
        else:
            modulation = style
        if self.upsampling:
            styles = modulation.reshape(batch, self.in_channels)
            weight = modulate_weight(self.weight[0] * self.weight_gain, styles, self.demodulate)
            out = self.blur(_transposed_conv_2x2_stride_2(x, weight))
        else:
            out = super().forward(x, styles=modulation)
        if self.modulation_mapping is not None:
            return out, modulation
        return out


def _transposed_conv_2x2_stride_2(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-sample transposed convolution, kernel 2, stride 2, no padding: ``x [B, in, H, W]`` with
    ``weight [B, out, in, 2, 2]`` -> ``[B, out, 2H, 2W]``.

    Every output pixel ``(2i + di, 2j + dj)`` receives exactly one input pixel ``(i, j)``, so this is a
    batched matrix product ``[B, out*4, in] @ [B, in, H*W]`` followed by a pixel shuffle: the same sums as
    ``conv_transpose2d(groups=B)``, about twice as fast on CPU.
    """
    batch, channels, height, width = x.shape
    out_channels = weight.shape[1]
    # rows ordered (o, di, dj), the channel order pixel_shuffle expects
    matrix = weight.permute(0, 1, 3, 4, 2).reshape(batch, out_channels * 4, channels)
    out = torch.bmm(matrix, x.reshape(batch, channels, height * width))
    return F.pixel_shuffle(out.view(batch, out_channels * 4, height, width), 2)


def _convolve_with_style(
    convolution: ModulatedConv2d, x: torch.Tensor, style: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(convolution(x, style), s)``: s is the style the convolution computed from the w vector ``style``
    when it owns a modulation mapping, else the borrowed s ``style`` itself."""
    if convolution.modulation_mapping is not None:
        return convolution(x, style)
    return convolution(x, style), style


class StyledConv2d(nn.Module):
    """ModulatedConv2d (demodulated) -> NoiseInjection -> bias + leaky ReLU (gain 1).

    Children ``modulated_convolution``, ``noise_injection``, ``activation``. Returns ``(out, s)`` when the
    convolution owns a modulation mapping, else ``out``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dimension: int,
        upsampling: bool = False,
        modulation_mapping: bool = True,
    ) -> None:
        super().__init__()
        self.modulation_mapping = modulation_mapping
        self.modulated_convolution = ModulatedConv2d(
            in_channels,
            out_channels,
            kernel_size,
            style_dimension,
            demodulate=True,
            upsampling=upsampling,
            modulation_mapping=modulation_mapping,
        )
        self.noise_injection = NoiseInjection()
        self.activation = leaky_relu_gain_one(out_channels)

    def forward(
        self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out, style = _convolve_with_style(self.modulated_convolution, x, style)
        out = self.activation(self.noise_injection(out, noise=noise))
        return (out, style) if self.modulation_mapping else out


class OutputBlock(nn.Module):
    """ "toRGB" head: a 1x1 modulated convolution (no demodulation) to the 3 time steps of one domain.

    ``y = conv(x, s) + bias (+ upsample(skip))``. Param ``bias [1, 1, 1, 1]`` is ONE scalar shared by the
    three time steps. ``upsampling`` is an ``upsample()`` filter (buffer ``upsampling.kernel``) or, in
    the 4x4 starting blocks, an identity without keys.
    """

    def __init__(
        self,
        in_channels: int,
        style_dimension: int,
        out_channels: int = 3,
        upsampling: bool = False,
        modulation_mapping: bool = True,
    ) -> None:
        super().__init__()
        self.modulation_mapping = modulation_mapping
        self.bias = nn.Parameter(torch.zeros(1, 1, 1, 1))
        self.upsampling = upsample() if upsampling else nn.Identity()
        self.modulated_convolution = ModulatedConv2d(
            in_channels,
            out_channels,
            1,
            style_dimension,
            demodulate=False,
            upsampling=False,
            modulation_mapping=modulation_mapping,
        )

    def forward(
        self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out, style = _convolve_with_style(self.modulated_convolution, x, style)
        out = out + self.bias
        if skip is not None:
            out = out + self.upsampling(skip)
        return (out, style) if self.modulation_mapping else out


class ConstantInput(nn.Module):
    """Learned constant ``input [1, C, 4, 4]`` (ones), repeated over the batch of the given latents."""

    def __init__(self, channels: int, size: tuple[int, int] = (4, 4)) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.ones(1, channels, size[0], size[1]))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.input.repeat_interleave(latent.shape[0], dim=0)
