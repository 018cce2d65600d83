"""DCGAN generator and discriminator of BioGANs (``code/dcgan.py``), with the separable ("-sep") variant.

Layers keep the original names (with dots as underscores, see :class:`OriginallyNamedSequential`) and the
original construction order, so default initialisation and ``weights_init`` consume the random number
generator exactly as the original does and the state dict maps one-to-one onto the released files.
"""

from __future__ import annotations

import torch
from torch import nn

from .geometry import as_image_size, discriminator_final_size, generator_geometry
from .layers import OriginallyNamedSequential, RedFirstSeparableConv


def as_latent(z: torch.Tensor, nz: int) -> torch.Tensor:
    """``z`` ``[B, nz]`` or ``[B, nz, 1, 1]`` as ``[B, nz, 1, 1]``; ValueError for any other shape."""
    if z.dim() == 2:
        z = z[:, :, None, None]
    if z.dim() != 4 or z.shape[1] != nz:
        raise ValueError(f"expected z of shape [B, {nz}, 1, 1], got {tuple(z.shape)}")
    return z


class DCGANGenerator(nn.Module):
    """DCGAN_G: z ``[B, nz, 1, 1]`` -> images ``[B, nc, H, W]`` in (-1, 1).

    CT(h0xw0) nz -> c0, BN, ReLU; pyramid CT(4, 2, 1) c -> c/2, BN, ReLU until height H/2;
    ``n_extra_layers`` x [C(3, 1, 1) c -> c, BN, ReLU]; CT(4, 2, 1) c -> nc, Tanh. All convolutions bias-free.

    With ``red_portion`` r set, every convolution is a :class:`RedFirstSeparableConv`: the first int(nz·r)
    entries of z and the first int(c·r) channels of every layer form the red tower, and the red output
    channels (the first int(nc·r)) depend on red z only. The extra layers' separable convs use r = 0.5 in the
    original; other r with extra layers is refused (original quirk, see the README).
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        nz: int,
        nc: int,
        ngf: int,
        n_extra_layers: int = 0,
        red_portion: float | None = None,
    ) -> None:
        super().__init__()
        self.image_size = as_image_size(image_size)
        self.nz, self.nc, self.ngf, self.n_extra_layers = nz, nc, ngf, n_extra_layers
        self.red_portion = red_portion
        if red_portion is not None and n_extra_layers > 0 and red_portion != 0.5:
            raise ValueError(
                "separable generators with n_extra_layers > 0 need red_portion 0.5 (the original's extra "
                f"layers always split channels in half), got red_portion={red_portion}"
            )
        geometry = generator_geometry(self.image_size, ngf)
        separable = red_portion is not None
        convt_name = "convt-sep" if separable else "convt"
        conv_name = "conv-sep" if separable else "conv"

        def convt(c_in: int, c_out: int, kernel, stride: int, padding: int) -> nn.Module:
            if separable:
                return RedFirstSeparableConv(
                    c_in, c_out, kernel, stride, padding, red_portion, transposed=True
                )
            return nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding, bias=False)

        def conv(channels: int) -> nn.Module:
            if separable:
                return RedFirstSeparableConv(channels, channels, 3, 1, 1, 0.5, transposed=False)
            return nn.Conv2d(channels, channels, 3, 1, 1, bias=False)

        c = geometry.start_channels
        layers: list[tuple[str, nn.Module]] = [
            (f"initial.{nz}-{c}.{convt_name}", convt(nz, c, geometry.start_size, 1, 0)),
            (f"initial.{c}.batchnorm", nn.BatchNorm2d(c)),
            (f"initial.{c}.ReLU", nn.ReLU(True)),
        ]
        for _ in range(geometry.num_pyramid):
            layers += [
                (f"pyramid.{c}-{c // 2}.{convt_name}", convt(c, c // 2, 4, 2, 1)),
                (f"pyramid.{c // 2}.batchnorm", nn.BatchNorm2d(c // 2)),
                (f"pyramid.{c // 2}.ReLU", nn.ReLU(True)),
            ]
            c //= 2
        for t in range(n_extra_layers):
            layers += [
                (f"extra-layers-{t}.{c}.{conv_name}", conv(c)),
                (f"extra-layers-{t}.{c}.batchnorm", nn.BatchNorm2d(c)),
                (f"extra-layers-{t}.{c}.ReLU", nn.ReLU(True)),
            ]
        layers += [
            (f"final.{c}-{nc}.{convt_name}", convt(c, nc, 4, 2, 1)),
            (f"final.{nc}.tanh", nn.Tanh()),
        ]
        self.main = OriginallyNamedSequential(layers)

    def forward(self, z: torch.Tensor, i_class: int | None = None) -> torch.Tensor:
        """``z`` ``[B, nz, 1, 1]`` (or ``[B, nz]``) -> ``[B, nc, H, W]``; ``i_class`` must be None."""
        if i_class is not None:
            raise ValueError("an unconditional DCGAN generator takes no i_class")
        return self.main(as_latent(z, self.nz))


class DCGANDiscriminator(nn.Module):
    """DCGAN_D: images ``[B, nc, H, W]`` -> raw scores ``[B]`` (logits for GAN, critic values for WGAN).

    C(4, 2, 1) nc -> ndf, LReLU(0.2); ``n_extra_layers`` x [C(3, 1, 1), [BN], LReLU]; pyramid C(4, 2, 1)
    c -> 2c, [BN], LReLU while both sides > 4; C(last feature size) c -> 1. [BN] iff ``use_batch_norm``
    (GAN and WGAN: yes, WGAN-GP: no). All convolutions bias-free.
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        nc: int,
        ndf: int,
        n_extra_layers: int = 0,
        use_batch_norm: bool = True,
    ) -> None:
        super().__init__()
        self.image_size = as_image_size(image_size)
        self.nc, self.ndf, self.n_extra_layers, self.use_batch_norm = nc, ndf, n_extra_layers, use_batch_norm
        final_size, num_pyramid = discriminator_final_size(self.image_size)
        c = ndf
        layers: list[tuple[str, nn.Module]] = [
            (f"initial.{nc}-{ndf}.conv", nn.Conv2d(nc, ndf, 4, 2, 1, bias=False)),
            (f"initial.{ndf}.LeakyReLU", nn.LeakyReLU(0.2, inplace=True)),
        ]
        for t in range(n_extra_layers):
            layers.append((f"extra-layers-{t}.{c}.conv", nn.Conv2d(c, c, 3, 1, 1, bias=False)))
            if use_batch_norm:
                layers.append((f"extra-layers-{t}.{c}.batchnorm", nn.BatchNorm2d(c)))
            layers.append((f"extra-layers-{t}.{c}.LeakyReLU", nn.LeakyReLU(0.2, inplace=True)))
        for _ in range(num_pyramid):
            layers.append((f"pyramid.{c}-{2 * c}.conv", nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False)))
            if use_batch_norm:
                layers.append((f"pyramid.{2 * c}.batchnorm", nn.BatchNorm2d(2 * c)))
            layers.append((f"pyramid.{2 * c}.LeakyReLU", nn.LeakyReLU(0.2, inplace=True)))
            c *= 2
        layers.append((f"final.{c}-1.conv", nn.Conv2d(c, 1, final_size, 1, 0, bias=False)))
        self.main = OriginallyNamedSequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, nc, H, W]`` -> scores ``[B]``."""
        if x.dim() != 4 or x.shape[1] != self.nc or tuple(x.shape[-2:]) != self.image_size:
            raise ValueError(
                f"expected images [B, {self.nc}, {self.image_size[0]}, {self.image_size[1]}], "
                f"got {tuple(x.shape)}"
            )
        return self.main(x).view(-1)
