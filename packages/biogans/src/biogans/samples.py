"""Sample grids as the original writes them (``save_images``): 8 images per row, 2-px padding, red / green
composites (blue 0), one file per class for conditional and multi-channel images."""

from __future__ import annotations

from pathlib import Path

import torch
from insilico_core.train import save_image_grid


def class_images(images: torch.Tensor, n_classes: int) -> list[torch.Tensor] | None:
    """Per-class 2-channel batches of conditional ``[K, B, 2, H, W]`` or multi-channel ``[B, K+1, H, W]``
    images (class k = channels [0, k+1]); None for plain 2-channel batches."""
    if images.dim() == 5:
        return list(images)
    if images.dim() == 4 and images.shape[1] == n_classes + 1 and n_classes > 1:
        return [images[:, [0, k + 1]] for k in range(n_classes)]
    if images.dim() == 4:
        return None
    raise ValueError(f"expected images [B, C, H, W] or [K, B, C, H, W], got {tuple(images.shape)}")


def save_sample_grids(images: torch.Tensor, prefix: str | Path, class_names: list[str]) -> list[Path]:
    """Write ``<prefix>.png`` (or ``<prefix>_<Class>.png`` per class) of images in [-1, 1]; returns paths."""
    prefix = Path(prefix)
    per_class = class_images(images, len(class_names))
    if per_class is None:
        return [save_image_grid(images, prefix.with_name(prefix.name + ".png"), nrow=8)]
    if len(per_class) != len(class_names):
        raise ValueError(f"{len(per_class)} classes of images but {len(class_names)} class names")
    return [
        save_image_grid(batch, prefix.with_name(f"{prefix.name}_{name}.png"), nrow=8)
        for batch, name in zip(per_class, class_names, strict=True)
    ]
