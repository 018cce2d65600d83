"""Fixtures of the neurongan tests: one torch thread (tiny tensors run fastest that way, and the shared test
machine is oversubscribed), and simulated neuron folders (the core's ``neurons`` simulator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from insilico_core.data.simulate import simulate
from PIL import Image


@pytest.fixture(autouse=True)
def _one_torch_thread(single_torch_thread):
    """Every neurongan test runs on one torch thread (the root conftest's ``single_torch_thread``)."""


@pytest.fixture(scope="session")
def neuron_folder(tmp_path_factory) -> Path:
    """Four simulated 512x512 8-bit neuron images in a flat folder (the original dataset layout)."""
    folder = tmp_path_factory.mktemp("neurons")
    simulate("neurons", folder, 4, 0)
    return folder


@pytest.fixture(scope="session")
def tiny_neuron_folder(neuron_folder, tmp_path_factory) -> Path:
    """The simulated neurons downscaled to 32x32 (for training tests with image_size 32)."""
    folder = tmp_path_factory.mktemp("tiny_neurons")
    for path in sorted(neuron_folder.glob("*.png")):
        Image.open(path).resize((32, 32), Image.BILINEAR).save(folder / path.name)
    return folder
