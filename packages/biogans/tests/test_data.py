"""LIN data: dataset types on the fission-yeast simulator, splits, neighbours, bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from biogans.data import (
    BatchStream,
    CompositeNeighbourDataset,
    ConditionalCachedDataset,
    FolderCachedDataset,
    FolderDataset,
    make_dataset,
    make_loader,
)
from biogans.nearest_neighbors import build_neighbour_file, read_class_images
from biogans.splits import make_splits, split_files
from insilico_core.data import read_image
from insilico_core.data.simulate import simulate

CLASSES = ["Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1"]


@pytest.fixture(scope="module")
def lin(tmp_path_factory):
    return simulate("fission-yeast", tmp_path_factory.mktemp("lin") / "train", n=36, seed=0)


def test_folder_cached_matches_the_original_pixel_pipeline(lin):
    data = FolderCachedDataset(lin, random_flips=False, image_size=(48, 80))
    assert data.classes == CLASSES and len(data) == 36
    image, label = data[7]
    path, _ = data.samples[7]
    raw = read_image(path).array.astype(np.float32)  # [48, 80, 3] uint8
    expected = torch.from_numpy((raw.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5)
    assert label == 1 and image.shape == (3, 48, 80) and torch.allclose(image, expected)
    assert data.cache[path].dtype == np.uint8


def test_flips_are_vertical_then_horizontal_from_python_random(lin):
    data = FolderCachedDataset(lin, random_flips=True)
    plain = FolderCachedDataset(lin, random_flips=False)[0][0]
    random.seed(3)
    draws = [random.random() < 0.5, random.random() < 0.5]
    random.seed(3)
    flipped = data[0][0]
    expected = plain.flip(1) if draws[0] else plain
    expected = expected.flip(2) if draws[1] else expected
    assert torch.equal(flipped, expected)


def test_conditional_layout_loader_and_stream(lin, tmp_path):
    splits = make_splits(lin, tmp_path / "splits", num_splits=2, layout="conditional")
    data = ConditionalCachedDataset(splits / "split0" / "train", random_flips=False)
    assert data.classes == CLASSES
    assert all(len(d) == 3 for d in data.class_datasets.values())  # 6 images: 3 test, 3 train
    loader = make_loader(data, batch_size=2, shuffle=True, seed=1)
    assert len(loader) == 1
    stream = BatchStream(loader, nc=2, passes=2)
    batches = list(stream)
    assert len(batches) == 2 and batches[0].shape == (6, 2, 2, 48, 80) and stream.epoch == 2
    with pytest.raises(ValueError, match="fewer than one batch"):
        make_loader(data, batch_size=4, shuffle=True)


def test_splits_are_the_original_halves(lin, tmp_path):
    names = sorted(p.name for p in (lin / "Tea1").iterdir())
    for k in range(3):
        train, test = split_files(names, k)
        shuffled = sorted(names)
        random.Random(k + 1).shuffle(shuffled)  # random.seed(k + 1); random.shuffle(...)
        assert test == shuffled[: len(names) // 2] and train == shuffled[len(names) // 2 :]
    target = make_splits(lin, tmp_path / "joint", num_splits=1, classes=["Tea1"])
    linked = sorted(p.name for p in (target / "split0" / "test" / "Tea1").iterdir())
    assert linked == sorted(split_files(names, 0)[1])
    assert (target / "split0" / "test" / "Tea1" / linked[0]).is_symlink()
    with pytest.raises(FileExistsError):
        make_splits(lin, target)
    with pytest.raises(ValueError, match="no class folder Fim1"):
        make_splits(lin, tmp_path / "other", classes=["Fim1"])


def test_red_neighbours_and_composites(lin, tmp_path):
    path = build_neighbour_file([lin], lin, tmp_path / "nn.pth", num_neighbors=2)
    table = torch.load(path, weights_only=True)
    images, names = read_class_images(lin, CLASSES, num_channels=1)
    for query_class in ("Alp14", "Sid2"):
        query_name = names[query_class][0]
        assert table[query_name][query_class][0] == query_name  # an image finds itself first
        distances = ((images["Tea1"] - images[query_class][0]) ** 2).flatten(1).sum(1)
        assert table[query_name]["Tea1"] == [
            names["Tea1"][int(i)] for i in distances.argsort(stable=True)[:2]
        ]
    composite = CompositeNeighbourDataset(lin, table, random_flips=False)
    image, label = composite[0]
    assert image.shape == (7, 48, 80) and label == 0
    raw = composite.cache[composite.samples[0][0]]
    outside = torch.from_numpy(raw[0] == 0)
    assert torch.all(image[:, outside] == -1)  # every channel is masked by the red channel


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        FolderCachedDataset(tmp_path / "missing")
    (tmp_path / "data" / "Empty").mkdir(parents=True)
    with pytest.raises(ValueError, match="Empty holds no images"):
        FolderCachedDataset(tmp_path / "data")
    root = simulate("fission-yeast", tmp_path / "lin", n=1, seed=0, classes=("Tea1",))
    with pytest.raises(ValueError, match="--image_height/--image_width are 64x64"):
        FolderCachedDataset(root, image_size=(64, 64))


def test_dataset_type_is_matched_in_full_in_any_case(lin):
    assert type(make_dataset("FOLDER-Cached", lin)) is FolderCachedDataset
    assert type(make_dataset("folder", lin)) is FolderDataset
    with pytest.raises(ValueError, match="unknown dataset type 'folder-c'"):
        make_dataset("folder-c", lin)
    with pytest.raises(ValueError, match="needs --red_nn_file"):
        make_dataset("Fake-MultiChannel", lin)
