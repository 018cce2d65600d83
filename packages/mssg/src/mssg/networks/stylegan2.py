"""StyleGAN2 generator as MSSG trains it (stylegan3 ``training/networks_stylegan2.py``, unchanged by MSSG).

``Generator(z, c)`` = ``synthesis(mapping(z, c))``. The label ``c`` is the concatenation of every covariate of
every source (see :mod:`mssg.covariates`); the mapping network embeds it and concatenates it to ``z``.
Constructor arguments, attribute names and ``state_dict()`` keys are those of the original, so snapshots load
by key; the math runs through ``insilico_core`` (``modulated_conv2d``, ``bias_act``, ``upfirdn2d``).

Synthesis ('skip' architecture by default): blocks at 4, 8, ..., ``img_resolution``; block 4 starts from a
learned constant, the others upsample by 2 in ``conv0``; every block's ``torgb`` output is added to the
upsampled running image. ``num_ws = 2 log2(R) - 2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from insilico_core import ops
from insilico_core.nn import EqualizedConv2d, EqualizedLinear, MappingNetwork, modulated_conv2d
from torch import nn

from mssg.networks.generator import ConditionalGenerator, check_ws
from mssg.networks.precision import compute_dtype

NOISE_MODES = ("random", "const", "none")


def _check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally upsampling by 2) + noise + bias + leaky ReLU + clamp.

    Keys: ``weight [out, in, k, k]``, ``noise_strength []``, ``bias [out]``, buffers
    ``resample_filter [4, 4]``, ``noise_const [res, res]`` (with ``use_noise``), child ``affine``
    (w -> styles, bias init 1).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", ops.setup_filter(list(resample_filter)))
        self.padding = kernel_size // 2
        self.act_gain = ops.ACTIVATIONS[activation].default_gain
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "random",
        fused_modconv: bool = True,
        gain: float = 1,
    ) -> torch.Tensor:
        """``x [N, in, res/up, res/up]``, ``w [N, w_dim]`` -> ``[N, out, res, res]``."""
        _check_noise_mode(noise_mode)
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
            noise = noise * self.noise_strength
        if self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise=noise,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            flip_weight=(self.up == 1),
            fused_modconv=fused_modconv,
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return ops.bias_act(
            x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain, clamp=clamp
        )


class ToRGBLayer(nn.Module):
    """1x1 modulated convolution without demodulation to image channels, + bias, clamp.

    Keys: ``weight [img_channels, in, 1, 1]``, ``bias``, child ``affine``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.conv_clamp = conv_clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        """``x [N, in, H, W]``, ``w [N, w_dim]`` -> ``[N, img_channels, H, W]``."""
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return ops.bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (const | conv0 up 2), conv1, torgb, running-image upsample."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = 256,
        use_fp16: bool = False,
        fp16_channels_last: bool = False,
        fused_modconv_default: bool | str = True,
        **layer_kwargs,
    ) -> None:
        if architecture not in ("orig", "skip", "resnet"):
            raise ValueError(f"architecture must be 'orig', 'skip' or 'resnet', got {architecture!r}")
        super().__init__()
        self.in_channels = in_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.use_fp16 = use_fp16
        self.channels_last = use_fp16 and fp16_channels_last
        self.fused_modconv_default = fused_modconv_default
        self.register_buffer("resample_filter", ops.setup_filter(list(resample_filter)))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                w_dim=w_dim,
                resolution=resolution,
                up=2,
                resample_filter=resample_filter,
                conv_clamp=conv_clamp,
                **layer_kwargs,
            )
            self.num_conv += 1
        self.conv1 = SynthesisLayer(
            out_channels,
            out_channels,
            w_dim=w_dim,
            resolution=resolution,
            conv_clamp=conv_clamp,
            **layer_kwargs,
        )
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = EqualizedConv2d(
                in_channels, out_channels, kernel_size=1, bias=False, up=2, resample_filter=resample_filter
            )

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        force_fp32: bool = False,
        fused_modconv: bool | str | None = None,
        update_emas: bool = False,
        **layer_kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``ws [N, num_conv + num_torgb, w_dim]``; returns features and the running image (float32)."""
        if ws.shape[1] != self.num_conv + self.num_torgb:
            raise ValueError(
                f"block b{self.resolution} needs {self.num_conv + self.num_torgb} ws, got {ws.shape[1]}"
            )
        w_iter = iter(ws.unbind(dim=1))
        dtype = compute_dtype(self.use_fp16, force_fp32, ws.device)
        if fused_modconv is None:
            fused_modconv = self.fused_modconv_default
        if fused_modconv == "inference_only":
            fused_modconv = not self.training

        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
        elif self.architecture == "resnet":
            x = x.to(dtype)
            y = self.skip(x, output_gain=np.sqrt(0.5))
            x = self.conv0(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, gain=np.sqrt(0.5), **layer_kwargs)
            x = y + x
        else:
            x = x.to(dtype)
            x = self.conv0(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)
            x = self.conv1(x, next(w_iter), fused_modconv=fused_modconv, **layer_kwargs)

        if img is not None:
            img = ops.upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv).to(torch.float32)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """``ws [N, num_ws, w_dim]`` -> image ``[N, img_channels, R, R]`` (nominal range [-1, 1])."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 4,
        **block_kwargs,
    ) -> None:
        if img_resolution < 4 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
        super().__init__()
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_resolution_log2 = int(np.log2(img_resolution))
        self.img_channels = img_channels
        self.num_fp16_res = num_fp16_res
        self.block_resolutions = [2**i for i in range(2, self.img_resolution_log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (self.img_resolution_log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            is_last = res == img_resolution
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0,
                channels[res],
                w_dim=w_dim,
                resolution=res,
                img_channels=img_channels,
                is_last=is_last,
                use_fp16=res >= fp16_resolution,
                **block_kwargs,
            )
            self.num_ws += block.num_conv + (block.num_torgb if is_last else 0)
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, **block_kwargs) -> torch.Tensor:
        """``ws [N, num_ws, w_dim]``; ``noise_mode``, ``fused_modconv``, ``force_fp32`` pass to the layers."""
        check_ws(ws, self.num_ws, self.w_dim)
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, cur, **block_kwargs)
        return img


class Generator(ConditionalGenerator):
    """Conditional StyleGAN2 generator: ``G(z [N, z_dim], c [N, c_dim]) -> img [N, C, R, R]``.

    Args (stock names): z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs (for
    :class:`insilico_core.nn.MappingNetwork`: num_layers 8, lr_multiplier 0.01, ...), and synthesis kwargs
    (channel_base, channel_max, num_fp16_res, conv_clamp, architecture, fused_modconv_default, ...);
    ``noise_mode='random'|'const'|'none'`` in the forward passes to the synthesis layers.
    """

    def build_synthesis(self, **kwargs) -> SynthesisNetwork:
        return SynthesisNetwork(**kwargs)

    def build_mapping(self, **kwargs) -> MappingNetwork:
        return MappingNetwork(**kwargs)
