"""mssg-dataset-tool crop / resize modes against hand-made references, Morpho-MNIST idx input, the JSON
split-source test split, and NIfTI slices written into and read back from a zip dataset root."""

from __future__ import annotations

import gzip
import json
import zipfile

import numpy as np
import pytest
import torch
from insilico_core.data import write_nifti
from mssg.data import CovariateImageDataset
from mssg.dataset_tool import convert_dataset, make_transform
from PIL import Image


def test_center_crop_wide_letterboxes_and_drops_small_images():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    out = make_transform("center-crop-wide", (8, 4))(image)
    band = image[3:9]  # round(8 * 12 / 16) = 6 centred rows
    expected = np.zeros((8, 8, 3), np.uint8)
    expected[2:6] = np.array(Image.fromarray(band).resize((8, 4), Image.LANCZOS))
    np.testing.assert_array_equal(out, expected)
    assert make_transform("center-crop-wide", (32, 4))(image) is None  # narrower than the output


def test_center_crop_and_plain_resize():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (10, 6), dtype=np.uint8)
    cropped = make_transform("center-crop", (4, 4))(image)
    np.testing.assert_array_equal(
        cropped, np.array(Image.fromarray(image[2:8]).resize((4, 4), Image.LANCZOS))
    )
    scaled = make_transform(None, (3, 5))(image)
    np.testing.assert_array_equal(scaled, np.array(Image.fromarray(image).resize((3, 5), Image.BICUBIC)))
    assert make_transform(None, None)(image) is image
    with pytest.raises(ValueError, match="needs --resolution"):
        make_transform("center-crop-wide", None)


def _idx(path, array: np.ndarray) -> None:
    magic = 2048 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_morpho_mnist_idx_source_pads_digits_and_reads_idx1_labels(tmp_path):
    rng = np.random.default_rng(2)
    for prefix, n in (("train", 10), ("t10k", 3)):
        _idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
        rows = ["index,thickness,intensity,slant"] + [f"{i},{1 + i / 10},{100 + i},{i - 5}" for i in range(n)]
        (tmp_path / f"{prefix}-morpho.csv").write_text("\n".join(rows))
    counts = {
        w: convert_dataset(tmp_path, tmp_path / "out", "mnist-thickness-intensity-slant", None, w)
        for w in ("train", "val", "test")
    }
    assert counts == {"train": 8, "val": 2, "test": 3}
    perm = np.random.RandomState(42).permutation(10)
    labels = json.loads((tmp_path / "out/valset/dataset.json").read_text())["labels"]
    first = int(perm[0])  # val = the first ceil(0.2 * 10) of the permutation
    assert labels[0][1] == {
        "thickness": 1 + first / 10,
        "intensity": 100.0 + first,
        "slant": first - 5.0,
        "label": float(first % 10),
    }
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz") as f:
        digits = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10, 28, 28)
    written = np.asarray(Image.open(tmp_path / "out/valset" / labels[0][0]))
    np.testing.assert_array_equal(written, np.pad(digits[first], 2))

    # the original's command line names the idx file itself: same split, same images and labels
    idx_file = tmp_path / "train-images-idx3-ubyte.gz"
    assert convert_dataset(idx_file, tmp_path / "out2", "mnist-thickness-intensity-slant", None, "val") == 2
    assert (tmp_path / "out2/valset/dataset.json").read_text() == (
        tmp_path / "out/valset/dataset.json"
    ).read_text()
    with pytest.raises(ValueError, match="--which_dataset test reads t10k-images-idx3-ubyte.gz"):
        convert_dataset(idx_file, tmp_path / "out3", "mnist-thickness-intensity-slant", None, "test")
    with pytest.raises(ValueError, match="a file source must be"):
        convert_dataset(tmp_path / "train-morpho.csv", tmp_path / "out3", "mnist", None, "train")


def test_split_source_json_writes_every_row_for_test(tmp_path):
    rows = []
    for i in range(5):
        Image.fromarray(np.full((4, 4), i, np.uint8)).save(tmp_path / f"{i}.png")
        rows.append([f"{i}.png", {"thickness": float(i)}])
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    count = convert_dataset(tmp_path, tmp_path / "out", "mnist", tmp_path / "rows.json", "test")
    labels = json.loads((tmp_path / "out/testset/dataset.json").read_text())["labels"]
    assert count == 5 and [label["thickness"] for _, label in labels] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_mri_slices_in_a_zip_root_read_like_a_folder(tmp_path):
    rng = np.random.default_rng(3)
    rows = ["path,age,ventricle,grey_matter"]
    for i in range(8):
        write_nifti(tmp_path / "src" / f"{i}.nii.gz", rng.normal(0, 1, (4, 2, 4)).astype(np.float32))
        rows.append(f"{i}.nii.gz,{50 + i},{1000 + 10 * i},{5000 - 10 * i}")
    (tmp_path / "t.csv").write_text("\n".join(rows))
    for which in ("train", "val", "test"):
        for dest in (tmp_path / "root", tmp_path / "root.zip"):
            convert_dataset(tmp_path / "src", dest, "ukb", tmp_path / "t.csv", which, source_type="ukb")
    with zipfile.ZipFile(tmp_path / "root.zip") as archive:
        assert "trainset/00000/img00000000.nii.gz" in archive.namelist()
    folder = CovariateImageDataset(tmp_path / "root", "ukb", "source2", mode="test")
    archive = CovariateImageDataset(tmp_path / "root.zip", "ukb", "source2", mode="test")
    assert len(folder) == len(archive) == 3
    for k in range(len(folder)):
        assert torch.equal(folder[k][0], archive[k][0]) and torch.equal(folder[k][1], archive[k][1])
    assert folder[0][0].shape == (1, 4, 4) and folder[0][0].dtype == torch.uint8
    with pytest.raises(ValueError, match="already holds testset"):
        convert_dataset(
            tmp_path / "src", tmp_path / "root.zip", "ukb", tmp_path / "t.csv", "test", source_type="ukb"
        )
