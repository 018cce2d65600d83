"""neurons: neuron-gan folder layout, 8-bit 512x512 PNGs with one connected, branching arbor."""

from __future__ import annotations

import numpy as np
import pytest
from insilico_core.data.simulate import simulate
from insilico_core.data.simulate.neurons import render_neuron
from PIL import Image
from scipy.ndimage import convolve
from skimage.filters import threshold_multiotsu
from skimage.measure import label
from skimage.morphology import skeletonize


@pytest.fixture(scope="module")
def neuron_root(tmp_path_factory):
    return simulate("neurons", tmp_path_factory.mktemp("science_2022"), n=3, seed=4)


def test_flat_folder_of_8bit_grayscale_512(neuron_root):
    files = sorted(neuron_root.iterdir())
    assert [f.name for f in files] == [f"neuron_{i:04d}.png" for i in range(3)]
    for path in files:
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (512, 512)


def _branch_points(skeleton: np.ndarray) -> int:
    neighbours = convolve(skeleton.astype(int), np.ones((3, 3), int), mode="constant") - skeleton
    return int((skeleton & (neighbours >= 3)).sum())


@pytest.mark.parametrize("index", [0, 1, 2])
def test_one_connected_branching_arbor(neuron_root, index):
    with Image.open(neuron_root / f"neuron_{index:04d}.png") as image:
        pixels = np.asarray(image)
    foreground = pixels > 60
    components = np.bincount(label(foreground, connectivity=2).ravel())[1:]
    assert foreground.sum() > 2000
    assert components.max() >= 0.98 * components.sum()  # one arbor, not scattered specks
    assert _branch_points(skeletonize(foreground)) > 20
    # neuron-gan estimates its background noise from pixels with 0 < v < t0 (multi-Otsu, 4 classes)
    t0 = threshold_multiotsu(pixels, classes=4)[0]
    background = pixels[(pixels > 0) & (pixels < t0)]
    assert background.size > 10000 and background.std() > 1.0
    assert (pixels == 0).mean() < 0.01


def test_same_seed_same_image_and_size_option():
    a = render_neuron(np.random.default_rng(9), image_size=128)
    b = render_neuron(np.random.default_rng(9), image_size=128)
    assert a.shape == (128, 128) and a.dtype == np.uint8
    assert np.array_equal(a, b)
