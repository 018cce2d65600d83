"""Multi-StyleGAN discriminator: a 2-D U-Net (Schönfeld et al. 2020) over the time steps stacked as channels.

Input ``[B, C, T=3, H, W]`` (C = 2 domains BF, GFP in training) is flattened to ``[B, C*T, H, W]``. The
encoder (residual and non-local blocks, stride-2 convolution then blur) ends in a scalar real/fake logit
``[B, 1]``; the decoder (2x upsampling, 1x1 convolution, concatenation with the encoder features) gives a
pixel-wise logit map ``[B, 1, 1, H, W]``. State-dict keys and order are the original's (72 entries).

Its blocks are the core's, whose defaults are this codebase's: ``equalized_resnet_block`` (the original's
``ResNetBlock``: ``(main(mbstd(x)) + residual(x)) / sqrt(2)``, main = [conv3x3, lrelu, conv3x3, lrelu]
without conv bias, residual = 1x1 conv when the width changes; the minibatch stddev takes the whole batch
as one group, as the original does per device under data or distributed parallelism) and
``SelfAttention2d`` (the original's ``NonLocalBlock``: 2x2 max-pooled keys and values, learned ``gamma``
from 0). Both divide by ``sqrt(2)`` as the original does, so outputs are bit-identical.
"""

from __future__ import annotations

from typing import Any

import torch
from insilico_core.nn import SelfAttention2d, equalized_resnet_block
from torch import nn

from .layers import blur, equalized_conv2d, equalized_linear, leaky_relu_gain_one, upsample

__all__ = ["Discriminator"]


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
                self.encoder_blocks.append(equalized_resnet_block(self.input_planes, c_out))
            elif index == 2:
                self.encoder_blocks.append(SelfAttention2d(c_in, c_out))
            else:
                self.encoder_blocks.append(
                    equalized_resnet_block(c_in, c_out, minibatch_std=index >= len(encoder_channels) - 2)
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
            SelfAttention2d(c_in, c_out) if index == 1 else equalized_resnet_block(c_in, c_out)
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
