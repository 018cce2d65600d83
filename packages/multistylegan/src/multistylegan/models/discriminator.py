"""Multi-StyleGAN discriminator: a 2-D U-Net (Schönfeld et al. 2020) over the time steps stacked as channels.

Input ``[B, C, T=3, H, W]`` (C = 2 domains BF, GFP in training) is flattened to ``[B, C*T, H, W]``. The
encoder (residual and non-local blocks, stride-2 convolution then blur) ends in a scalar real/fake logit
``[B, 1]``; the decoder (2x upsampling, 1x1 convolution, concatenation with the encoder features) gives a
pixel-wise logit map ``[B, 1, 1, H, W]``. State-dict keys and order are the original's (72 entries).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from insilico_core.nn import MinibatchStdDev
from torch import nn

from .layers import blur, equalized_conv2d, equalized_linear, leaky_relu_gain_one, upsample

__all__ = ["Discriminator", "NonLocalBlock", "ResNetBlock"]


class ResNetBlock(nn.Module):
    """``(main(mbstd(x)) + residual(x)) / sqrt(2)``.

    mbstd: the core ``MinibatchStdDev`` with the whole batch as one group and the variance clamped at 1e-8
    (under data or distributed parallelism the per-device chunk, as in the original); main = [conv3x3,
    lrelu, conv3x3, lrelu] (no conv bias, the activations carry the biases); residual = 1x1 conv when the
    width changes, else identity. Kept here rather than the core ``equalized_resnet_block``: that one
    multiplies by ``1/sqrt(2)`` where the original divides by ``sqrt(2)``, which changes the last bits.
    """

    def __init__(self, in_channels: int, out_channels: int, mini_batch_std_dev: bool = False) -> None:
        super().__init__()
        self.mini_batch_std_dev = (
            MinibatchStdDev(None, eps_mode="clamp") if mini_batch_std_dev else nn.Identity()
        )
        self.main_mapping = nn.Sequential(
            equalized_conv2d(in_channels + int(mini_batch_std_dev), out_channels, 3, padding=1),
            leaky_relu_gain_one(out_channels),
            equalized_conv2d(out_channels, out_channels, 3, padding=1),
            leaky_relu_gain_one(out_channels),
        )
        self.residual_mapping = (
            equalized_conv2d(in_channels, out_channels, 1, padding=0)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main_mapping(self.mini_batch_std_dev(x)) + self.residual_mapping(x)) / math.sqrt(2)


class NonLocalBlock(nn.Module):
    """Self-attention over positions with 2x2 max-pooled keys and values (SAGAN / BigGAN style).

    theta, phi: in -> out/8; g: in -> out/2; o: out/2 -> out (1x1, no bias). ``beta = softmax(theta^T phi)``
    ``[B, HW, HW/4]``; ``out = (gamma * o(g beta^T) + residual(x)) / sqrt(2)`` with a learned scalar ``gamma``
    (zero at init). H and W must be even. Kept here rather than the core ``SelfAttention2d`` (same keys and
    math) because that one multiplies by ``1/sqrt(2)`` where the original divides, changing the last bits.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.theta = equalized_conv2d(in_channels, out_channels // 8, 1, padding=0)
        self.phi = equalized_conv2d(in_channels, out_channels // 8, 1, padding=0)
        self.g = equalized_conv2d(in_channels, out_channels // 2, 1, padding=0)
        self.o = equalized_conv2d(out_channels // 2, out_channels, 1, padding=0)
        self.residual_mapping = (
            equalized_conv2d(in_channels, out_channels, 1, padding=0)
            if in_channels != out_channels
            else nn.Identity()
        )
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        theta = self.theta(x).flatten(start_dim=2)
        phi = F.max_pool2d(self.phi(x), kernel_size=2, stride=2).flatten(start_dim=2)
        g = F.max_pool2d(self.g(x), kernel_size=2, stride=2).flatten(start_dim=2)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)
        attended = self.o(torch.bmm(g, beta.transpose(1, 2)).view(batch, -1, height, width))
        return (self.gamma * attended + self.residual_mapping(x)) / math.sqrt(2)


class Discriminator(nn.Module):
    """U-Net discriminator; ``forward(x [B, C, 3, H, W]) -> (scalar [B, 1], pixel [B, 1, 1, H, W])`` logits.

    ``no_rfp=True`` (training): BF + GFP, 6 input planes; ``no_gfp``: BF only (3); neither: 9. H and W must
    be multiples of 32 (four 2x reductions and a non-local block that pools 2x2). Extra keyword arguments
    (the ADA wrapper's ``is_real``, ``is_cut_mix``) are accepted and ignored, as in the original.
    """

    def __init__(self, config: dict[str, Any], no_rfp: bool = False, no_gfp: bool = False) -> None:
        super().__init__()
        encoder_channels = config["encoder_channels"]
        decoder_channels = config["decoder_channels"]
        if config.get("fft", False):
            raise ValueError(
                "config['fft']=True (the original's unused 3-D FFT input, which relied on the "
                "removed torch.rfft) is not supported; set it to False"
            )
        self.input_planes = 3 if no_gfp else 6 if no_rfp else 9
        self.encoder_blocks = nn.ModuleList()
        for index, (c_in, c_out) in enumerate(encoder_channels):
            if index == 0:
                self.encoder_blocks.append(ResNetBlock(self.input_planes, c_out))
            elif index == 2:
                self.encoder_blocks.append(NonLocalBlock(c_in, c_out))
            else:
                self.encoder_blocks.append(
                    ResNetBlock(c_in, c_out, mini_batch_std_dev=index >= len(encoder_channels) - 2)
                )
        # Stride-2 convolution BEFORE the blur (with a bias): 256 -> 127 -> 128
        self.downscale_convolutions = nn.ModuleList(
            nn.Sequential(
                equalized_conv2d(c_out, c_out, 3, stride=2, bias=True), blur(gain=1.0, padding=(2, 2))
            )
            for _, c_out in encoder_channels[:-1]
        )
        self.classification_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(output_size=(1, 1)),
            nn.Flatten(start_dim=1),
            equalized_linear(encoder_channels[-1][-1], 128, bias=False),
            leaky_relu_gain_one(128),
            equalized_linear(128, 1, bias=False),
        )
        self.decoder_blocks = nn.ModuleList(
            NonLocalBlock(c_in, c_out) if index == 1 else ResNetBlock(c_in, c_out)
            for index, (c_in, c_out) in enumerate(decoder_channels)
        )
        self.transposed_convolutions = nn.ModuleList(
            nn.Sequential(upsample(), equalized_conv2d(current[-1], decoder[0] - past[-1], 1, padding=0))
            for current, past, decoder in zip(
                reversed(encoder_channels[1:]), reversed(encoder_channels[:-1]), decoder_channels, strict=True
            )
        )
        self.final_mapping = nn.Sequential(
            leaky_relu_gain_one(decoder_channels[-1][-1]),
            equalized_conv2d(decoder_channels[-1][-1], 1, 1, padding=0),
        )

    def forward(self, input: torch.Tensor, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if input.ndim != 5 or input.shape[1] * input.shape[2] != self.input_planes:
            raise ValueError(
                f"expected [B, C, T, H, W] with C*T = {self.input_planes} planes, "
                f"got shape {tuple(input.shape)}"
            )
        x = input.flatten(start_dim=1, end_dim=2)
        features = []
        for index, block in enumerate(self.encoder_blocks):
            x = block(x)
            if index != len(self.encoder_blocks) - 1:
                features.append(x)
                x = self.downscale_convolutions[index](x)
        scalar = self.classification_head(x)
        for block, upsampling, feature in zip(
            self.decoder_blocks, self.transposed_convolutions, reversed(features), strict=True
        ):
            x = block(torch.cat([upsampling(x), feature], dim=1))
        pixel = self.final_mapping(x).unsqueeze(dim=2)
        return scalar, pixel
