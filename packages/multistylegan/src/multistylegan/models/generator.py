"""Multi-StyleGAN generator: a StyleGAN2 mapping network and a synthesis network of dual-styled blocks.

One style vector per layer modulates two weight sets, one per domain: the "_1" modules (brightfield, BF)
own the modulation mappings and hand the style they computed to their "_2" twins (GFP). The output is a
sequence of 3 time steps per domain: ``[B, 2 (BF, GFP), 3, H, W]``, trained against data in [0, 1].

The original wires the GFP output heads to the BF features (``output_blocks_2[i](x1, ...)``), so
``main_convolutions_2`` never reach the output: their weights stay in the state dict (strict loading of
the released checkpoints) but are not computed unless ``compute_dead_branch`` is set, which halves the
cost with identical outputs. ``wire_gfp_branch=True`` in the config gives the intended wiring (GFP heads
read GFP features) for new trainings; it is a different model from the released one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from insilico_core.nn import PixelNorm
from torch import autograd, nn

from .layers import (
    ConstantInput,
    OutputBlock,
    StyledConv2d,
    equalized_linear,
    leaky_relu_gain_one,
)

__all__ = ["Generator", "StyleMapping"]


class StyleMapping(nn.Module):
    """z ``[B, D]`` -> w ``[B, D]``: pixel norm, then ``depth`` x (EqualizedLinear without bias, bias + leaky
    ReLU with gain 1). Keys ``layers.{2m+1}.weight``, ``layers.{2m+2}.bias``.

    The pixel norm divides by ``sqrt(mean(z^2) + 1e-8)`` as the original does (``divide=True``; the
    default multiplication by ``rsqrt`` differs in the last bit)."""

    def __init__(self, latent_dimensions: int = 512, depth: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = [PixelNorm(divide=True)]
        for _ in range(depth):
            layers += [
                equalized_linear(latent_dimensions, latent_dimensions, bias=False),
                leaky_relu_gain_one(latent_dimensions),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class Generator(nn.Module):
    """The Multi-StyleGAN generator; ``Generator(config=GENERATOR_CONFIG)`` has the original's 201
    state-dict entries in the original order.

    With ``len(channels) = S + 1`` stages the output is ``4 * 2**S`` pixels square (256 for the original
    S = 6) and there are ``2 S + 2`` w vectors ("layers"): one for the starting convolution, one for the
    starting output block, then per stage the upsampling convolution, the 3x3 convolution and the output
    block share consecutive indices (``2i+1, 2i+2, 2i+3``).
    """

    def __init__(self, config: dict[str, Any], compute_dead_branch: bool = False) -> None:
        super().__init__()
        channels = [int(c // config["channel_factor"]) for c in config["channels"]]
        self.out_channels = 3
        self.latent_dimensions: int = config["latent_dimensions"]
        self.starting_resolution: tuple[int, int] = tuple(config["starting_resolution"])
        self.wire_gfp_branch: bool = bool(config.get("wire_gfp_branch", False))
        # Computing main_convolutions_2 never changes the output of the original wiring; it only costs time
        self.compute_dead_branch = compute_dead_branch
        style_dim = self.latent_dimensions

        self.style_mapping = StyleMapping(self.latent_dimensions, config["depth_style_mapping"])
        self.constant_input_1 = ConstantInput(channels[0], self.starting_resolution)
        self.constant_input_2 = ConstantInput(channels[0], self.starting_resolution)
        self.starting_convolution_1 = StyledConv2d(channels[0], channels[0], 3, style_dim)
        self.starting_convolution_2 = StyledConv2d(
            channels[0], channels[0], 3, style_dim, modulation_mapping=False
        )
        self.starting_output_block_1 = OutputBlock(channels[0], style_dim, self.out_channels)
        self.starting_output_block_2 = OutputBlock(
            channels[0], style_dim, self.out_channels, modulation_mapping=False
        )
        self.main_convolutions_1 = nn.ModuleList()
        self.output_blocks_1 = nn.ModuleList()
        self.main_convolutions_2 = nn.ModuleList()
        self.output_blocks_2 = nn.ModuleList()
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            self.main_convolutions_1.append(StyledConv2d(c_in, c_out, 2, style_dim, upsampling=True))
            self.main_convolutions_1.append(StyledConv2d(c_out, c_out, 3, style_dim))
            self.output_blocks_1.append(OutputBlock(c_out, style_dim, self.out_channels, upsampling=True))
            self.main_convolutions_2.append(
                StyledConv2d(c_in, c_out, 2, style_dim, upsampling=True, modulation_mapping=False)
            )
            self.main_convolutions_2.append(
                StyledConv2d(c_out, c_out, 3, style_dim, modulation_mapping=False)
            )
            self.output_blocks_2.append(
                OutputBlock(c_out, style_dim, self.out_channels, upsampling=True, modulation_mapping=False)
            )
        # Fixed noise maps (saved in checkpoints): used with randomize_noise=False
        self.noises = nn.Module()
        self.noises.register_buffer("noise_start", torch.randn(1, 1, *self.starting_resolution))
        for stage in range(len(channels) - 1):
            size = 2 ** (stage + 3)
            self.noises.register_buffer(f"noise_{2 * stage}", torch.randn(1, 1, size, size))
            self.noises.register_buffer(f"noise_{2 * stage + 1}", torch.randn(1, 1, size, size))

    @property
    def num_layers(self) -> int:
        """Number of w vectors per sample (14 for the original)."""
        return len(self.main_convolutions_1) + 2

    @property
    def resolution(self) -> int:
        """Output side length in pixels (256 for the original)."""
        return self.starting_resolution[0] * 2 ** len(self.output_blocks_1)

    def get_parameters(self, lr_main: float = 1e-3, lr_style: float = 1e-5) -> list[dict[str, Any]]:
        """The original's 11 Adam parameter groups, in its order (optimizer state dicts index into it)."""
        modules = [
            self.constant_input_1,
            self.starting_convolution_1,
            self.starting_output_block_1,
            self.main_convolutions_1,
            self.output_blocks_1,
            self.constant_input_2,
            self.starting_convolution_2,
            self.starting_output_block_2,
            self.main_convolutions_2,
            self.output_blocks_2,
        ]
        groups = [{"params": list(module.parameters()), "lr": lr_main} for module in modules]
        groups.append({"params": list(self.style_mapping.parameters()), "lr": lr_style})
        return groups

    def _latents(
        self, input: torch.Tensor | Sequence[torch.Tensor], inject_index: int | None, input_is_latent: bool
    ) -> torch.Tensor:
        """Per-layer w vectors ``[B, num_layers, D]`` from z, a pair of z (style mixing) or w / W+."""
        layers = self.num_layers
        if input_is_latent:
            if not torch.is_tensor(input):
                raise TypeError("input_is_latent=True expects one tensor [B, D] or [B, layers or 1, D]")
            if input.ndim < 3:
                return input.unsqueeze(1).repeat(1, layers, 1)
            if input.shape[1] == layers:
                return input
            if input.shape[1] == 1:
                return input.repeat(1, layers, 1)
            raise ValueError(
                f"W+ input must have {layers} or 1 rows in dim 1, got shape {tuple(input.shape)}"
            )
        if isinstance(input, (list, tuple)):
            if len(input) < 2:
                raise ValueError("style mixing expects a list of two latent tensors")
            styles = [self.style_mapping(z) for z in input]
            if inject_index is None:
                inject_index = int(np.random.randint(1, layers - 1))
            first = styles[0].unsqueeze(1).repeat(1, inject_index, 1)
            second = styles[1].unsqueeze(1).repeat(1, layers - inject_index, 1)
            return torch.cat((first, second), dim=1)
        return self.style_mapping(input).unsqueeze(1).repeat(1, layers, 1)

    def forward(
        self,
        input: torch.Tensor | Sequence[torch.Tensor],
        return_main_style_vectors: bool = False,
        noise: Sequence[torch.Tensor] | None = None,
        randomize_noise: bool = True,
        inject_index: int | None = None,
        input_is_latent: bool = False,
        return_path_length_grads: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Generate sequences ``[B, 2, 3, H, W]`` (the original signature and semantics).

        input: z ``[B, D]``; a list of two z (style mixing at ``inject_index``, random in 1..layers-2 when
        None); or with ``input_is_latent`` w ``[B, D]`` / W+ ``[B, layers, D]`` / ``[B, 1, D]``.
        noise: ``layers - 1`` maps (start, then one per main convolution), shared by both domains; else the
        saved ``noises.*`` buffers when ``randomize_noise`` is False; else fresh N(0, 1) per layer.
        return_path_length_grads: returns ``d(sum(image * n))/d latents`` ``[B, layers, D]`` with
        ``n ~ N(0, 1) / sqrt(3 H W)`` (graph kept for the path-length penalty).
        return_main_style_vectors: returns ``(image, latents)``.
        """
        latent = self._latents(input, inject_index, input_is_latent)
        convolutions = len(self.main_convolutions_1)
        if noise is not None:
            noise_start, noise = noise[0], list(noise[1:])
        elif randomize_noise:
            noise_start, noise = None, [None] * convolutions
        else:
            noise_start = self.noises.noise_start
            noise = [getattr(self.noises, f"noise_{index}") for index in range(convolutions)]
        gfp_features_needed = self.wire_gfp_branch or self.compute_dead_branch

        x1, style = self.starting_convolution_1(
            self.constant_input_1(latent), latent[:, 0], noise=noise_start
        )
        x2 = self.starting_convolution_2(self.constant_input_2(latent), style, noise=noise_start)
        skip1, style = self.starting_output_block_1(x1, latent[:, 1])
        skip2 = self.starting_output_block_2(x2, style)
        for stage in range(convolutions // 2):
            up, conv = 2 * stage, 2 * stage + 1
            x1, style = self.main_convolutions_1[up](x1, latent[:, up + 1], noise=noise[up])
            if gfp_features_needed:
                x2 = self.main_convolutions_2[up](x2, style, noise=noise[up])
            x1, style = self.main_convolutions_1[conv](x1, latent[:, conv + 1], noise=noise[conv])
            if gfp_features_needed:
                x2 = self.main_convolutions_2[conv](x2, style, noise=noise[conv])
            skip1, style = self.output_blocks_1[stage](x1, latent[:, conv + 2], skip=skip1)
            # Original wiring: the GFP head reads the BF features x1 (spec section 4.3)
            skip2 = self.output_blocks_2[stage](x2 if self.wire_gfp_branch else x1, style, skip=skip2)
        image = torch.stack([skip1, skip2], dim=1)

        if return_path_length_grads:
            projection = torch.randn(image.shape, device=image.device, dtype=image.dtype)
            projection = projection / np.sqrt(image.shape[2] * image.shape[3] * image.shape[4])
            (grad,) = autograd.grad(outputs=(image * projection).sum(), inputs=latent, create_graph=True)
            return grad
        if return_main_style_vectors:
            return image, latent
        return image
