"""Dataset modes on the real sample files and on simulated data, the preprocessing pipeline against PIL's
operations (what the original used), and errors on bad input."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from insilico_core.data.simulate import simulate
from PIL import Image
from tagan.data.datasets import create_dataset
from tagan.data.modes import resolve_dataset_mode
from tagan.data.transforms import TransformParams, block_means, decision_map, to_8bit, transform_channel
from tagan.options import default_options


def load_first(model: str, root: Path, phase: str, **overrides) -> dict:
    opt = default_options(model, is_train=True, dataroot=str(root), phase=phase, **overrides)
    random.seed(0)
    return create_dataset(opt)[0]


def assert_tensor(tensor: torch.Tensor, shape: tuple, low: float, high: float) -> None:
    assert tuple(tensor.shape) == shape and tensor.dtype == torch.float32
    assert tensor.min() >= low - 1e-6 and tensor.max() <= high + 1e-6


EIGHT_BIT_STEP = 2 / 255


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("model", "folder", "phase", "overrides", "expected"),
    [
        (
            "TAGAN_AxonalRings",
            "AxonalRingsDataset",
            "train",
            {},
            {"confocal": (1, 128, 128), "STED": (1, 128, 128), "seg_GT": (1, 128, 128)},
        ),
        (
            "TAGAN_AxonalRings",
            "AxonalRingsDataset",
            "test",
            {"preprocess": "none"},
            {"confocal": (1, 224, 224), "STED": (1, 224, 224), "seg_GT": (1, 224, 224)},
        ),
        (
            "TAGAN_Dendrites",
            "DendriticFActinDataset",
            "valid",
            {},
            {
                "confocal": (1, 128, 128),
                "STED": (1, 128, 128),
                "seg_GTrings": (1, 128, 128),
                "seg_GTfibers": (1, 128, 128),
            },
        ),
        (
            "TAGAN_Synprot",
            "SynapticProteinsDataset",
            "train",
            {},
            {"confocal": (2, 128, 128), "STED": (2, 128, 128), "spots": (2, 128, 128)},
        ),
        (
            "TAGAN_SimulatedNanodomains",
            "SimulatedNanodomainsDataset",
            "test",
            {},
            {"confocal": (1, 64, 64), "STED": (1, 64, 64), "seg_GT": (1, 64, 64)},
        ),
        (
            "TAGAN_live",
            "LiveFActinDataset",
            "train",
            {"dataset_mode": "live_train"},
            {"confocal": (1, 416, 848), "STED": (1, 416, 848), "decision_map": (1, 416, 848)},
        ),
        (
            "TAGAN_live",
            "LiveFActinDataset",
            "20201130_cs4",
            {"dataset_mode": "live_test", "preprocess": "center", "crop_size": 512},
            {"confocal": (1, 512, 512), "STED": (1, 512, 512), "decision_map": (1, 512, 512)},
        ),
        (
            "segmentation",
            "DomainAdaptedLiveDataset",
            "train",
            {},
            {"A": (1, 256, 256), "B": (1, 256, 256), "C": (1, 256, 256), "D": (1, 256, 256)},
        ),
    ],
)
def test_grayscale_modes_load_the_sample_files(shared_data, model, folder, phase, overrides, expected):
    sample = load_first(model, shared_data / "tagan-samples" / folder, phase, **overrides)
    for key, shape in expected.items():
        low = 0.0 if key == "decision_map" else -1.0
        assert_tensor(sample[key], shape, low, 1.0)
        if key == "decision_map":
            assert set(sample[key].unique().tolist()) <= {0.0, 1.0}
        elif model != "TAGAN_Synprot":  # 8-bit levels mapped to [-1, 1]
            levels = (sample[key] + 1) / EIGHT_BIT_STEP
            assert torch.allclose(levels, levels.round(), atol=1e-3)
    assert Path(sample.get("image_paths", sample.get("A_paths"))).is_file()


@pytest.mark.shared_data
def test_axons_values_are_the_8bit_counts(shared_data):
    """--preprocess none: the tensor is exactly 2 v / 255 - 1 of the stored counts (all below 256 here)."""
    path = shared_data / "tagan-samples" / "AxonalRingsDataset" / "test" / "0.tif"
    sample = load_first("TAGAN_AxonalRings", path.parent.parent, "test", preprocess="none", no_flip=True)
    raw = tifffile.imread(path).astype(np.float32)
    assert torch.equal(sample["STED"][0], torch.from_numpy(raw[1]).div(255).sub(0.5).div(0.5))
    assert set(sample["seg_GT"].unique().tolist()) == {-1.0, 1.0}


@pytest.mark.shared_data
def test_dendrites_values_above_255_saturate_and_keep_bit_depth_keeps_them(shared_data):
    root = shared_data / "tagan-samples" / "DendriticFActinDataset"
    raw = tifffile.imread(next((root / "train").glob("*.tif")))
    assert raw[0].max() > 255
    clipped = load_first("TAGAN_Dendrites", root, "train", preprocess="none", no_flip=True)
    kept = load_first("TAGAN_Dendrites", root, "train", preprocess="none", no_flip=True, keep_bit_depth=True)
    assert clipped["confocal"].max() == 1.0
    expected = torch.from_numpy(raw[0].astype(np.float64) / 65535).float().sub(0.5).div(0.5)
    assert torch.allclose(kept["confocal"][0], expected)
    assert len(kept["confocal"].unique()) == len(np.unique(raw[0]))


@pytest.mark.shared_data
def test_saureus_stays_in_unit_range(shared_data):
    sample = load_first("TAGAN_SAureus", shared_data / "tagan-samples" / "SAureusDataset", "train")
    for key in ("confocal", "STED", "seg_GT"):
        assert_tensor(sample[key], (1, 128, 128), 0.0, 1.0)
    assert set(sample["seg_GT"].unique().tolist()) <= {0.0, 1.0}
    assert sample["image_paths"].endswith("SIM/JE2NileRed_oilp22_PMP_101220_001_0_0.tif")


@pytest.mark.shared_data
def test_fixed_live_reads_unpaired_folders(shared_data):
    sample = load_first("TAGAN_cycle", shared_data / "tagan-samples" / "FixedLiveDataset", "train")
    assert_tensor(sample["F"], (1, 224, 224), -1.0, 1.0)
    assert_tensor(sample["L"], (1, 224, 224), -1.0, 1.0)
    assert "train_fixed" in sample["F_paths"] and "train_live" in sample["L_paths"]


def test_simulated_axonal_rings_load_like_the_real_samples(tmp_path):
    root = simulate("axonal-rings", tmp_path / "AxonalRingsDataset", n=4, seed=0)
    sample = load_first("TAGAN_AxonalRings", root, "train")
    for key in ("confocal", "STED", "seg_GT"):
        assert_tensor(sample[key], (1, 128, 128), -1.0, 1.0)
    full = load_first("TAGAN_AxonalRings", root, "test", preprocess="none")
    assert tuple(full["STED"].shape) == (1, 224, 224)


@pytest.mark.shared_data
def test_simulated_and_real_axonal_rings_give_equal_shapes(tmp_path, shared_data):
    simulated = load_first(
        "TAGAN_AxonalRings", simulate("axonal-rings", tmp_path, 3, 0), "test", preprocess="none"
    )
    real = load_first(
        "TAGAN_AxonalRings", shared_data / "tagan-samples" / "AxonalRingsDataset", "test", preprocess="none"
    )
    assert {k: tuple(v.shape) for k, v in simulated.items() if torch.is_tensor(v)} == {
        k: tuple(v.shape) for k, v in real.items() if torch.is_tensor(v)
    }


def pil_reference(image: np.ndarray, preprocess: str, crop: int, params: TransformParams) -> torch.Tensor:
    """The original get_transform with PIL and torchvision's semantics, step by step."""
    picture = Image.fromarray(image).convert("L")
    if "crop" in preprocess and (picture.size[0] > crop or picture.size[1] > crop):
        picture = picture.crop((params.crop_x, params.crop_y, params.crop_x + crop, params.crop_y + crop))
    if "center" in preprocess:
        width, height = picture.size
        if crop > width or crop > height:
            pad = (
                (max(crop - height, 0) // 2, (max(crop - height, 0) + 1) // 2),
                (max(crop - width, 0) // 2, (max(crop - width, 0) + 1) // 2),
            )
            picture = Image.fromarray(np.pad(np.array(picture), pad))
            width, height = picture.size
        top, left = int(round((height - crop) / 2.0)), int(round((width - crop) / 2.0))
        picture = picture.crop((left, top, left + crop, top + crop))
    width, height = picture.size
    target = (int(round(width / 16) * 16), int(round(height / 16) * 16))
    if target != (width, height):
        picture = picture.crop((0, 0, *target))
    if params.flip_h:
        picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
    if params.flip_v:
        picture = picture.transpose(Image.FLIP_TOP_BOTTOM)
    if "rotation" in preprocess and params.angle:
        picture = picture.rotate(params.angle)
    return torch.from_numpy(np.array(picture)).float().div(255).sub(0.5).div(0.5).unsqueeze(0)


@pytest.mark.parametrize(
    ("shape", "preprocess"),
    [
        ((224, 224), "crop_rotation"),
        ((100, 140), "crop_rotation"),
        ((420, 846), "none"),
        ((130, 90), "center"),
        ((224, 224), "flip_rotation"),
        ((200, 300), "rotation"),
    ],
)
def test_pipeline_matches_pil_operations(shape, preprocess):
    rng = np.random.default_rng(0)
    opt = default_options("TAGAN_AxonalRings", preprocess=preprocess, crop_size=128)
    for _ in range(6):
        image = rng.integers(0, 400, size=shape).astype(np.uint16)
        params = TransformParams(
            int(rng.integers(0, 120)),
            int(rng.integers(0, 120)),
            bool(rng.integers(2)),
            bool(rng.integers(2)),
            int(rng.choice([0, 90, 180, 270])),
        )
        ours = transform_channel(image, opt, params, grayscale=True)
        assert torch.equal(ours, pil_reference(image, preprocess, 128, params))


def test_8bit_conversion_matches_pil():
    for array in (
        np.array([[1, 300, 65535, 254, 0]], np.uint16),
        np.array([[1.7, 300.2, -5.0, 254.99, 0.4]], np.float32),
        np.array([[True, False]]),
    ):
        assert np.array_equal(to_8bit(array), np.array(Image.fromarray(array).convert("L")))


def test_decision_map_selects_the_brightest_tile():
    image = torch.zeros(1, 120, 100)
    image[0, 50:100, 50:100] = 1.0  # tile (1, 1) of 50 px tiles is the brightest
    image[0, 0:50, 0:50] = 0.5
    means = block_means(image.numpy()[0], 50)
    assert means.shape == (3, 2) and means[1, 1] == 1.0 and means[2, 0] == 0.0
    assert decision_map(image, 50, 1).sum() == 0  # n = 1: nothing above the largest mean
    selected = decision_map(image, 50, 2)
    assert selected.shape == (1, 120, 100)
    # the 3x2 tile map is resized (nearest) to 120x100 as in the original, so rows map to 40-px bands
    expected = torch.zeros(1, 120, 100)
    expected[0, 40:80, 50:100] = 1.0
    assert torch.equal(selected, expected)


def write_stack(path: Path, stack: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, stack)
    return path


def test_missing_folder_names_the_folder_and_flags(tmp_path):
    opt = default_options("TAGAN_AxonalRings", dataroot=str(tmp_path), phase="train")
    with pytest.raises(FileNotFoundError, match=r"train.*--dataroot .*--phase train"):
        create_dataset(opt)
    opt = default_options("TAGAN_cycle", dataroot=str(tmp_path), phase="valid")
    with pytest.raises(FileNotFoundError, match="valid_fixed"):
        create_dataset(opt)


def test_wrong_channel_count_names_the_file(tmp_path):
    path = write_stack(tmp_path / "train" / "two.tif", np.zeros((2, 32, 32), np.uint16))
    opt = default_options("TAGAN_AxonalRings", dataroot=str(tmp_path), phase="train")
    with pytest.raises(ValueError, match=r"two\.tif.*--dataset_mode axons expects a \(3, H, W\)"):
        create_dataset(opt)[0]
    opt = default_options("TAGAN_Dendrites", dataroot=str(tmp_path), phase="train")
    with pytest.raises(ValueError, match="(4, H, W)"):
        create_dataset(opt)[0]
    assert path.is_file()


def test_tiff_that_is_not_an_image_names_the_file(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "broken.tif").write_bytes(b"this is not a TIFF file at all")
    opt = default_options("TAGAN_AxonalRings", dataroot=str(tmp_path), phase="train")
    with pytest.raises(ValueError, match=r"broken\.tif"):
        create_dataset(opt)[0]


def test_empty_folder_and_unknown_mode(tmp_path):
    (tmp_path / "train").mkdir()
    opt = default_options("TAGAN_AxonalRings", dataroot=str(tmp_path), phase="train")
    with pytest.raises(ValueError, match="holds no images"):
        create_dataset(opt)
    with pytest.raises(ValueError, match="--dataset_mode 'unaligned'"):
        resolve_dataset_mode("unaligned")
    assert resolve_dataset_mode("mask") == "axons" and resolve_dataset_mode("two_masks") == "dendrites"


def test_synprot_constant_crop_gives_minus_one_not_nan(tmp_path):
    stack = np.zeros((6, 64, 64), np.uint16)
    stack[1] = 7
    write_stack(tmp_path / "train" / "flat.tif", stack)
    sample = load_first("TAGAN_Synprot", tmp_path, "train", crop_size=64)
    assert not torch.isnan(sample["confocal"]).any()
    assert torch.all(sample["STED"] == -1)


def test_live_train_fix_and_legacy_scaling(tmp_path):
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 200, size=(2, 64, 64)).astype(np.uint16)
    write_stack(tmp_path / "train" / "live.tif", stack)
    fixed = load_first("TAGAN_live", tmp_path, "train", dataset_mode="live_train", preprocess="none")
    legacy = load_first(
        "TAGAN_live",
        tmp_path,
        "train",
        dataset_mode="live_train",
        preprocess="none",
        legacy_live_train_scaling=True,
    )
    assert len(fixed["confocal"].unique()) > 100  # the [0, 255] scaling keeps the image
    levels = legacy["confocal"].unique()  # the original's black image: 0 everywhere, 1 at the maximum
    assert len(levels) == 2 and levels[0] == -1.0 and abs(levels[1].item() + 1 - EIGHT_BIT_STEP) < 1e-6
