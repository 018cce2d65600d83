"""Per-pixel noise injection with a learned strength (StyleGAN).

``y = x + strength * noise`` with ``noise [N, 1, H, W] ~ N(0, 1)`` shared over channels. The strength is
one learned scalar whose name and shape differ between codebases: rosinality / Multi-StyleGAN
``weight [1]`` (the default here), stylegan2-ada ``noise_strength []`` (``strength_name='noise_strength',
strength_shape=()``). stylegan2-ada keeps it inside ``SynthesisLayer`` rather than in a child module; that
layer adds the parameter itself and passes ``noise * noise_strength`` to ``modulated_conv2d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class NoiseInjection(nn.Module):
    """Add ``strength * noise`` to the input.

    Args:
        strength_name: parameter name of the strength ('weight' or 'noise_strength').
        strength_shape: its shape: ``(1,)`` rosinality / Multi-StyleGAN, ``()`` stylegan2-ada.
    """

    def __init__(self, strength_name: str = "weight", strength_shape: Sequence[int] = (1,)) -> None:
        super().__init__()
        self.strength_name = strength_name
        self.register_parameter(strength_name, nn.Parameter(torch.zeros(list(strength_shape))))

    @property
    def strength(self) -> torch.Tensor:
        """The learned strength parameter (initialised to 0)."""
        return self._parameters[self.strength_name]

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``x [N, C, H, W]`` -> ``x + strength * noise``.

        ``noise``: a tensor broadcastable to ``x`` (normally ``[N, 1, H, W]`` or ``[1, 1, H, W]``, standard
        normal); None draws ``[N, 1, H, W]`` from ``generator`` (or the global RNG).
        """
        if noise is None:
            noise = torch.randn(
                [x.shape[0], 1, x.shape[2], x.shape[3]], device=x.device, dtype=x.dtype, generator=generator
            )
        return x + self.strength.to(x.dtype) * noise.to(x.dtype)
