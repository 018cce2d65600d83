"""Differentiable geometric transforms used by adaptive discriminator augmentation.

All functions take a batch ``x`` of shape ``[N, C, H, W]`` (any value range, any float dtype) and return a
tensor of the same shape; every transform acts identically on all ``C`` planes of a sample, which is how one
transform is shared by all frames and channels of a Multi-StyleGAN sequence. Gradients flow to ``x``.
"""

from __future__ import annotations

import torch
from kornia.geometry.transform import get_affine_matrix2d, warp_affine


def xflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror along the width axis (the last axis)."""
    return x.flip(dims=(-1,))


def rotate90(x: torch.Tensor, quarter_turns: int) -> torch.Tensor:
    """Rotate square images by ``quarter_turns * 90`` degrees counter-clockwise, exactly (no resampling).

    Same result as ``kornia.geometry.rotate`` by that angle about ``((W-1)/2, (H-1)/2)`` with
    ``align_corners=True``, which Multi-StyleGAN uses, minus its float round-off.
    """
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"90-degree rotation needs square images, got height {x.shape[-2]}, width {x.shape[-1]}"
        )
    return torch.rot90(x, k=quarter_turns % 4, dims=(-2, -1))


def integer_translate(x: torch.Tensor, shift_y: int, shift_x: int) -> torch.Tensor:
    """Shift circularly by whole pixels: ``shift_y`` rows down and ``shift_x`` columns right."""
    return torch.roll(x, shifts=(shift_y, shift_x), dims=(-2, -1))


def rotate_scale(x: torch.Tensor, angle_deg: torch.Tensor, scale_xy: torch.Tensor) -> torch.Tensor:
    """Rotate by ``angle_deg`` and scale by ``scale_xy`` about the point ``c = (W/2, H/2)``.

    In pixel coordinates ``(x, y)`` (y pointing down) a source point moves to ``c + R S (src - c)`` with
    ``R = [[cos a, -sin a], [sin a, cos a]]`` and ``S = diag(scale_x, scale_y)`` (scale, then rotate).

    Bilinear resampling, reflection padding, ``align_corners=True`` (pixel centres at integer coordinates), as
    Multi-StyleGAN's ``kornia.augmentation.functional.apply_affine`` calls. The centre ``(W/2, H/2)`` is the
    original's choice, half a pixel off the geometric centre ``((W-1)/2, (H-1)/2)``.

    Args:
        x: ``[N, C, H, W]``.
        angle_deg: ``[N]`` rotation angles in degrees.
        scale_xy: ``[N, 2]`` scale factors along x (width) and y (height); values > 1 enlarge the content.
    """
    n, _, height, width = x.shape
    if angle_deg.shape != (n,) or scale_xy.shape != (n, 2):
        raise ValueError(
            f"expected angle_deg [{n}] and scale_xy [{n}, 2], "
            f"got {list(angle_deg.shape)} and {list(scale_xy.shape)}"
        )
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    options = {"device": x.device, "dtype": dtype}
    center = torch.tensor([width / 2, height / 2], **options).expand(n, 2)
    matrix = get_affine_matrix2d(
        translations=torch.zeros(n, 2, **options),
        center=center,
        scale=scale_xy.to(**options),
        angle=angle_deg.to(**options),
    )
    warped = warp_affine(
        x.to(dtype),
        matrix[:, :2, :],
        dsize=(height, width),
        mode="bilinear",
        padding_mode="reflection",
        align_corners=True,
    )
    return warped.to(x.dtype)
