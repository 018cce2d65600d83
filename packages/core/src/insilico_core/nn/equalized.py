"""Equalized-learning-rate layers (Karras et al., PGGAN / StyleGAN).

The parameters are stored at unit scale and multiplied at run time by the He constant
``gain * lr_multiplier / sqrt(fan_in)``, so that every layer learns at the same speed under Adam and a
learning-rate multiplier slows a sub-network down (StyleGAN's mapping network uses 0.01).

The papers differ only in constants, which are constructor parameters here:

==================  ==========================  ==================  ==============================
paper / codebase    weight gain numerator       bias gain           activation after the layer
==================  ==========================  ==================  ==============================
stylegan2-ada/3     1                           lr_multiplier       bias_act, default gain (sqrt 2)
rosinality          1                           lr_multiplier       fused_lrelu, scale sqrt 2
Multi-StyleGAN      sqrt 2                      sqrt(2 / out)       separate FusedLeakyReLU(scale 1)
neuron-gan          calculate_gain(lrelu, 0.2)  1                   separate LeakyReLU
==================  ==========================  ==================  ==============================

Parameter names are ``weight`` and ``bias`` as in all four originals; a conv layer that resamples keeps
its FIR filter in the buffer ``resample_filter`` (stylegan2-ada's ``Conv2dLayer``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from insilico_core import ops
from insilico_core.nn.conv2d_resample import conv2d_resample
from insilico_core.ops import ACTIVATIONS
from insilico_core.ops.upfirdn2d import parse_padding


def equalized_lr_gain(fan_in: int, gain: float = 1.0, lr_multiplier: float = 1.0) -> float:
    """Run-time weight multiplier of an equalized layer: ``gain * lr_multiplier / sqrt(fan_in)``.

    ``fan_in`` is ``in_features`` for a linear layer and ``in_channels * kh * kw`` for a convolution.
    With the stored weight initialised as ``N(0, 1) / lr_multiplier`` the effective weight starts with
    He's standard deviation ``gain / sqrt(fan_in)``, while its gradient (and hence its Adam step) is scaled
    by ``lr_multiplier``.
    """
    if fan_in <= 0:
        raise ValueError(f"fan_in must be positive, got {fan_in}")
    return gain * lr_multiplier / math.sqrt(fan_in)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalized learning rate, optional fused bias + activation.

    Matches stylegan2-ada ``FullyConnectedLayer``, rosinality ``EqualLinear``, Multi-StyleGAN
    ``EqualizedLinear`` and neuron-gan ``Linear_normalized`` (parameters ``weight [out, in]``,
    ``bias [out]``).

    Args:
        in_features: input width.
        out_features: output width.
        bias: learn an additive bias.
        bias_init: initial value of the stored bias (stylegan2 affine layers use 1).
        lr_multiplier: learning-rate multiplier (scales weight and, by default, bias at run time).
        activation: ``bias_act`` activation name ('linear', 'lrelu', 'relu', ...).
        activation_gain: gain after the activation; None = the activation's default (sqrt 2 for lrelu).
            Multi-StyleGAN's scale-1 leaky ReLU is ``activation='lrelu', activation_gain=1.0``.
        gain: numerator of the He constant (1, sqrt 2 for Multi-StyleGAN, 1.3868 for neuron-gan).
        bias_gain: run-time bias multiplier; None = ``lr_multiplier``.
        init_std: standard deviation of the stored weight at initialisation; None = ``1 / lr_multiplier``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: str = "linear",
        activation_gain: float | None = None,
        gain: float = 1.0,
        bias_gain: float | None = None,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        default_gain = ACTIVATIONS[activation].default_gain
        self.activation_gain = default_gain if activation_gain is None else activation_gain
        std = 1.0 / lr_multiplier if init_std is None else init_std
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) * std)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = equalized_lr_gain(in_features, gain, lr_multiplier)
        self.bias_gain = lr_multiplier if bias_gain is None else bias_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [..., in_features]`` (any real range) -> ``[..., out_features]``."""
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None
        if self.bias is not None:
            b = self.bias.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and self.activation_gain == 1:
            return F.linear(x, w, b)
        x = F.linear(x, w)
        b = None if b is None else b.to(x.dtype)  # under autocast the product may be bf16 / fp16
        return ops.bias_act(x, b, dim=x.ndim - 1, act=self.activation, gain=self.activation_gain)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, activation={self.activation}"
        )


