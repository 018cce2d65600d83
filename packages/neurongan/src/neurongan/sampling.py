"""Latent sampling and sample grids as in neuron-gan (``utils.sample_latent_vec``, ``plot_gen_samples``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from insilico_core.train import save_image_grid

from .models import GeneratorPG

LATENT_CLAMP = 5.0


def sample_latent(
    n: int, latent_dim: int = 512, seed: int | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """``n`` unit-L2 latent vectors ``[n, latent_dim]``: standard normal, clamped to +-5, divided by the norm.

    Drawn on the CPU (then moved to ``device``) as the original does. ``seed=None`` draws from torch's global
    generator (the training loop's order of draws); an integer seed uses a private generator, so the result is
    the original's ``sample_latent_vec(..., seed=seed)`` bit for bit and the global generator is untouched.
    """
    if n < 1 or latent_dim < 1:
        raise ValueError(f"n and latent_dim must be positive, got n={n}, latent_dim={latent_dim}")
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, latent_dim, generator=generator).clamp(-LATENT_CLAMP, LATENT_CLAMP)
    z = z / z.norm(p=2, dim=1, keepdim=True)
    return z.to(device)


@torch.no_grad()
def generate(generator: GeneratorPG, n: int, seed: int | None = None, batch_size: int = 16) -> torch.Tensor:
    """``n`` images ``[n, C, r, r]`` in (-1, 1) at the generator's current resolution and fade (eval mode)."""
    device = next(generator.parameters()).device
    z = sample_latent(n, generator.latent_dim, seed=seed)
    was_training = generator.training
    generator.eval()
    try:
        images = [generator(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)]
    finally:
        generator.train(was_training)
    return torch.cat(images)


def save_sample_grid(
    images: torch.Tensor, path: str | os.PathLike[str], final_size: int | None = None, nrow: int | None = None
) -> Path:
    """Write the original's sample grid PNG: nearest-upsampled to ``final_size``, min-max scaled jointly,
    ``nrow = round(sqrt(n))`` images per row (unless given), 2-px black padding, RGB (gray replicated).

    One image is written alone without padding, as torchvision's ``make_grid`` does.
    ``images``: ``[n, 1, r, r]``; the PNG is ``rows * (S + 2) + 2`` by ``nrow * (S + 2) + 2`` pixels.
    """
    images = images.detach().float().cpu()
    if final_size is not None and images.shape[-1] != final_size:
        images = F.interpolate(images, size=(final_size, final_size), mode="nearest")
    count = images.shape[0]
    if nrow is None:
        nrow = max(1, int(round(math.sqrt(count))))
    low, high = float(images.min()), float(images.max())
    if high <= low:
        high = low + 1e-5
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return save_image_grid(images, path, nrow=nrow, value_range=(low, high), padding=0 if count == 1 else 2)
