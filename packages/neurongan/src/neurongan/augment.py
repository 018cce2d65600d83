"""neuron-gan's training augmentations (torchvision's RandomAffine, RandomVerticalFlip, ColorJitter as the
original composes them), written for a batch ``[B, 1, H, W]`` of values in [0, 1] with per-image random
parameters, so they run per sample in a DataLoader worker or per batch on the training device.

Random numbers come from torch's current generator (the worker's or the main process's); streams are not
torchvision's, only the distributions are.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

JITTER = 0.25


def random_rotate_translate(x: torch.Tensor, max_translation: float) -> torch.Tensor:
    """Rotate each image by a uniform angle in [-180, 180) degrees about its centre and shift it by integer
    pixels up to ``max_translation`` (pixels) in x and y; nearest-neighbour sampling, zeros outside."""
    batch, _, height, width = x.shape
    device = x.device
    angle = (torch.rand(batch, device=device) * 2 - 1) * math.pi
    shift = torch.round((torch.rand(batch, 2, device=device) * 2 - 1) * max_translation)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output pixel p samples the input at R^-1 (p - t); normalised coordinates of a square image
    theta = torch.stack(
        [
            torch.stack([cos, sin, -(cos * shift[:, 0] + sin * shift[:, 1]) * 2 / width], dim=1),
            torch.stack([-sin, cos, (sin * shift[:, 0] - cos * shift[:, 1]) * 2 / height], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_vertical_flip(x: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Flip each image upside down with probability ``p``."""
    flip = torch.rand(x.shape[0], device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-2), x)


def random_brightness_contrast(x: torch.Tensor, strength: float = JITTER) -> torch.Tensor:
    """ColorJitter(brightness=strength, contrast=strength) on [0, 1] images, per image in random order.

    Brightness multiplies by ``b``; contrast blends with the image mean, ``c x + (1 - c) mean``; both factors
    are uniform in ``[1 - strength, 1 + strength]`` and each step clamps to [0, 1].
    """
    batch = x.shape[0]
    view = (batch, 1, 1, 1)
    b = (1 + (torch.rand(batch, device=x.device) * 2 - 1) * strength).to(x.dtype).view(view)
    c = (1 + (torch.rand(batch, device=x.device) * 2 - 1) * strength).to(x.dtype).view(view)
    brightness_first = (torch.rand(batch, device=x.device) < 0.5).view(view)

    def brightness(y):
        return (y * b).clamp(0, 1)

    def contrast(y):
        return (c * y + (1 - c) * y.mean(dim=(1, 2, 3), keepdim=True)).clamp(0, 1)

    return torch.where(brightness_first, contrast(brightness(x)), brightness(contrast(x)))


def augment(x: torch.Tensor, max_translation: float) -> torch.Tensor:
    """The original's order: rotation + translation, vertical flip, brightness/contrast jitter."""
    return random_brightness_contrast(random_vertical_flip(random_rotate_translate(x, max_translation)))
