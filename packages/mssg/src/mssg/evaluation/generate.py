"""Sampling helpers shared by the evaluation commands (MSSG ``utils.generate_images``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def set_input_transform(G: nn.Module, translate: tuple[float, float] = (0, 0), rotate: float = 0) -> None:
    """StyleGAN3 only: set ``synthesis.input.transform`` to the inverse of a rotation (deg) + translation."""
    layer = getattr(getattr(G, "synthesis", None), "input", None)
    if layer is None or not hasattr(layer, "transform"):
        return
    angle = rotate / 360 * np.pi * 2
    m = np.array(
        [
            [np.cos(angle), np.sin(angle), translate[0]],
            [-np.sin(angle), np.cos(angle), translate[1]],
            [0, 0, 1],
        ]
    )
    layer.transform.copy_(torch.from_numpy(np.linalg.inv(m)))


def generate_images(
    G: nn.Module, z: torch.Tensor, c: torch.Tensor, truncation_psi: float = 1.0, noise_mode: str = "const"
) -> torch.Tensor:
    """``G(z, c)`` as uint8 ``[N, C, H, W]`` via ``clamp(img * 127.5 + 128, 0, 255)`` (MSSG's conversion)."""
    device = next(G.parameters()).device
    with torch.no_grad():
        img = G(z.to(device), c.to(device), truncation_psi=truncation_psi, noise_mode=noise_mode)
    return (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu()


def generate_for_labels(
    G: nn.Module,
    labels: torch.Tensor,
    batch_size: int = 64,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """uint8 images for each row of ``labels [N, c_dim]`` with fresh latents ``z ~ N(0, 1)``."""
    out = []
    for chunk in labels.split(batch_size):
        z = torch.randn([len(chunk), G.z_dim], generator=generator)
        out.append(generate_images(G, z, chunk.float(), truncation_psi, noise_mode))
    return torch.cat(out)
