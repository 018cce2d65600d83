"""Joint crop / flip / rot90 keep paired tensors aligned and are reproducible from a generator."""

from __future__ import annotations

import pytest
import torch
from insilico_core.data import JointRandomTransform, random_crop, random_flip, random_rot90


def _coordinates(height: int, width: int) -> torch.Tensor:
    """[2, H, W]: channel 0 = row index, channel 1 = column index; every pixel is unique."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows, cols]).float()


def test_joint_transform_keeps_image_and_mask_aligned():
    transform = JointRandomTransform(crop_size=(9, 7), generator=torch.Generator().manual_seed(0))
    for _ in range(50):
        image = _coordinates(16, 12)
        mask = image[1:].clone().long()  # the column channel, as an integer mask with fewer channels
        out_image, out_mask = transform(image, mask)
        assert out_image.shape[-2:] == out_mask.shape[-2:]
        assert torch.equal(out_image[1].long(), out_mask[0])


def test_same_seed_replays_the_same_augmentations():
    image = _coordinates(10, 10)
    first = JointRandomTransform(8, generator=torch.Generator().manual_seed(5))
    replay = JointRandomTransform(8, generator=torch.Generator().manual_seed(5))
    for _ in range(10):
        assert torch.equal(first(image)[0], replay(image)[0])


def test_crop_window_is_a_contiguous_sub_block():
    image = _coordinates(20, 30)
    generator = torch.Generator().manual_seed(1)
    seen_offsets = set()
    for _ in range(40):
        (crop,) = random_crop([image], (5, 6), generator)
        top, left = int(crop[0, 0, 0]), int(crop[1, 0, 0])
        assert torch.equal(crop, image[:, top : top + 5, left : left + 6])
        seen_offsets.add((top, left))
    assert len(seen_offsets) > 20  # the window moves


def test_flips_and_rotations_are_the_dihedral_operations():
    image = _coordinates(6, 6)
    generator = torch.Generator().manual_seed(2)
    results = set()
    for _ in range(200):
        (out,) = random_rot90(random_flip([image], generator=generator), generator)
        results.add(tuple(out.flatten().tolist()))
    assert len(results) == 8  # all symmetries of the square appear, nothing else
    dihedral = set()
    for turns in range(4):
        for flipped in (image, image.flip(-1)):
            dihedral.add(tuple(torch.rot90(flipped, turns, (-2, -1)).flatten().tolist()))
    assert results == dihedral


def test_rot90_four_times_is_identity_and_flip_p_edges():
    image = _coordinates(5, 7)
    generator = torch.Generator().manual_seed(3)
    out = image
    for _ in range(4):
        out = torch.rot90(out, 1, (-2, -1))
    assert torch.equal(out, image)
    assert torch.equal(random_flip([image], p=0.0, generator=generator)[0], image)
    assert torch.equal(random_flip([image], vertical=False, p=1.0, generator=generator)[0], image.flip(-1))
    assert torch.equal(random_flip([image], horizontal=False, p=1.0, generator=generator)[0], image.flip(-2))


def test_mismatched_or_oversized_inputs_raise():
    with pytest.raises(ValueError, match="equal H, W"):
        random_flip([torch.zeros(3, 4, 4), torch.zeros(4, 5)])
    with pytest.raises(ValueError, match="does not fit"):
        random_crop([torch.zeros(4, 4)], 5)
    with pytest.raises(ValueError, match="no tensors"):
        random_rot90([])
