"""Turning generated sequences into the original's image files, and into ImageJ hyperstacks.

The original writes each domain of a sequence ``[domains, T, H, W]`` (values in [0, 1]) as one RGB strip of
its T frames side by side: brightfield grey, GFP in the green channel only, RFP in the red channel only,
quantised like torchvision's ``save_image``: ``uint8(clamp(x * 255 + 0.5, 0, 255))``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import write_imagej_hyperstack, write_png

__all__ = [
    "DOMAIN_NAMES",
    "domain_rgb",
    "frames_side_by_side",
    "save_sequence_pngs",
    "save_sequence_tiff",
    "to_uint8",
]

DOMAIN_NAMES = ("bf", "gfp", "rfp")
# RGB channels a domain is shown in: grey, green, red
_DOMAIN_COLOURS = ((0, 1, 2), (1,), (0,))


def to_uint8(values: torch.Tensor) -> np.ndarray:
    """[0, 1] floats -> uint8 as torchvision's ``save_image`` quantises (``x * 255 + 0.5``, clamped)."""
    return values.detach().float().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).cpu().numpy()


def frames_side_by_side(frames: torch.Tensor) -> torch.Tensor:
    """``[T, H, W]`` -> ``[H, T * W]``: the time steps left to right."""
    return torch.cat(list(frames), dim=-1)


def domain_rgb(image: torch.Tensor, domain: int) -> np.ndarray:
    """``[H, W]`` values of ``domain`` (0 BF, 1 GFP, 2 RFP) -> ``[H, W, 3]`` uint8 in its display colour."""
    grey = to_uint8(image)
    rgb = np.zeros((*grey.shape, 3), dtype=np.uint8)
    for channel in _DOMAIN_COLOURS[domain]:
        rgb[..., channel] = grey
    return rgb


def save_sequence_pngs(
    sequence: torch.Tensor, folder: str | os.PathLike, prefix: str, index: int
) -> list[Path]:
    """Write ``<folder>/<prefix>_<domain>_<index>.png`` per domain of ``sequence [domains, T, H, W]``, each a
    ``T*W`` x ``H`` RGB strip: the original's ``sample_bf_3.png`` or ``prediction_ema_10_gfp_3.png``."""
    folder = Path(folder)
    return [
        write_png(
            folder / f"{prefix}_{DOMAIN_NAMES[domain]}_{index}.png",
            domain_rgb(frames_side_by_side(frames), domain),
        )
        for domain, frames in enumerate(sequence)
    ]


def save_sequence_tiff(sequence: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write ``sequence [domains, T, H, W]`` as an ImageJ hyperstack (T frames, domains as channels, float32
    values as generated), which Fiji opens with a time slider and one channel per domain."""
    array = sequence.detach().float().cpu().numpy().transpose(1, 0, 2, 3)[:, None]  # [T, Z=1, C, H, W]
    names = [DOMAIN_NAMES[d].upper() for d in range(sequence.shape[0])]
    return write_imagej_hyperstack(path, np.ascontiguousarray(array, dtype=np.float32), channel_names=names)
