"""StyleGAN3 (alias-free) generator, configs T and R (NVlabs stylegan3 ``training/networks_stylegan3.py``).

``Generator(z, c)``: a 2-layer mapping network (:class:`insilico_core.nn.MappingNetwork`), then
``SynthesisInput`` (Fourier features with a learned rotation/translation) and ``num_layers + 1`` layers
``L{i}_{size}_{channels}`` of modulated convolution followed by ``filtered_lrelu`` (upsample, leaky ReLU,
downsample with Kaiser-designed filters), the last being ToRGB; output scaled by ``output_scale`` (0.25).
Keys, attribute names and the layer geometry are the original's; design buffers (``freqs``, ``phases``,
``transform``, ``up_filter``, ``down_filter``) are loaded from checkpoints, never re-derived.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from insilico_core.nn import EqualizedLinear, MappingNetwork
from insilico_core.ops.filtered_lrelu import filtered_lrelu
from torch import nn

from mssg.networks.filter_design import design_lowpass_filter
from mssg.networks.generator import ConditionalGenerator, check_ws
from mssg.networks.precision import compute_dtype


def modulated_conv2d_sg3(
    x: torch.Tensor,
    w: torch.Tensor,
    s: torch.Tensor,
    demodulate: bool = True,
    padding: int = 0,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """StyleGAN3's modulated convolution: RMS-normalised weight and styles, demodulation, input gain.

    ``x [N, I, H, W]``, ``w [O, I, k, k]``, ``s [N, I]``, ``input_gain`` broadcastable to ``[N, I]``
    -> ``[N, O, H + 2 padding - k + 1, ...]`` (one grouped convolution).
    """
    batch_size = x.shape[0]
    out_channels, in_channels, kh, kw = w.shape
    if demodulate:
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()
    w = w.unsqueeze(0) * s.unsqueeze(1).unsqueeze(3).unsqueeze(4)  # [N, O, I, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        w = w * dcoefs.unsqueeze(2).unsqueeze(3).unsqueeze(4)
    if input_gain is not None:
        w = w * input_gain.expand(batch_size, in_channels).unsqueeze(1).unsqueeze(3).unsqueeze(4)
    x = x.reshape(1, -1, *x.shape[2:])
    x = F.conv2d(x, w.reshape(-1, in_channels, kh, kw).to(x.dtype), padding=padding, groups=batch_size)
    return x.reshape(batch_size, -1, *x.shape[2:])


def _fully_connected(
    in_features: int,
    out_features: int,
    weight_init: float = 1.0,
    bias_init: float | list[float] = 0.0,
    **kwargs,
) -> EqualizedLinear:
    """StyleGAN3 ``FullyConnectedLayer`` (weight std ``weight_init``, bias initialised to a vector)."""
    layer = EqualizedLinear(in_features, out_features, init_std=weight_init, **kwargs)
    with torch.no_grad():
        layer.bias.copy_(
            torch.as_tensor(np.array(np.broadcast_to(np.asarray(bias_init, np.float32), [out_features])))
        )
    return layer


class SynthesisInput(nn.Module):
    """Fourier features ``[N, channels, size, size]`` rotated and translated by ``affine(w)``."""

    def __init__(
        self, w_dim: int, channels: int, size: int | list[int], sampling_rate: float, bandwidth: float
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = np.broadcast_to(np.asarray(size), [2])
        self.sampling_rate = sampling_rate
        self.bandwidth = bandwidth
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = _fully_connected(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))  # user-specified inverse transform of the image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """``w [N, w_dim]`` -> ``[N, channels, size_y, size_x]``."""
        n = w.shape[0]
        t = self.affine(w)  # (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).unsqueeze(0).repeat([n, 1, 1])
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device).unsqueeze(0).repeat([n, 1, 1])
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ self.transform.unsqueeze(0)
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        amplitudes = (
            1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        ).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size[0] / self.sampling_rate
        theta[1, 1] = 0.5 * self.size[1] / self.sampling_rate
        grids = F.affine_grid(
            theta.unsqueeze(0), [1, 1, int(self.size[1]), int(self.size[0])], align_corners=False
        )
        x = (grids.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2)) * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv + filtered leaky ReLU between two sampling rates (one ``L{i}_{size}_{channels}``)."""

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        use_fp16: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: float,
        out_sampling_rate: float,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.is_torgb = is_torgb
        self.is_critically_sampled = is_critically_sampled
        self.use_fp16 = use_fp16
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.in_size = np.broadcast_to(np.asarray(in_size), [2])
        self.out_size = np.broadcast_to(np.asarray(out_size), [2])
        self.in_sampling_rate = in_sampling_rate
        self.out_sampling_rate = out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (
            1 if is_torgb else lrelu_upsampling
        )
        self.in_cutoff = in_cutoff
        self.out_cutoff = out_cutoff
        self.in_half_width = in_half_width
        self.out_half_width = out_half_width
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta

        self.affine = _fully_connected(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(
            torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel])
        )
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer(
            "up_filter",
            design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2, self.tmp_sampling_rate),
        )
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter",
            design_lowpass_filter(
                self.down_taps,
                out_cutoff,
                out_half_width * 2,
                self.tmp_sampling_rate,
                radial=self.down_radial,
            ),
        )

        # Padding so that the output has out_size samples (symmetric interpretation, StyleGAN3 appendix C.3).
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo[0]), int(pad_hi[0]), int(pad_lo[1]), int(pad_hi[1])]

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "random",
        force_fp32: bool = False,
        update_emas: bool = False,
    ) -> torch.Tensor:
        """``x [N, in, in_size, in_size]``, ``w [N, w_dim]`` -> ``[N, out, out_size, out_size]``."""
        if update_emas:
            magnitude = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel**2))
        x = modulated_conv2d_sg3(
            x.to(compute_dtype(self.use_fp16, force_fp32, x.device)),
            self.weight,
            styles,
            demodulate=not self.is_torgb,
            padding=self.conv_kernel - 1,
            input_gain=input_gain,
        )
        gain = 1 if self.is_torgb else np.sqrt(2)
        slope = 1 if self.is_torgb else 0.2
        return filtered_lrelu(
            x,
            self.up_filter,
            self.down_filter,
            self.bias.to(x.dtype),
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=gain,
            slope=slope,
            clamp=self.conv_clamp,
        )


