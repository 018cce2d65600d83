"""U-Net building blocks: skip concatenation, a decoder block, and pix2pix's recursive skip block.

* :func:`center_crop` / :func:`concat_skip` - the one operation every U-Net decoder shares: bring the
  encoder feature to the decoder's size and concatenate ``[decoder, encoder]`` on channels. Multi-StyleGAN's
  U-Net discriminator keeps its up-sampling layers and blocks in separate ``ModuleList``s
  (``transposed_convolutions.j`` / ``decoder_blocks.j``) and calls :func:`concat_skip` directly.
* :class:`UNetDecoderBlock` - ``block(concat_skip(up(x), skip))`` with configurable child names (TA-GAN's
  ``Expander``: ``expand`` + ``conv``).
* :class:`UNetSkipConnectionBlock` - pix2pix's recursive block (TA-GAN's ``unet_128`` / ``unet_256``),
  keys ``model.{i}.*`` with the original indices.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def center_crop(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Crop ``x [..., H, W]`` to ``size = (h, w)`` around its centre (offset ``(H - h) // 2``)."""
    h, w = int(size[0]), int(size[1])
    height, width = x.shape[-2], x.shape[-1]
    if h > height or w > width:
        raise ValueError(f"center_crop: cannot crop {height}x{width} to the larger {h}x{w}")
    top, left = (height - h) // 2, (width - w) // 2
    return x[..., top: top + h, left: left + w]


def concat_skip(x: torch.Tensor, skip: torch.Tensor, crop: bool = True) -> torch.Tensor:
    """``cat([x, skip], dim=1)``; with ``crop`` the skip is centre-cropped to ``x``'s H, W first.

    ``x [N, C1, H, W]`` (decoder), ``skip [N, C2, H', W']`` (encoder, ``H' >= H``) -> ``[N, C1 + C2, H, W]``.
    """
    if crop:
        skip = center_crop(skip, x.shape[-2:])
    return torch.cat([x, skip], dim=1)


class UNetDecoderBlock(nn.Module):
    """``block(concat_skip(up(x), skip))``.

    Args:
        up: up-sampling layer (e.g. ``ConvTranspose2d(c, c // 2, 2, stride=2)``).
        block: layers after the concatenation.
        up_name, block_name: attribute names (TA-GAN's ``Expander``: 'expand', 'conv').
        crop: centre-crop the skip to the up-sampled size (valid-convolution U-Nets).
    """

    def __init__(
        self,
        up: nn.Module,
        block: nn.Module,
        up_name: str = "up",
        block_name: str = "block",
        crop: bool = True,
    ) -> None:
        super().__init__()
        if up_name == block_name:
            raise ValueError("up_name and block_name must differ")
        self.names = (up_name, block_name)
        self.crop = crop
        self.add_module(up_name, up)
        self.add_module(block_name, block)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """``x [N, C, h, w]`` (coarse), ``skip [N, C_s, H, W]`` -> ``block`` output at the up-sampled size."""
        up, block = (self._modules[name] for name in self.names)
        return block(concat_skip(up(x), skip, self.crop))


class UNetSkipConnectionBlock(nn.Module):
    """pix2pix's recursive U-Net level: ``x -> [x, up(sub(down(x)))]`` (outermost: ``up(sub(down(x)))``).

    Layers (``model`` Sequential, original indices): outermost ``[down conv, sub, ReLU, up convT, Tanh]``;
    innermost ``[LeakyReLU, down conv, ReLU, up convT, norm]``; others ``[LeakyReLU, down conv, norm, sub,
    ReLU, up convT, norm (, Dropout(0.5))]``. Convolutions are 4x4, stride 2, padding 1.

    Args:
        outer_nc: channels at this level's input/output (output channels for the outermost level).
        inner_nc: channels after the down convolution.
        input_nc: input channels when they differ from ``outer_nc`` (outermost level); None = ``outer_nc``.
        submodule: the next-inner level (None for the innermost).
        outermost, innermost: position of this level.
        norm_layer: normalisation factory (``nn.BatchNorm2d``, instance norm, ...).
        use_bias: bias of the inner convolutions; None = pix2pix's rule (only with ``nn.InstanceNorm2d``).
        use_dropout: Dropout(0.5) at the end of middle levels.

    The original applies its first LeakyReLU in place, so the skip half it concatenates is
    ``LeakyReLU(x)`` rather than ``x``. That changes nothing: every concatenation goes straight into the
    parent's ReLU, and ``relu(leaky_relu(x)) == relu(x)`` (values and gradients), so this block keeps ``x``
    and the outputs equal the original's.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        use_bias: bool | None = None,
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        if outermost and innermost:
            raise ValueError("a U-Net level cannot be both outermost and innermost")
        if (submodule is None) != innermost:
            raise ValueError("exactly the innermost level has no submodule")
        if use_bias is None:
            norm_class = getattr(norm_layer, "func", norm_layer)  # functools.partial or the class
            use_bias = norm_class is nn.InstanceNorm2d
        input_nc = outer_nc if input_nc is None else input_nc
        self.outermost = outermost
        down_conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        if outermost:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [down_conv, submodule, nn.ReLU(), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(), up_conv, norm_layer(outer_nc)]
        else:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2), down_conv, norm_layer(inner_nc), submodule, nn.ReLU(), up_conv,
                      norm_layer(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, input_nc, H, W]`` (H, W divisible by 2**depth) -> outermost ``[N, outer_nc, H, W]`` in
        (-1, 1), else ``[N, input_nc + outer_nc, H, W]``."""
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)
