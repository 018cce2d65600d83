"""Shared neural-network layers of the five papers (math once, checkpoint layouts as parameters).

Functional core: :func:`conv2d_resample`, :func:`modulated_conv2d`, :func:`equalized_lr_gain`,
:func:`minibatch_stddev`, :func:`normalize_2nd_moment`.
Modules: :class:`EqualizedLinear`, :class:`EqualizedConv2d`, :class:`ModulatedConv2d`,
:class:`FIRFilter2d`, :class:`NoiseInjection`, :class:`MappingNetwork`, :class:`MinibatchStdDev`,
:class:`PixelNorm`, :class:`SelfAttention2d`, :class:`ResNetBlock` (with :func:`pix2pix_resnet_block`,
:func:`equalized_resnet_block`), U-Net :func:`concat_skip`, :class:`UNetDecoderBlock`,
:class:`UNetSkipConnectionBlock`.
"""

from insilico_core.nn.attention import SelfAttention2d
from insilico_core.nn.conv2d_resample import conv2d_resample
from insilico_core.nn.equalized import EqualizedConv2d, EqualizedLinear, equalized_lr_gain
from insilico_core.nn.fir import FIRFilter2d, fir_same_padding
from insilico_core.nn.mapping import MappingNetwork
from insilico_core.nn.minibatch_std import MinibatchStdDev, minibatch_stddev
from insilico_core.nn.modulated_conv import ModulatedConv2d, modulated_conv2d, rosinality_up_padding
from insilico_core.nn.noise import NoiseInjection
from insilico_core.nn.normalization import PixelNorm, normalize_2nd_moment
from insilico_core.nn.residual import ResNetBlock, equalized_resnet_block, pix2pix_resnet_block
from insilico_core.nn.unet import UNetDecoderBlock, UNetSkipConnectionBlock, center_crop, concat_skip

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "FIRFilter2d",
    "MappingNetwork",
    "MinibatchStdDev",
    "ModulatedConv2d",
    "NoiseInjection",
    "PixelNorm",
    "ResNetBlock",
    "SelfAttention2d",
    "UNetDecoderBlock",
    "UNetSkipConnectionBlock",
    "center_crop",
    "concat_skip",
    "conv2d_resample",
    "equalized_lr_gain",
    "equalized_resnet_block",
    "fir_same_padding",
    "minibatch_stddev",
    "modulated_conv2d",
    "normalize_2nd_moment",
    "pix2pix_resnet_block",
    "rosinality_up_padding",
]