class EqualizedConv2d(nn.Module):
    """2-D convolution with equalized learning rate, optional FIR up/down-sampling, fused bias + activation.

    Matches stylegan2-ada ``Conv2dLayer`` (``weight [out, in, k, k]``, ``bias [out]``, buffer
    ``resample_filter``), Multi-StyleGAN ``EqualizedConv2d`` (``gain=sqrt(2)``,
    ``bias_gain=sqrt(2/out)``, ``resample_filter=None``, strided) and neuron-gan ``Conv2d_normalized``
    (``gain=calculate_gain('leaky_relu', 0.2)``, ``bias_gain=1``).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: int or (kh, kw).
        bias, bias_init, lr_multiplier, gain, bias_gain, init_std, activation, activation_gain:
            as in :class:`EqualizedLinear`.
        up, down: integer resampling factors, done as stylegan2-ada's ``conv2d_resample`` with
            ``resample_filter`` (transposed conv + FIR for up, FIR + strided conv for down).
        stride: plain strided convolution (only with ``up == down == 1``; Multi-StyleGAN's stride-2 convs).
        padding: int or stylegan2's ``[x0, x1, y0, y1]`` (relative to the upsampled image);
            None = ``k // 2`` on each side.
        resample_filter: 1-D taps of the FIR filter, registered as buffer ``resample_filter`` after
            ``setup_filter`` (normalised to sum 1); None = no buffer (needs ``up == down == 1``).
        conv_clamp: clamp the output to ``+-conv_clamp`` (times the forward ``output_gain``); None = off.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        bias: bool = True,
        bias_init: float = 0.0,
        activation: str = "linear",
        activation_gain: float | None = None,
        up: int = 1,
        down: int = 1,
        stride: int = 1,
        padding: int | Sequence[int] | None = None,
        resample_filter: Sequence[float] | None = None,
        conv_clamp: float | None = None,
        lr_multiplier: float = 1.0,
        gain: float = 1.0,
        bias_gain: float | None = None,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        kh, kw = _pair(kernel_size, "kernel_size")
        if up < 1 or down < 1 or stride < 1:
            raise ValueError(f"up, down and stride must be >= 1, got up={up}, down={down}, stride={stride}")
        if (up != 1 or down != 1) and resample_filter is None:
            raise ValueError("up/down resampling needs a resample_filter, e.g. [1, 3, 3, 1]")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (kh, kw)
        self.activation = activation
        self.up = up
        self.down = down
        self.stride = stride
        self.padding = parse_padding([kw // 2, kw // 2, kh // 2, kh // 2] if padding is None else padding)
        x0, x1, y0, y1 = self.padding
        self._plain_conv = up == 1 and down == 1 and x0 == x1 and y0 == y1 and x0 >= 0 and y0 >= 0
        if stride != 1 and not self._plain_conv:
            raise ValueError("stride != 1 needs up == down == 1 and symmetric padding; use down= to resample")
        self.conv_clamp = conv_clamp
        std = 1.0 / lr_multiplier if init_std is None else init_std
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kh, kw]) * std)
        self.bias = nn.Parameter(torch.full([out_channels], float(bias_init))) if bias else None
        if resample_filter is not None:
            self.register_buffer("resample_filter", ops.setup_filter(list(resample_filter)))
        else:
            self.resample_filter = None
        self.weight_gain = equalized_lr_gain(in_channels * kh * kw, gain, lr_multiplier)
        self.bias_gain = lr_multiplier if bias_gain is None else bias_gain
        default_gain = ACTIVATIONS[activation].default_gain
        self.activation_gain = default_gain if activation_gain is None else activation_gain

    def forward(self, x: torch.Tensor, output_gain: float = 1.0) -> torch.Tensor:
        """``x [N, in_channels, H, W]`` (any real range) -> ``[N, out_channels, H', W']``.

        ``output_gain`` multiplies the activation gain and the clamp (stylegan2-ada's ``gain`` argument,
        sqrt(0.5) in its residual discriminator blocks).
        """
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None
        if self.bias is not None:
            b = self.bias.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        act_gain = self.activation_gain * output_gain
        clamp = self.conv_clamp * output_gain if self.conv_clamp is not None else None
        if self._plain_conv:
            x0, _, y0, _ = self.padding
            if self.activation == "linear" and act_gain == 1 and clamp is None:
                return F.conv2d(x, w, b, stride=self.stride, padding=(y0, x0))  # bias fused into the conv
            x = F.conv2d(x, w, stride=self.stride, padding=(y0, x0))
        else:
            x = conv2d_resample(
                x, w, f=self.resample_filter, up=self.up, down=self.down, padding=self.padding,
                flip_weight=(self.up == 1),
            )
        b = None if b is None else b.to(x.dtype)  # under autocast the convolution may be bf16 / fp16
        return ops.bias_act(x, b, act=self.activation, gain=act_gain, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"kernel_size={self.kernel_size}, activation={self.activation}, up={self.up}, down={self.down}, "
            f"stride={self.stride}"
        )
