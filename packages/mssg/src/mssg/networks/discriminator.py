"""StyleGAN2 discriminator with MSSG's covariate heads (msstylegans ``training/networks_stylegan2.py``).

Residual blocks b{R} ... b8 (each halving the resolution), then the epilogue b4: minibatch standard deviation,
3x3 conv, FC, and the output layer ``out``. Two heads, chosen by ``conditioning``:

* ``'aux'`` (MSSG): ``out`` has ``1 + cmap_dim`` outputs (``cmap_dim`` defaults to ``c_dim``); column 0 is the
  real/fake logit, columns 1... predict the covariates in the layout of ``c``. ``c`` is accepted and IGNORED
  (no ``mapping`` sub-network, no projection), exactly as the original.
* ``'projection'`` (stock stylegan2-ada / stylegan3): ``mapping`` embeds ``c`` into ``cmap [N, cmap_dim]``
  (``cmap_dim`` defaults to the channels at resolution 4); score ``sum(out * cmap) / sqrt(cmap_dim)``,
  so stock snapshots load as well.

Keys per block: ``resample_filter``, (first block) ``fromrgb.{weight,bias,resample_filter}``,
``conv0.*``, ``conv1.*``, ``skip.{weight,resample_filter}``; epilogue ``b4.{conv,fc,out}.*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from insilico_core import ops
from insilico_core.nn import EqualizedConv2d, EqualizedLinear, MappingNetwork, MinibatchStdDev
from torch import nn

from mssg.networks.precision import compute_dtype

_FIR = (1, 3, 3, 1)


def _conv(in_ch: int, out_ch: int, kernel: int, **kwargs) -> EqualizedConv2d:
    """stylegan2-ada ``Conv2dLayer``: always carries the ``resample_filter`` buffer."""
    return EqualizedConv2d(
        in_ch, out_ch, kernel, resample_filter=kwargs.pop("resample_filter", _FIR), **kwargs
    )


class DiscriminatorBlock(nn.Module):
    """One resolution: (fromrgb), conv0 3x3, conv1 3x3 down 2, residual skip 1x1 down 2 (gain sqrt 0.5)."""

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        first_layer_idx: int,
        architecture: str = "resnet",
        activation: str = "lrelu",
        resample_filter: Sequence[float] = _FIR,
        conv_clamp: float | None = None,
        use_fp16: bool = False,
        fp16_channels_last: bool = False,
        freeze_layers: int = 0,
    ) -> None:
        if in_channels not in (0, tmp_channels):
            raise ValueError(f"in_channels must be 0 or tmp_channels ({tmp_channels}), got {in_channels}")
        if architecture not in ("orig", "skip", "resnet"):
            raise ValueError(f"architecture must be 'orig', 'skip' or 'resnet', got {architecture!r}")
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.first_layer_idx = first_layer_idx
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.register_buffer("resample_filter", ops.setup_filter(list(resample_filter)))
        self.num_layers = 0
        frozen: list[nn.Module] = []

        def add(layer: nn.Module) -> nn.Module:
            if self.first_layer_idx + self.num_layers < freeze_layers:
                frozen.append(layer)
            self.num_layers += 1
            return layer

        if in_channels == 0 or architecture == "skip":
            self.fromrgb = add(
                _conv(img_channels, tmp_channels, 1, activation=activation, conv_clamp=conv_clamp)
            )
        self.conv0 = add(_conv(tmp_channels, tmp_channels, 3, activation=activation, conv_clamp=conv_clamp))
        self.conv1 = add(
            _conv(
                tmp_channels,
                out_channels,
                3,
                activation=activation,
                down=2,
                resample_filter=resample_filter,
                conv_clamp=conv_clamp,
            )
        )
        if architecture == "resnet":
            self.skip = add(
                _conv(tmp_channels, out_channels, 1, bias=False, down=2, resample_filter=resample_filter)
            )
        for layer in frozen:  # Freeze-D: the first `freeze_layers` layers are not trained
            layer.requires_grad_(False)

    def forward(
        self, x: torch.Tensor | None, img: torch.Tensor | None, force_fp32: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features ``[N, tmp, res, res]`` and image -> ``[N, out, res/2, res/2]``."""
        device = (x if x is not None else img).device
        dtype = compute_dtype(self.use_fp16, force_fp32, device)
        if x is not None:
            x = x.to(dtype)
        if self.in_channels == 0 or self.architecture == "skip":
            img = img.to(dtype)
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = ops.downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, output_gain=np.sqrt(0.5))
            x = self.conv1(self.conv0(x), output_gain=np.sqrt(0.5))
            x = y + x
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class DiscriminatorEpilogue(nn.Module):
    """Resolution 4: minibatch-stddev, conv 3x3, fc, out (``1 + cmap_dim`` wide for 'aux')."""

    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        activation: str = "lrelu",
        conv_clamp: float | None = None,
        conditioning: Literal["aux", "projection"] = "aux",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.cmap_dim = cmap_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.architecture = architecture
        self.conditioning = conditioning
        if architecture == "skip":
            self.fromrgb = _conv(img_channels, in_channels, 1, activation=activation)
        self.mbstd = MinibatchStdDev(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = _conv(
            in_channels + mbstd_num_channels, in_channels, 3, activation=activation, conv_clamp=conv_clamp
        )
        self.fc = EqualizedLinear(in_channels * resolution**2, in_channels, activation=activation)
        out_features = 1 + cmap_dim if conditioning == "aux" else (cmap_dim or 1)
        self.out = EqualizedLinear(in_channels, out_features)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None) -> torch.Tensor:
        x = x.to(torch.float32)
        if self.architecture == "skip":
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.conditioning == "projection" and self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / np.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """``D(img [N, C, R, R], c [N, c_dim]) -> [N, 1 + c_dim]`` (MSSG 'aux') or ``[N, 1]`` ('projection').

    Args (stock names): c_dim, img_resolution, img_channels, architecture ('resnet'), channel_base,
    channel_max, num_fp16_res, conv_clamp, cmap_dim (None = c_dim for 'aux', channels at 4 for
    'projection'), block_kwargs (freeze_layers, ...), mapping_kwargs, epilogue_kwargs (mbstd_group_size, ...),
    plus ``conditioning``: 'aux' (MSSG) or 'projection' (stock).
    """

    def __init__(
        self,
        c_dim: int,
        img_resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 4,
        conv_clamp: float | None = 256,
        cmap_dim: int | None = None,
        block_kwargs: dict | None = None,
        mapping_kwargs: dict | None = None,
        epilogue_kwargs: dict | None = None,
        conditioning: Literal["aux", "projection"] = "aux",
    ) -> None:
        if conditioning not in ("aux", "projection"):
            raise ValueError(
                f"conditioning must be 'aux' (MSSG) or 'projection' (stock), got {conditioning!r}"
            )
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, got {img_resolution}")
        super().__init__()
        self.init_kwargs = dict(  # what a snapshot records to rebuild this network
            c_dim=c_dim,
            img_resolution=img_resolution,
            img_channels=img_channels,
            architecture=architecture,
            channel_base=channel_base,
            channel_max=channel_max,
            num_fp16_res=num_fp16_res,
            conv_clamp=conv_clamp,
            cmap_dim=cmap_dim,
            block_kwargs=dict(block_kwargs or {}),
            mapping_kwargs=dict(mapping_kwargs or {}),
            epilogue_kwargs=dict(epilogue_kwargs or {}),
            conditioning=conditioning,
        )
        self.c_dim = c_dim
        self.img_resolution = img_resolution
        self.img_resolution_log2 = int(np.log2(img_resolution))
        self.img_channels = img_channels
        self.conditioning = conditioning
        self.block_resolutions = [2**i for i in range(self.img_resolution_log2, 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions + [4]}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        if cmap_dim is None:
            cmap_dim = c_dim if conditioning == "aux" else channels[4]
        if c_dim == 0:
            cmap_dim = 0
        self.cmap_dim = cmap_dim
        common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
        layer_idx = 0
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                channels[res] if res < img_resolution else 0,
                channels[res],
                channels[res // 2],
                resolution=res,
                first_layer_idx=layer_idx,
                use_fp16=res >= fp16_resolution,
                **(block_kwargs or {}),
                **common,
            )
            setattr(self, f"b{res}", block)
            layer_idx += block.num_layers
        if conditioning == "projection" and c_dim > 0:
            self.mapping = MappingNetwork(
                z_dim=0, c_dim=c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None, **(mapping_kwargs or {})
            )
        self.b4 = DiscriminatorEpilogue(
            channels[4],
            cmap_dim=cmap_dim,
            resolution=4,
            conditioning=conditioning,
            **(epilogue_kwargs or {}),
            **common,
        )

    def forward(
        self, img: torch.Tensor, c: torch.Tensor | None = None, update_emas: bool = False, **block_kwargs
    ) -> torch.Tensor:
        """``img [N, img_channels, R, R]`` in [-1, 1]; ``c`` is used only by the 'projection' head."""
        if img.ndim != 4 or img.shape[1:] != (self.img_channels, self.img_resolution, self.img_resolution):
            raise ValueError(
                f"img must be [N, {self.img_channels}, {self.img_resolution}, {self.img_resolution}], "
                f"got {tuple(img.shape)}"
            )
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, **block_kwargs)
        cmap = None
        if self.conditioning == "projection" and self.c_dim > 0:
            cmap = self.mapping(None, c)
        return self.b4(x, img, cmap)
