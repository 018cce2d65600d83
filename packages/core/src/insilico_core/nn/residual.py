"""Residual blocks: ``y = (main(pre(x)) + shortcut(x)) / output_divisor``.

One container, :class:`ResNetBlock`, holds the three parts under the attribute names a checkpoint expects.
Two builders fill it with the layers of the two residual blocks the papers use:

* :func:`pix2pix_resnet_block` - pix2pix / CycleGAN ``ResnetBlock`` (TA-GAN's generator and segmenter):
  ``conv_block`` = [pad, conv3x3, norm, ReLU, (Dropout), pad, conv3x3, norm], identity shortcut, scale 1.
* :func:`equalized_resnet_block` - Multi-StyleGAN's U-Net discriminator ``ResNetBlock``:
  ``main_mapping`` = [EqualizedConv3x3, FusedLeakyReLU, EqualizedConv3x3, FusedLeakyReLU] (no conv bias,
  the activations carry the biases, scale 1), ``residual_mapping`` = equalized 1x1 when the width changes,
  optional minibatch stddev before the main path only, sum divided by sqrt 2.

stylegan2-ada's discriminator block keeps ``conv0``, ``conv1`` and ``skip`` flat in the block and scales
inside the convolutions (``EqualizedConv2d.forward(x, output_gain=sqrt(0.5))``); it is built from
:class:`EqualizedConv2d` in the paper package.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from insilico_core import ops
from insilico_core.nn.equalized import EqualizedConv2d
from insilico_core.nn.minibatch_std import MinibatchStdDev


class ResNetBlock(nn.Module):
    """``(main(pre(x)) + shortcut(x)) / output_divisor``.

    Args:
        main: the residual branch.
        shortcut: the skip branch; None = identity.
        pre: applied to the main branch's input only (e.g. minibatch stddev); None = nothing.
        output_divisor: the sum is divided by it (sqrt 2 keeps the variance of two unit-variance branches;
            1 = no division). A division, not a multiplication by the reciprocal, because that is what
            Multi-StyleGAN computes, and the two differ in the last bit.
        main_name, shortcut_name, pre_name: attribute names, i.e. state-dict prefixes.
    """

    def __init__(
        self,
        main: nn.Module,
        shortcut: nn.Module | None = None,
        pre: nn.Module | None = None,
        output_divisor: float = 1.0,
        main_name: str = "main",
        shortcut_name: str = "shortcut",
        pre_name: str = "pre",
    ) -> None:
        super().__init__()
        if len({main_name, shortcut_name, pre_name}) != 3:
            raise ValueError("main_name, shortcut_name and pre_name must differ")
        self.names = (pre_name, main_name, shortcut_name)
        self.output_divisor = output_divisor
        self.add_module(pre_name, pre if pre is not None else nn.Identity())
        self.add_module(main_name, main)
        self.add_module(shortcut_name, shortcut if shortcut is not None else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, C_in, H, W]`` -> ``[N, C_out, H, W]`` (shapes set by the branches)."""
        pre, main, shortcut = (self._modules[name] for name in self.names)
        y = main(pre(x)) + shortcut(x)
        return y / self.output_divisor if self.output_divisor != 1 else y


def pix2pix_resnet_block(
    channels: int,
    padding_type: Literal["reflect", "replicate", "zero"] = "reflect",
    norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    use_bias: bool = False,
    dropout: float | None = None,
) -> ResNetBlock:
    """pix2pix / CycleGAN residual block, keys ``conv_block.{i}.*`` with the original indices.

    Args:
        channels: width (in = out).
        padding_type: 'reflect' / 'replicate' (a padding layer before each conv) or 'zero' (conv padding).
        norm_layer: normalisation factory, e.g. ``nn.BatchNorm2d`` or ``lambda c: nn.Identity()``.
        use_bias: conv bias (pix2pix: only with instance norm).
        dropout: None = no dropout layer; a probability = a ``Dropout(p)`` after the first ReLU. TA-GAN's
            generator blocks always have this slot (``p = 0.5`` or ``0``), its segmenter blocks do not, which
            shifts the indices of the second conv (6 vs 5).
    """
    if padding_type not in ("reflect", "replicate", "zero"):
        raise ValueError(f"padding_type must be 'reflect', 'replicate' or 'zero', got {padding_type!r}")

    def padded_conv() -> list[nn.Module]:
        if padding_type == "zero":
            return [nn.Conv2d(channels, channels, 3, padding=1, bias=use_bias)]
        pad = nn.ReflectionPad2d(1) if padding_type == "reflect" else nn.ReplicationPad2d(1)
        return [pad, nn.Conv2d(channels, channels, 3, padding=0, bias=use_bias)]

    layers = [*padded_conv(), norm_layer(channels), nn.ReLU(True)]
    if dropout is not None:
        layers.append(nn.Dropout(dropout))
    layers += [*padded_conv(), norm_layer(channels)]
    return ResNetBlock(nn.Sequential(*layers), main_name="conv_block")


def equalized_resnet_block(
    in_channels: int,
    out_channels: int,
    minibatch_std: bool = False,
    conv_gain: float = math.sqrt(2),
    activation_scale: float = 1.0,
    output_divisor: float = math.sqrt(2),
) -> ResNetBlock:
    """Residual block of equalized 3x3 convolutions (Multi-StyleGAN's U-Net discriminator by default).

    Keys: ``main_mapping.{0,2}.weight`` (convs), ``main_mapping.{1,3}.bias`` (FusedLeakyReLU),
    ``residual_mapping.weight`` when ``in_channels != out_channels``. With ``minibatch_std`` the main
    path sees one extra channel (whole-batch stddev, clamped, as Multi-StyleGAN).

    Args:
        in_channels, out_channels: widths.
        minibatch_std: prepend :class:`MinibatchStdDev` (group = whole batch) to the main path.
        conv_gain: He-constant numerator of the convolutions (sqrt 2 in Multi-StyleGAN).
        activation_scale: gain of the leaky ReLUs (1 in Multi-StyleGAN, sqrt 2 in rosinality).
        output_divisor: the sum is divided by it (sqrt 2 in Multi-StyleGAN).
    """
    main_in = in_channels + 1 if minibatch_std else in_channels
    main = nn.Sequential(
        EqualizedConv2d(main_in, out_channels, 3, bias=False, gain=conv_gain),
        ops.FusedLeakyReLU(out_channels, negative_slope=0.2, scale=activation_scale),
        EqualizedConv2d(out_channels, out_channels, 3, bias=False, gain=conv_gain),
        ops.FusedLeakyReLU(out_channels, negative_slope=0.2, scale=activation_scale),
    )
    shortcut = None
    if in_channels != out_channels:
        shortcut = EqualizedConv2d(in_channels, out_channels, 1, bias=False, gain=conv_gain)
    pre = MinibatchStdDev(group_size=None, eps_mode="clamp") if minibatch_std else None
    return ResNetBlock(
        main, shortcut, pre, output_divisor=output_divisor,
        main_name="main_mapping", shortcut_name="residual_mapping", pre_name="mini_batch_std_dev",
    )
