"""Shared neural-network layers of the five papers: the math once, checkpoint layouts as parameters.

Functional core: :func:`conv2d_resample`, :func:`modulated_conv2d`, :func:`modulate_weight`,
:func:`equalized_lr_gain`, :func:`minibatch_stddev`, :func:`normalize_2nd_moment`, :func:`concat_skip`.

Which paper builds what (constructor arguments that reproduce its keys and numbers):

* stylegan2-ada / stylegan3 (MSSG): ``EqualizedLinear`` (FullyConnectedLayer), ``EqualizedConv2d(...,
  resample_filter=[1, 3, 3, 1])`` (Conv2dLayer, ``forward(x, output_gain=...)``), ``MappingNetwork``,
  ``ModulatedConv2d(layout="stylegan2")`` subclassed with ``noise_strength``/``bias``/``noise_const`` for
  SynthesisLayer and with ``bias`` for ToRGBLayer (``demodulate=False, resample_filter=None``),
  ``MinibatchStdDev(group_size=4, num_channels=1)``.
* Multi-StyleGAN (rosinality family): ``EqualizedLinear/EqualizedConv2d(gain=sqrt(2),
  bias_gain=sqrt(2 / out))``, ``ModulatedConv2d(layout="rosinality", gain=sqrt(2),
  affine_name="modulation_mapping")``, ``NoiseInjection()``, ``FIRFilter2d`` (``Blur``/``Upsample``,
  ``gain=1`` for its sum-1 upsampling kernels), ``modulate_weight`` (its matmul upsampling path),
  ``PixelNorm(divide=True)``, ``MinibatchStdDev(None, eps_mode="clamp")``, ``equalized_resnet_block``,
  ``SelfAttention2d`` (NonLocalBlock), ``concat_skip``.
* neuron-gan (PGGAN): ``EqualizedLinear/EqualizedConv2d(gain=calculate_gain("leaky_relu", 0.2),
  bias_gain=1, init_std=gain / sqrt(fan_in))``, ``PixelNorm``.
* TA-GAN (pix2pix family): ``pix2pix_resnet_block``, ``UNetSkipConnectionBlock``, ``UNetDecoderBlock``.
* BioGANs (DCGAN): plain torch layers; nothing here is needed.
"""

from insilico_core.nn.attention import SelfAttention2d
from insilico_core.nn.conv2d_resample import conv2d_resample
from insilico_core.nn.equalized import EqualizedConv2d, EqualizedLinear, equalized_lr_gain
from insilico_core.nn.fir import FIRFilter2d, fir_same_padding
from insilico_core.nn.mapping import MappingNetwork
from insilico_core.nn.minibatch_std import MinibatchStdDev, minibatch_stddev
from insilico_core.nn.modulated_conv import (
    ModulatedConv2d,
    modulate_weight,
    modulated_conv2d,
    rosinality_up_padding,
)
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
    "modulate_weight",
    "modulated_conv2d",
    "normalize_2nd_moment",
    "pix2pix_resnet_block",
    "rosinality_up_padding",
]
