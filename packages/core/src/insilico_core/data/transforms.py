"""Joint random crop / flip / rot90 for paired images and masks.

Every tensor of one call receives the SAME random window, flips and rotation, so an image and its mask (or a
confocal / STED pair, or a BF / GFP sequence) stay pixel-aligned. Tensors are ``[..., H, W]`` with equal
``H, W``; leading axes (channels, time) may differ between tensors. Randomness comes from an explicit
``torch.Generator`` (or torch's global RNG when none is given), so a seeded generator replays the same
augmentations. These are exact index operations (no interpolation), so plain torch is used rather than
kornia's resampling augmentations, whose parameters are drawn from the global RNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Size2d = int | tuple[int, int]


def random_crop(
    tensors: Sequence[torch.Tensor], size: Size2d, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, ...]:
    """Crop the same uniformly placed ``size`` (``h`` or ``(h, w)``) window from every tensor."""
    height, width = _common_plane(tensors)
    crop_h, crop_w = (size, size) if isinstance(size, int) else size
    if not (0 < crop_h <= height and 0 < crop_w <= width):
        raise ValueError(f"crop size {(crop_h, crop_w)} does not fit images of size {(height, width)}")
    top = int(torch.randint(height - crop_h + 1, (1,), generator=generator))
    left = int(torch.randint(width - crop_w + 1, (1,), generator=generator))
    return tuple(t[..., top : top + crop_h, left : left + crop_w] for t in tensors)


def random_flip(
    tensors: Sequence[torch.Tensor],
    horizontal: bool = True,
    vertical: bool = True,
    p: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, ...]:
    """Flip all tensors left-right and/or up-down, each with probability ``p``, the same way for all."""
    _common_plane(tensors)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"flip probability p must be in [0, 1], got {p}")
    flip_x, flip_y = (torch.rand(2, generator=generator) < p).tolist()
    dims = [dim for dim, flip in ((-1, horizontal and flip_x), (-2, vertical and flip_y)) if flip]
    return tuple(t.flip(dims) if dims else t for t in tensors)


def random_rot90(
    tensors: Sequence[torch.Tensor], generator: torch.Generator | None = None
) -> tuple[torch.Tensor, ...]:
    """Rotate all tensors by the same uniformly drawn multiple of 90 degrees (in the ``H, W`` plane)."""
    _common_plane(tensors)
    turns = int(torch.randint(4, (1,), generator=generator))
    return tuple(torch.rot90(t, turns, dims=(-2, -1)) if turns else t for t in tensors)


class JointRandomTransform:
    """Crop (optional), flips and rot90 applied jointly to paired tensors: ``a, b = transform(a, b)``.

    Args:
        crop_size: output ``h`` or ``(h, w)``, or None for no crop.
        horizontal_flip, vertical_flip: enable each flip (probability ``flip_p``).
        rot90: enable a random multiple of 90 degrees.
        generator: source of randomness; pass a seeded ``torch.Generator`` for reproducibility.
    """

    def __init__(
        self,
        crop_size: Size2d | None = None,
        horizontal_flip: bool = True,
        vertical_flip: bool = True,
        rot90: bool = True,
        flip_p: float = 0.5,
        generator: torch.Generator | None = None,
    ) -> None:
        self.crop_size = crop_size
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rot90 = rot90
        self.flip_p = flip_p
        self.generator = generator

    def __call__(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.crop_size is not None:
            tensors = random_crop(tensors, self.crop_size, self.generator)
        if self.horizontal_flip or self.vertical_flip:
            tensors = random_flip(
                tensors, self.horizontal_flip, self.vertical_flip, self.flip_p, self.generator
            )
        if self.rot90:
            tensors = random_rot90(tensors, self.generator)
        return tuple(tensors)


def _common_plane(tensors: Sequence[torch.Tensor]) -> tuple[int, int]:
    if not tensors:
        raise ValueError("no tensors given to transform")
    planes = {tuple(t.shape[-2:]) for t in tensors}
    if any(t.ndim < 2 for t in tensors) or len(planes) != 1:
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ValueError(f"joint transforms need tensors [..., H, W] with equal H, W; got shapes {shapes}")
    return planes.pop()
