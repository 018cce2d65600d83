"""AdaAugmentPipeline and its geometric transforms: identities, oracles, sharing across frames, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from insilico_core.augment import (
    STAGES,
    STYLEGAN2_ADA_SCALE_STD,
    AdaAugmentPipeline,
    rotate90,
    rotate_scale,
)
from scipy import ndimage


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=_generator(seed))


@pytest.mark.parametrize("shape", [(3, 2, 8, 8), (3, 2, 3, 8, 8)], ids=["images", "sequences"])
def test_p_zero_is_exact_identity(shape):
    x = _images(*shape)
    out = AdaAugmentPipeline()(x, p=0.0, generator=_generator())
    assert torch.equal(out, x)


def test_xflip_at_p_one_matches_torch_flip():
    x = _images(4, 3, 8, 8)
    out = AdaAugmentPipeline(stages=["xflip"])(x, p=1.0, generator=_generator())
    assert torch.equal(out, torch.flip(x, dims=(-1,)))


def test_rotate90_at_p_one_is_one_quarter_turn_for_the_whole_batch():
    x = _images(5, 2, 8, 8)
    for seed in range(6):
        out = AdaAugmentPipeline(stages=["rotate90"])(x, p=1.0, generator=_generator(seed))
        matches = [k for k in range(4) if torch.equal(out, torch.rot90(x, k, dims=(-2, -1)))]
        assert len(matches) == 1


def test_rotate90_agrees_with_kornia_rotate():
    from kornia.geometry.transform import rotate

    x = _images(2, 1, 8, 8)
    for angle, turns in [(90.0, 1), (-90.0, -1), (180.0, 2)]:
        reference = rotate(x, torch.full((2,), angle), align_corners=True)
        torch.testing.assert_close(rotate90(x, turns), reference, atol=1e-5, rtol=0)


def test_integer_translation_is_one_circular_shift_within_an_eighth():
    x = _images(4, 2, 16, 16)
    out = AdaAugmentPipeline(stages=["xint"])(x, p=1.0, generator=_generator(3))
    shifts = [
        (dy, dx)
        for dy in range(-2, 3)
        for dx in range(-2, 3)
        if torch.equal(out, torch.roll(x, shifts=(dy, dx), dims=(-2, -1)))
    ]
    assert len(shifts) == 1  # int(16 * u), |u| < 0.125 -> |shift| <= 1; one shift for the whole batch


def _scipy_rotate_scale(image: np.ndarray, angle_deg: float, scale_x: float, scale_y: float) -> np.ndarray:
    """Independent oracle: invert src -> c + R S (src - c); bilinear, mirror padding (scipy.ndimage)."""
    height, width = image.shape
    theta = math.radians(angle_deg)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    forward_xy = rotation @ np.diag([scale_x, scale_y])
    inverse_xy = np.linalg.inv(forward_xy)
    inverse_yx = inverse_xy[::-1, ::-1]  # scipy works in (row, column) = (y, x)
    center_yx = np.array([height / 2, width / 2])
    offset = center_yx - inverse_yx @ center_yx
    return ndimage.affine_transform(image, inverse_yx, offset=offset, order=1, mode="mirror")


@pytest.mark.parametrize("angle, scale_x, scale_y", [(30.0, 1.0, 1.0), (0.0, 1.3, 1.3), (-75.0, 0.8, 1.2)])
def test_rotate_scale_matches_scipy(angle, scale_x, scale_y):
    x = _images(1, 1, 9, 11, seed=1).double()
    out = rotate_scale(x, torch.tensor([angle]), torch.tensor([[scale_x, scale_y]]))
    reference = _scipy_rotate_scale(x[0, 0].numpy(), angle, scale_x, scale_y)
    np.testing.assert_allclose(out[0, 0].numpy(), reference, atol=1e-6)


def test_identity_affine_keeps_the_image():
    x = _images(2, 3, 8, 8)
    out = rotate_scale(x, torch.zeros(2), torch.ones(2, 2))
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_same_transform_for_every_frame_and_channel():
    """All stages are linear, so frames that are multiples of one image stay multiples after augmentation."""
    base = _images(6, 1, 1, 12, 12)
    factors = torch.arange(1.0, 7.0).view(1, 2, 3, 1, 1)  # [B, C=2, T=3, H, W]
    sequence = base * factors
    pipeline = AdaAugmentPipeline(scale_std=STYLEGAN2_ADA_SCALE_STD)
    out = pipeline(sequence, p=1.0, generator=_generator(7))
    assert out.shape == sequence.shape
    assert not torch.allclose(out, sequence)
    torch.testing.assert_close(out, out[:, :1, :1] * factors, atol=1e-5, rtol=1e-5)


def test_samples_are_augmented_independently():
    x = _images(1, 1, 8, 8).expand(64, 1, 8, 8).contiguous()
    out = AdaAugmentPipeline(stages=["xflip"])(x, p=0.5, generator=_generator(2))
    flipped = [torch.equal(sample, x[0].flip(-1)) for sample in out]
    kept = [torch.equal(sample, x[0]) for sample in out]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert 0 < sum(flipped) < 64


@pytest.mark.parametrize("stage, expected_fraction", [("xflip", 0.3), ("rotate", 0.3)])
def test_stage_probabilities(stage, expected_fraction):
    """xflip runs with p; each of the two rotations with 1 - sqrt(1 - p), so one or both run with p."""
    n = 4000
    x = _images(1, 1, 6, 6).expand(n, 1, 6, 6).contiguous()
    out = AdaAugmentPipeline(stages=[stage])(x, p=0.3, generator=_generator(11))
    changed = (out - x).abs().flatten(1).amax(dim=1) > 1e-6
    fraction = changed.float().mean().item()
    assert abs(fraction - expected_fraction) < 4 * math.sqrt(0.3 * 0.7 / n)


def test_gradients_flow_to_the_input():
    x = _images(3, 2, 2, 8, 8).requires_grad_(True)
    weights = _images(3, 2, 2, 8, 8, seed=5)
    out = AdaAugmentPipeline(scale_std=STYLEGAN2_ADA_SCALE_STD)(x, p=1.0, generator=_generator(4))
    (out * weights).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_rotate_scale_gradcheck():
    x = _images(2, 1, 5, 5).double().requires_grad_(True)
    angle = torch.tensor([20.0, -110.0], dtype=torch.float64)
    scale = torch.tensor([[1.1, 0.9], [0.95, 0.95]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: rotate_scale(t, angle, scale), (x,), eps=1e-6, atol=1e-5)


def test_seeded_generator_reproduces():
    x = _images(4, 2, 8, 8)
    pipeline = AdaAugmentPipeline()
    first = pipeline(x, p=0.7, generator=_generator(9))
    second = pipeline(x, p=0.7, generator=_generator(9))
    assert torch.equal(first, second)


def test_bad_arguments():
    pipeline = AdaAugmentPipeline()
    with pytest.raises(ValueError, match="p must be in"):
        pipeline(_images(1, 1, 4, 4), p=1.5)
    with pytest.raises(ValueError, match="square"):
        pipeline(_images(1, 1, 4, 6), p=0.5)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        pipeline(_images(4, 4), p=0.5)
    with pytest.raises(ValueError, match="unknown augmentation stages"):
        AdaAugmentPipeline(stages=["cutout"])
    assert set(STAGES) == {"xflip", "rotate90", "xint", "scale", "rotate", "aniso"}
