"""neuron-gan's progressive discriminator (``Discriminator_PG``): image -> fromRGB -> /2 blocks -> head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import LEAKY_SLOPE, FromImage, ScaleBlock, equalized_conv
from .pixel_norm import PixelNorm
from .progressive import ProgressiveNetwork
from .resampling import Resample


class DiscriminatorPG(ProgressiveNetwork):
    """Progressively grown critic with the original state-dict keys at every stage and during fades.

    Modules (defaults ``n_features = [16, 16, 32, 32, 64, 128]``, listed from the 512 px end):

    * ``alpha`` — persistent buffer, the first state-dict key.
    * ``layers`` — the head at ``image_size_init``: 0 eq-conv 3x3 with bias, 1 LReLU, 2 PixelNorm, 3 eq-conv
      ``image_size_init`` x ``image_size_init`` to one score (with bias, same He gain), 4 flatten. Finished
      blocks are inserted at ``layers.0`` (head indices shift up by one per finished block).
    * ``conv_block_list`` — blocks not yet finished (``[-1]`` is the one fading in).
    * ``FromIm_list`` — fromRGB layers of later stages; ``FromIm`` — the current one.

    Forward: ``x [N, n_colors, image_size, image_size]`` -> score ``[N, 1]``. During a fade the features
    entering the trunk are ``old + alpha * (new - old)``: ``old`` = fromRGB of the 2x2-averaged image,
    ``new`` = the new block applied to the new fromRGB.

    fromRGB (a 1x1 convolution, a per-pixel affine map) commutes with the 2x2 average pooling that starts
    every block, so the image is pooled *before* fromRGB: the same values (up to float rounding) with the
    pooling and the 1x1 convolution, and their gradients, on ``n_colors`` channels at half resolution
    instead of ``C`` channels at full resolution. During a fade ``old`` and ``new`` share that pooled image.
    """

    def __init__(
        self,
        n_features: Sequence[int] = (16, 16, 32, 32, 64, 128),
        image_size_init: int = 16,
        leaky_slope: float = LEAKY_SLOPE,
        n_colors: int = 1,
    ) -> None:
        super().__init__(n_features, image_size_init, leaky_slope, n_colors, persistent_alpha=True)
        top = self.n_features[-1]
        self.layers = nn.Sequential(
            equalized_conv(top, top, 3, padding=1, bias=True, slope=leaky_slope),
            nn.LeakyReLU(leaky_slope),
            PixelNorm(),
            equalized_conv(
                top, 1, self.image_size_init, padding=0, bias=True, slope=leaky_slope, whole_frame=True
            ),
            nn.Flatten(),
        )
        self.conv_block_list = nn.ModuleList(
            ScaleBlock(c_in, c_out, up=False, slope=leaky_slope)
            for c_in, c_out in zip(self.n_features[:-1], self.n_features[1:], strict=True)
        )
        self.FromIm_list = nn.ModuleList(FromImage(c, n_colors, leaky_slope) for c in self.n_features)
        self.FromIm = self.FromIm_list.pop(-1)
        self.downsample = Resample(0.5)
        self._remember_build_order()

    def _merge_new_block(self) -> None:
        self.layers.insert(0, self.conv_block_list.pop(-1))
        self.FromIm = self.FromIm_list.pop(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trunk = list(self.layers)
        if self.fading:
            pooled = self.downsample(x)
            old = self.FromIm(pooled)
            new = self.conv_block_list[-1].after_resampling(self.FromIm_list[-1](pooled))
            features = old + self.alpha * (new - old)
        elif isinstance(trunk[0], ScaleBlock):
            block = trunk.pop(0)
            features = block.after_resampling(self.FromIm(block[0](x)))
        else:
            features = self.FromIm(x)
        for step in trunk:
            features = step(features)
        return features