class SynthesisNetwork(nn.Module):
    """``ws [N, num_layers + 2, w_dim]`` -> image ``[N, img_channels, R, R]``."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        num_fp16_res: int = 4,
        **layer_kwargs,
    ) -> None:
        super().__init__()
        self.w_dim = w_dim
        self.num_ws = num_layers + 2
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.num_layers = num_layers
        self.num_critical = num_critical
        self.margin_size = margin_size
        self.output_scale = output_scale
        self.num_fp16_res = num_fp16_res

        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels

        self.input = SynthesisInput(
            w_dim=w_dim,
            channels=int(channels[0]),
            size=int(sizes[0]),
            sampling_rate=sampling_rates[0],
            bandwidth=cutoffs[0],
        )
        self.layer_names = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim,
                is_torgb=idx == num_layers,
                is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(sampling_rates[idx] * 2**num_fp16_res > img_resolution),
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=int(sizes[prev]),
                out_size=int(sizes[idx]),
                in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[idx]),
                in_cutoff=cutoffs[prev],
                out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev],
                out_half_width=half_widths[idx],
                **layer_kwargs,
            )
            name = f"L{idx}_{layer.out_size[0]}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, **layer_kwargs) -> torch.Tensor:
        """``noise_mode`` is accepted for API compatibility (StyleGAN3 has no noise inputs)."""
        check_ws(ws, self.num_ws, self.w_dim)
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:], strict=True):
            x = getattr(self, name)(x, w, **layer_kwargs)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


class Generator(ConditionalGenerator):
    """Conditional StyleGAN3 generator: ``G(z [N, z_dim], c [N, c_dim]) -> img [N, C, R, R]``.

    ``mapping_kwargs`` default to StyleGAN3's mapping (2 layers); synthesis kwargs as
    :class:`SynthesisNetwork` / :class:`SynthesisLayer` (channel_base, conv_kernel, use_radial_filters,
    magnitude_ema_beta, ...).
    """

    def build_synthesis(self, **kwargs) -> SynthesisNetwork:
        return SynthesisNetwork(**kwargs)

    def build_mapping(self, **kwargs) -> MappingNetwork:
        return MappingNetwork(**{"num_layers": 2, **kwargs})
