"""Class-conditional BioGANs networks (``code/dcgan_starshaped.py``): the star-shaped generator, independent
per-class generators, the per-class ("star-shaped") discriminator, and the wrapper that reads a
multi-channel generator as a conditional one.

Conditional tensors stack classes first: images ``[n_classes, B, 2, H, W]``, scores ``[n_classes, B]``;
class index = position of the class in the sorted class names.
"""

from __future__ import annotations

import torch
from torch import nn

from .dcgan import DCGANDiscriminator, DCGANGenerator, as_latent
from .geometry import as_image_size, generator_geometry


def check_n_classes(n_classes: int) -> None:
    """ValueError unless there is at least one class."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")


def check_class_index(i_class: int | None, n_classes: int) -> None:
    """ValueError unless ``i_class`` is None (all classes) or a class index in [0, n_classes)."""
    if i_class is not None and not 0 <= i_class < n_classes:
        raise ValueError(f"i_class must be in [0, {n_classes}), got {i_class}")


class StarShapedBlock(nn.Module):
    """One level of the star-shaped generator: a shared red (transposed) convolution and one green
    convolution per class.

    red_out = act(BN_red(CT_red(red_in))) from the first int(in·r_in) channels only;
    green_out[i] = act(BN_green[i](CT_green[i](concat[red_in, green_in[i]]))) with out - int(out·r_out)
    channels. Parameter names ``convt_red``, ``batchnorm_red``, ``convt_green.{i}``, ``batchnorm_green.{i}``
    as in the original, created in its order (red conv, red BN, then per class green conv and BN).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int,
        padding: int,
        n_classes: int,
        red_portion_in: float = 0.5,
        red_portion_out: float = 0.5,
        use_batch_norm: bool = True,
        activation: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.n_classes, self.use_batch_norm = n_classes, use_batch_norm
        in_red = int(in_channels * red_portion_in)
        out_red = int(out_channels * red_portion_out)
        out_green = out_channels - out_red
        self.convt_red = nn.ConvTranspose2d(in_red, out_red, kernel_size, stride, padding, bias=False)
        if use_batch_norm:
            self.batchnorm_red = nn.BatchNorm2d(out_red)
        self.convt_green = nn.ModuleList()
        if use_batch_norm:
            self.batchnorm_green = nn.ModuleList()
        for _ in range(n_classes):
            self.convt_green.append(
                nn.ConvTranspose2d(in_channels, out_green, kernel_size, stride, padding, bias=False)
            )
            if use_batch_norm:
                self.batchnorm_green.append(nn.BatchNorm2d(out_green))
        self.activation = activation

    def _finish(self, x: torch.Tensor, batchnorm: nn.Module | None) -> torch.Tensor:
        if batchnorm is not None:
            x = batchnorm(x)
        return self.activation(x) if self.activation is not None else x

    def _green(self, red_in: torch.Tensor, green_in: torch.Tensor, i_class: int) -> torch.Tensor:
        x = self.convt_green[i_class](torch.cat([red_in, green_in], 1))
        return self._finish(x, self.batchnorm_green[i_class] if self.use_batch_norm else None)

    def forward(
        self, red_in: torch.Tensor, green_in: torch.Tensor | list[torch.Tensor], i_class: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | list[torch.Tensor]]:
        """All classes (``green_in`` a list, one tensor per class) or one class ``i_class``."""
        red_out = self._finish(self.convt_red(red_in), self.batchnorm_red if self.use_batch_norm else None)
        if i_class is None:
            green_out = [self._green(red_in, green_in[i], i) for i in range(self.n_classes)]
        else:
            green_out = self._green(red_in, green_in, i_class)
        return red_out, green_out


