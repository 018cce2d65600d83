"""Sample grids as PNG files: many generated (or real) images tiled into one picture for a quick look.

The layout is torchvision's ``make_grid`` / ``save_image`` (which the originals used): ``nrow`` images per
row, ``padding`` pixels of ``pad_value`` between images and around the border, so a BioGANs grid of 64 48x80
images, 8 per row with 2-px padding, is 658x402 pixels. Values are mapped from ``value_range`` to 0..255 with
``floor(x·255 + 0.5)`` after clamping, as torchvision does.

Channels: 1 -> greyscale PNG, 3 -> RGB, 2 -> red/green composite (channel 0 red, channel 1 green, blue 0), the
BioGANs convention for (cell outline, protein) pairs.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import atomic_write_bytes


def make_image_grid(
    images: torch.Tensor,
    nrow: int | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    padding: int = 2,
    pad_value: int = 0,
) -> np.ndarray:
    """Tile ``images`` ``[N, C, H, W]`` (C = 1, 2, 3) into uint8 ``[H', W']`` (C = 1) or ``[H', W', 3]``.

    ``nrow`` is the number of images per row (default ``ceil(sqrt(N))``); ``value_range`` is the (low, high)
    of the input mapped to (0, 255); ``pad_value`` (0..255) fills the gaps.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a tensor [N, C, H, W], got {shape}")
    count, channels, height, width = images.shape
    if count == 0:
        raise ValueError("images must hold at least one image")
    if channels not in (1, 2, 3):
        raise ValueError(f"images must have 1, 2 or 3 channels, got {channels}")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    if padding < 0 or not 0 <= pad_value <= 255:
        raise ValueError(f"padding must be >= 0 and pad_value in 0..255, got {padding}, {pad_value}")
    if nrow is not None and nrow <= 0:
        raise ValueError(f"nrow must be a positive number of images per row, got {nrow}")
    columns = min(nrow or math.ceil(math.sqrt(count)), count)
    rows = math.ceil(count / columns)

    scaled = ((images.detach().float().cpu() - low) / (high - low)).clamp(0.0, 1.0)
    pixels = (scaled * 255.0 + 0.5).floor().to(torch.uint8)
    if channels == 2:
        pixels = torch.cat([pixels, torch.zeros_like(pixels[:, :1])], dim=1)
    out_channels = pixels.shape[1]

    grid = torch.full(
        (out_channels, rows * (height + padding) + padding, columns * (width + padding) + padding),
        pad_value,
        dtype=torch.uint8,
    )
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top : top + height, left : left + width] = pixels[index]
    array = grid.permute(1, 2, 0).numpy()
    return array[:, :, 0] if out_channels == 1 else array


def save_image_grid(
    images: torch.Tensor,
    path: str | os.PathLike[str],
    nrow: int | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    padding: int = 2,
    pad_value: int = 0,
) -> Path:
    """Write :func:`make_image_grid` of ``images`` ``[N, C, H, W]`` to the PNG file ``path`` (atomically).

    Parent folders are created; returns the path written.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"sample grids are written as PNG; {path} should end in .png")
    grid = make_image_grid(images, nrow=nrow, value_range=value_range, padding=padding, pad_value=pad_value)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())
