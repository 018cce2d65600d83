"""The dataset on the core's neurons simulator: background statistics (against scikit-image), noise padding,
the exact no-augmentation path, per-stage resizing, augmentations, and clear errors on bad folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from neurongan.augment import random_brightness_contrast, random_rotate_translate, random_vertical_flip
from neurongan.background import background_noise_stats, multiotsu_thresholds, pad_with_noise
from neurongan.data import DeviceBatches, NeuronDataset
from PIL import Image


def _between_class_score(image, thresholds):
    """Sum over classes of (sum of values)^2 / count, with class k = (t_{k-1}, t_k] (Otsu's criterion)."""
    values = image.astype(np.float64).ravel()
    edges = [-np.inf, *thresholds, np.inf]
    score = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        members = values[(values > low) & (values <= high)]
        score += members.sum() ** 2 / max(len(members), 1)
    return score


def test_multiotsu_finds_the_optimum_scikit_image_finds():
    filters = pytest.importorskip("skimage.filters")
    rng = np.random.default_rng(0)
    for _ in range(5):
        image = (rng.random((48, 48)) ** 2 * 255).astype(np.uint8)
        ours, theirs = multiotsu_thresholds(image), filters.threshold_multiotsu(image, classes=4)
        # same criterion; on near-ties scikit-image's float32 search may pick a neighbour
        assert _between_class_score(image, ours) >= _between_class_score(image, theirs) * (1 - 1e-9)
        assert np.abs(ours - theirs).max() <= 1


def test_background_statistics_match_the_original_recipe(neuron_folder):
    filters = pytest.importorskip("skimage.filters")
    dataset = NeuronDataset(neuron_folder, augmentations=False)
    assert len(dataset) == 4
    for i, path in enumerate(dataset.filenames):
        array = np.array(Image.open(path))
        t0 = filters.threshold_multiotsu(array, classes=4)[0]
        noise = array[(array > 0) & (array < t0)]
        assert dataset.images_noise_mean[i] == pytest.approx(noise.mean())
        assert dataset.images_noise_std[i] == pytest.approx(noise.std())


def test_padding_replaces_every_zero_with_background_noise():
    image = np.full((8, 8), 200, dtype=np.uint8)
    image[3, 3] = 0
    padded = pad_with_noise(image, 4, mean=20.0, std=3.0, rng=np.random.default_rng(0))
    assert padded.shape == (16, 16) and padded.dtype == np.uint8
    assert (padded[4:12, 4:12][image != 0] == 200).all()
    border = np.concatenate([padded[:4].ravel(), padded[12:].ravel()])
    assert 15 < border.mean() < 25 and padded[7, 7] != 0
    with pytest.raises(ValueError, match="background"):
        background_noise_stats(np.repeat(np.array([0, 1, 2, 3], dtype=np.uint8), 4).reshape(4, 4))


def test_without_augmentations_samples_are_exactly_the_file_scaled_to_minus_one_one(neuron_folder):
    dataset = NeuronDataset(neuron_folder, augmentations=False)
    array = np.array(Image.open(dataset.filenames[1]))
    sample = dataset[1]
    assert sample.shape == (1, 512, 512) and sample.dtype == torch.float32
    expected = torch.from_numpy(array).float()[None] / 255 * 2 - 1
    nonzero = torch.from_numpy(array != 0)[None]
    torch.testing.assert_close(sample[nonzero], expected[nonzero], rtol=0, atol=1e-6)
    assert (sample[~nonzero] > -1).all()  # zero pixels inside the image get background noise, as the original
    expected = sample.clone()
    dataset.set_image_size(64)
    resized = F.interpolate(
        expected[None], size=(64, 64), mode="bilinear", antialias=True, align_corners=False
    )
    torch.testing.assert_close(dataset[1], resized[0], rtol=0, atol=1e-5)


def test_augmented_samples_stay_in_range_and_vary(neuron_folder):
    torch.manual_seed(0)
    dataset = NeuronDataset(neuron_folder, augmentations=True, translation=0.05)
    dataset.set_image_size(32)
    a, b = dataset[0], dataset[0]
    assert a.shape == (1, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, b)


def test_rotation_by_nearest_sampling_only_moves_pixels_and_flip_flips():
    torch.manual_seed(1)
    x = torch.arange(64.0).view(1, 1, 8, 8).repeat(6, 1, 1, 1)
    rotated = random_rotate_translate(x, max_translation=0.0)
    assert set(rotated.unique().tolist()) <= set(range(64))
    flipped = random_vertical_flip(x, p=1.0)
    assert torch.equal(flipped, x.flip(-2))
    assert torch.equal(random_vertical_flip(x, p=0.0), x)
    jittered = random_brightness_contrast(torch.rand(8, 1, 4, 4))
    assert jittered.min() >= 0 and jittered.max() <= 1


def test_shift_without_rotation_is_an_integer_translation():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1
    torch.manual_seed(2)
    moved = random_rotate_translate(x, max_translation=2.0)
    assert moved.sum() <= 1  # nearest sampling never smears the dot


def test_folder_errors_are_clear(tmp_path, neuron_folder):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NeuronDataset(tmp_path / "absent")
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(rgb / "a.png")
    with pytest.raises(ValueError, match="single-channel"):
        NeuronDataset(rgb, image_size=32)
    deep = tmp_path / "deep"
    deep.mkdir()
    Image.fromarray(np.full((32, 32), 1000, dtype=np.uint16)).save(deep / "a.png")
    with pytest.raises(ValueError, match="8-bit"):
        NeuronDataset(deep, image_size=32)
    with pytest.raises(ValueError, match="256x256 pixels"):
        NeuronDataset(neuron_folder, image_size=256)
    with pytest.raises(ValueError, match="at least 8"):
        NeuronDataset(neuron_folder, min_images=8)


def test_hidden_and_non_image_files_are_skipped(tmp_path, tiny_neuron_folder):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for path in sorted(tiny_neuron_folder.glob("*.png"))[:2]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / "notes.txt").write_text("not an image")
    dataset = NeuronDataset(folder, image_size=32, augmentations=False)
    assert [p.name for p in dataset.filenames] == ["neuron_0000.png", "neuron_0001.png"]


def test_device_batches_cover_the_dataset_each_pass(tiny_neuron_folder):
    dataset = NeuronDataset(tiny_neuron_folder, image_size=32, augmentations=False)
    dataset.set_image_size(16)
    loader = DeviceBatches(dataset, batch_size=3, device=torch.device("cpu"))
    batches = list(loader)
    assert len(loader) == 2 and [b.shape for b in batches] == [(3, 1, 16, 16), (1, 1, 16, 16)]
    every = torch.cat(batches)
    expected = torch.stack([dataset[i] for i in range(len(dataset))])
    assert sorted(every.sum(dim=(1, 2, 3)).tolist()) == pytest.approx(
        sorted(expected.sum(dim=(1, 2, 3)).tolist())
    )
