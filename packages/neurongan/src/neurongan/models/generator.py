"""neuron-gan's progressive generator (``Generator_PG``): unit latent -> 16 px trunk -> x2 blocks -> image."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import LEAKY_SLOPE, ScaleBlock, ToImage, equalized_conv, equalized_linear
from .pixel_norm import PixelNorm
from .progressive import ProgressiveNetwork
from .resampling import Resample


class GeneratorPG(ProgressiveNetwork):
    """Progressively grown generator with the original state-dict keys at every stage and during fades.

    Modules (defaults ``n_features = [128, 64, 32, 32, 16, 16]``, ``image_size_init = 16``):

    * ``layers`` — the trunk: 0 eq-linear ``latent_dim -> n0*16*16`` (no bias), 1 unflatten, 2 LReLU,
      3 PixelNorm, 4 eq-conv 3x3 (no bias), 5 LReLU, 6 PixelNorm; finished blocks are appended as
      ``layers.7``, ``layers.8``, ...
    * ``conv_block_list`` — blocks not yet finished (``[0]`` is the one fading in).
    * ``ToIm_list`` — toRGB layers of later stages; ``ToIm`` — the current one.

    Forward: ``z [N, latent_dim]`` -> image ``[N, n_colors, image_size, image_size]`` in (-1, 1). During a
    fade the image is ``old + alpha * (new - old)`` where ``old`` is the previous stage's image (tanh, then
    bilinear x2) and ``new`` comes from the new block.
    """

    def __init__(
        self,
        n_features: Sequence[int] = (128, 64, 32, 32, 16, 16),
        image_size_init: int = 16,
        latent_dim: int = 512,
        leaky_slope: float = LEAKY_SLOPE,
        n_colors: int = 1,
    ) -> None:
        super().__init__(n_features, image_size_init, leaky_slope, n_colors, persistent_alpha=False)
        self.latent_dim = int(latent_dim)
        n0, size = self.n_features[0], self.image_size_init
        self.layers = nn.Sequential(
            equalized_linear(self.latent_dim, n0 * size * size, slope=leaky_slope),
            nn.Unflatten(1, (n0, size, size)),
            nn.LeakyReLU(leaky_slope),
            PixelNorm(),
            equalized_conv(n0, n0, 3, padding=1, bias=False, slope=leaky_slope),
            nn.LeakyReLU(leaky_slope),
            PixelNorm(),
        )
        self.conv_block_list = nn.ModuleList(
            ScaleBlock(c_in, c_out, up=True, slope=leaky_slope)
            for c_in, c_out in zip(self.n_features[:-1], self.n_features[1:], strict=True)
        )
        self.ToIm_list = nn.ModuleList(ToImage(c, n_colors, leaky_slope) for c in self.n_features)
        self.ToIm = self.ToIm_list.pop(0)
        self.upsample = Resample(2.0)
        self._remember_build_order()

    def _merge_new_block(self) -> None:
        self.layers.append(self.conv_block_list.pop(0))
        self.ToIm = self.ToIm_list.pop(0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        features = self.layers(z)
        if not self.fading:
            return self.ToIm(features)
        old = self.upsample(self.ToIm(features))
        new = self.ToIm_list[0](self.conv_block_list[0](features))
        return old + self.alpha * (new - old)