class StarShapedGenerator(nn.Module):
    """DCGAN_G_starShaped: a red tower shared by all classes plus one green tower per class.

    z ``[B, nz, 1, 1]``: red z = first int(nz·r) entries, green z = the rest (the same for every class).
    ``forward(z)`` -> ``[n_classes, B, 2, H, W]`` (red identical across classes); ``forward(z, i_class=k)``
    -> ``[B, 2, H, W]``, computing tower k only (same values as slice k). Sizes as DCGAN_G; the final block
    splits its channels at 0.5, so only ``red_portion`` 0.5 builds a consistent network (checked).
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        nz: int,
        nc: int,
        ngf: int,
        n_classes: int,
        red_portion: float = 0.5,
    ) -> None:
        super().__init__()
        if red_portion != 0.5:
            raise ValueError(
                "the star-shaped generator needs red_portion 0.5 (its final block is split at 0.5), "
                f"got {red_portion}"
            )
        if nc != 2:
            raise ValueError(f"the star-shaped generator makes 2-channel (red, green) images; got nc={nc}")
        check_n_classes(n_classes)
        self.image_size = as_image_size(image_size)
        self.nz, self.nc, self.ngf, self.n_classes, self.red_portion = nz, nc, ngf, n_classes, red_portion
        self.nz_red = int(nz * red_portion)
        geometry = generator_geometry(self.image_size, ngf)
        c = geometry.start_channels
        blocks = [
            StarShapedBlock(
                nz, c, geometry.start_size, 1, 0, n_classes, red_portion, red_portion, True, nn.ReLU(True)
            )
        ]
        for _ in range(geometry.num_pyramid):
            blocks.append(
                StarShapedBlock(c, c // 2, 4, 2, 1, n_classes, red_portion, red_portion, True, nn.ReLU(True))
            )
            c //= 2
        blocks.append(StarShapedBlock(c, nc, 4, 2, 1, n_classes, 0.5, 0.5, False, nn.Tanh()))
        self.main = nn.ModuleList(blocks)

    def forward(self, z: torch.Tensor, i_class: int | None = None) -> torch.Tensor:
        z = as_latent(z, self.nz)
        check_class_index(i_class, self.n_classes)
        red, green = z[:, : self.nz_red], z[:, self.nz_red :]
        if i_class is None:
            green = [green] * self.n_classes
        for block in self.main:
            red, green = block(red, green, i_class)
        if i_class is not None:
            return torch.cat([red, green], 1)
        return torch.stack([torch.cat([red, g], 1) for g in green], 0)


class IndependentGenerators(nn.Module):
    """DCGAN_G_independent: one DCGAN generator per class (separable when ``red_portion`` is set), all fed
    the same z. ``forward(z)`` -> ``[n_classes, B, nc, H, W]``; ``forward(z, k)`` -> ``[B, nc, H, W]``."""

    def __init__(
        self,
        image_size: int | tuple[int, int],
        nz: int,
        nc: int,
        ngf: int,
        n_classes: int,
        red_portion: float | None = None,
    ) -> None:
        super().__init__()
        check_n_classes(n_classes)
        self.n_classes, self.nz, self.nc, self.red_portion = n_classes, nz, nc, red_portion
        self.main = nn.ModuleList(
            DCGANGenerator(image_size, nz, nc, ngf, red_portion=red_portion) for _ in range(n_classes)
        )

    def forward(self, z: torch.Tensor, i_class: int | None = None) -> torch.Tensor:
        check_class_index(i_class, self.n_classes)
        if i_class is not None:
            return self.main[i_class](z)
        return torch.stack([generator(z) for generator in self.main], 0)


class StarShapedDiscriminator(nn.Module):
    """DCGAN_D_starShaped: one independent DCGAN discriminator per class.

    ``[n_classes, B, nc, H, W]`` -> scores ``[n_classes, B]``; used for star-shaped and independent models
    and as the C2ST classifier of every conditional model.
    """

    def __init__(
        self,
        image_size: int | tuple[int, int],
        nc: int,
        ndf: int,
        n_classes: int,
        n_extra_layers: int = 0,
        use_batch_norm: bool = True,
    ) -> None:
        super().__init__()
        check_n_classes(n_classes)
        self.n_classes = n_classes
        self.main = nn.ModuleList(
            DCGANDiscriminator(image_size, nc, ndf, n_extra_layers, use_batch_norm) for _ in range(n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[0] != self.n_classes:
            raise ValueError(f"expected images [{self.n_classes}, B, C, H, W], got {tuple(x.shape)}")
        return torch.stack([d(x[i]) for i, d in enumerate(self.main)], 0)


class MultiChannelAsConditional(nn.Module):
    """DCGAN_G_starShaped_from_multi_channel: reads a multi-channel generator (channel 0 red, channel k+1
    protein k) as a conditional one: class k = channels [0, k+1]. Used for C2ST and reconstruction of the
    multi-channel models."""

    def __init__(self, n_classes: int, generator: nn.Module) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.G = generator
        self.nz = generator.nz

    def forward(self, z: torch.Tensor, i_class: int | None = None) -> torch.Tensor:
        images = self.G(z)
        if images.shape[1] != self.n_classes + 1:
            raise ValueError(f"expected {self.n_classes + 1} generated channels, got {images.shape[1]}")
        if i_class is not None:
            return torch.stack([images[:, 0], images[:, i_class + 1]], 1)
        return torch.stack(
            [torch.stack([images[:, 0], images[:, k + 1]], 1) for k in range(self.n_classes)], 0
        )
