"""TFLMDatasetGAN on the original TIFF layout: indexing, samples, normalisation, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from multistylegan.data import TFLMDatasetGAN, parse_file_name

CHANNELS = ("01-BF0", "03-GFPdouble", "04-RFPdouble")
SIZE = 8


def _write_layout(root: Path, positions=("Pos10", "Pos9"), traps=(19, 24), times=4, planes=3, seed=0) -> Path:
    """Random uint16 frames in the released layout; values span the GFP clamp range (0..4000)."""
    rng = np.random.default_rng(seed)
    for position in positions:
        folder = root / position
        folder.mkdir(parents=True)
        for trap in traps:
            for t in range(times):
                for z in range(planes):
                    for channel in CHANNELS:
                        frame = rng.integers(0, 4000, size=(SIZE, SIZE), dtype=np.uint16)
                        tifffile.imwrite(folder / f"img_{t:09d}_{channel}_{z:03d}_trap_{trap:03d}.tif", frame)
    return root


@pytest.fixture
def dataset_root(tmp_path: Path) -> Path:
    # A root whose path contains "trap" and "_001_" (which broke the original's string checks)
    return _write_layout(tmp_path / "trap_999_001_data")


def _expected(paths: tuple[str, ...], kind: str) -> np.ndarray:
    frames = np.stack([tifffile.imread(path).astype(np.float32) for path in paths])
    if kind == "bf":
        low = frames.min(axis=(1, 2), keepdims=True)
        high = frames.max(axis=(1, 2), keepdims=True)
        return (frames - low) / (high - low)
    low, high = (150.0, 2200.0) if kind == "gfp" else (20.0, 2000.0)
    return np.minimum(np.maximum(frames - low, 0.0) / high, 1.0)


def test_parse_file_name():
    assert parse_file_name("img_000000007_03-GFPdouble_001_trap_024.tif") == {
        "time": "000000007",
        "channel": "03-GFPdouble",
        "z": "001",
        "trap": "024",
    }
    assert parse_file_name("notes.tif") is None


def test_index_windows_order_and_files(dataset_root: Path):
    dataset = TFLMDatasetGAN(dataset_root, no_rfp=True)
    # per position and plane: 2 traps x 4 times sorted by trap then time; 6 windows of 3, 4 within one trap
    assert len(dataset) == 2 * 3 * 4
    bf, gfp, rfp = dataset.sample_files(0)
    names = [Path(p).name for p in bf]
    # natural position order: Pos9 first; plane 000 first; trap 019 first; times 0, 1, 2
    assert all(Path(p).parent.name == "Pos9" for p in bf)
    assert names == [f"img_{t:09d}_01-BF0_000_trap_019.tif" for t in range(3)]
    assert [Path(p).name for p in gfp] == [f"img_{t:09d}_03-GFPdouble_000_trap_019.tif" for t in range(3)]
    assert [Path(p).name for p in rfp] == [f"img_{t:09d}_04-RFPdouble_000_trap_019.tif" for t in range(3)]
    # windows 2 and 3 of the sorted list mix traps and are skipped: the third sample starts trap 024
    assert [Path(p).name for p in dataset.sample_files(2)[0]][0] == "img_000000000_01-BF0_000_trap_024.tif"
    assert Path(dataset.sample_files(4)[0][0]).name == "img_000000000_01-BF0_001_trap_019.tif"
    assert Path(dataset.sample_files(12)[0][0]).parent.name == "Pos10"
    every_window = [files for i in range(len(dataset)) for files in dataset.sample_files(i)[:2]]
    for files in every_window:
        fields = [parse_file_name(Path(p).name) for p in files]
        assert len({f["trap"] for f in fields}) == 1 and len({f["z"] for f in fields}) == 1
        assert [int(f["time"]) for f in fields] == list(
            range(int(fields[0]["time"]), int(fields[0]["time"]) + 3)
        )


def test_options_overlap_positions_and_planes(dataset_root: Path):
    # stride 3 over A0 A1 A2 A3 B0 .. B3: only the window at 0 stays within one trap
    assert len(TFLMDatasetGAN(dataset_root, overlap=False, no_rfp=True)) == 2 * 3 * 1
    assert len(TFLMDatasetGAN(dataset_root, positions=("Pos10",), no_rfp=True)) == 3 * 4
    single = TFLMDatasetGAN(dataset_root, z_position_indications=("_002_",), no_rfp=True)
    assert len(single) == 2 * 4
    assert all("_002_trap" in path for i in range(len(single)) for path in single.sample_files(i)[0])


def test_sample_values_shapes_and_normalisation(dataset_root: Path):
    dataset = TFLMDatasetGAN(dataset_root, no_rfp=True, transformations=None)
    bf, gfp, _ = dataset.sample_files(5)
    sample = dataset[5]
    assert sample.dtype == torch.float32 and sample.shape == (2, 3, SIZE, SIZE)
    np.testing.assert_allclose(sample[0].numpy(), _expected(bf, "bf")[:, ::-1], rtol=1e-6)
    np.testing.assert_allclose(sample[1].numpy(), _expected(gfp, "gfp")[:, ::-1], rtol=1e-6)
    assert float(sample.min()) >= 0.0 and float(sample.max()) <= 1.0
    full = TFLMDatasetGAN(dataset_root, transformations=None, flip=False)[5]
    assert full.shape == (3, 3, SIZE, SIZE)
    np.testing.assert_allclose(full[2].numpy(), _expected(dataset.sample_files(5)[2], "rfp"), rtol=1e-6)
    bf_only = TFLMDatasetGAN(dataset_root, transformations=None, no_gfp=True, no_rfp=True)[5]
    assert bf_only.shape == (1, 3, SIZE, SIZE)
    torch.testing.assert_close(bf_only[0], sample[0])


def test_default_random_flip_is_one_joint_horizontal_flip(dataset_root: Path):
    dataset = TFLMDatasetGAN(dataset_root, no_rfp=True)
    plain = TFLMDatasetGAN(dataset_root, no_rfp=True, transformations=None)[3]
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        flipped = bool(torch.rand(1) < 0.5)
        torch.manual_seed(seed)
        sample = dataset[3]
        torch.testing.assert_close(sample, plain.flip(-1) if flipped else plain)
        seen.add(flipped)
    assert seen == {True, False}


def test_simulator_layout_gives_documented_samples(tmp_path: Path):
    pytest.importorskip("insilico_core.data.simulate.yeast_timelapse")
    from insilico_core.data.simulate import simulate

    root = simulate("yeast-timelapse", tmp_path / "yeast", n=2, seed=0, frames=4, z_planes=1, image_size=64)
    dataset = TFLMDatasetGAN(root, no_rfp=True, z_position_indications=("_000_",))
    assert len(dataset) == 2 * 2
    sample = dataset[0]
    assert sample.shape == (2, 3, 64, 64) and sample.dtype == torch.float32
    flat_bf = sample[0].flatten(1)
    torch.testing.assert_close(flat_bf.min(1)[0], torch.zeros(3))
    torch.testing.assert_close(flat_bf.max(1)[0], torch.ones(3))
    assert 0.0 <= float(sample[1].min()) and float(sample[1].max()) <= 1.0 and float(sample[1].max()) > 0.0


def test_bad_input_gives_clear_errors(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TFLMDatasetGAN(tmp_path / "missing")
    (tmp_path / "empty" / "Pos1").mkdir(parents=True)
    (tmp_path / "empty" / "Pos1" / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match="no sequences"):
        TFLMDatasetGAN(tmp_path / "empty")
    root = _write_layout(tmp_path / "gaps", positions=("Pos1",), traps=(1,), planes=1)
    next(root.glob("Pos1/*03-GFPdouble*")).unlink()
    with pytest.raises(ValueError, match="GFP"):
        TFLMDatasetGAN(root, no_rfp=True)
    assert len(TFLMDatasetGAN(root, no_rfp=True, no_gfp=True, z_position_indications=("_000_",))) == 2


def test_hdf5_cache_serves_the_same_samples(dataset_root: Path, tmp_path: Path):
    dataset = TFLMDatasetGAN(dataset_root, no_rfp=True)
    cache = tmp_path / "cache" / "frames.h5"
    cached = dataset.with_hdf5_cache(cache)
    assert cache.is_file() and len(cached) == len(dataset)
    for index in (0, 7, len(dataset) - 1):
        torch.manual_seed(index)
        expected = dataset[index]
        torch.manual_seed(index)
        torch.testing.assert_close(cached[index], expected, rtol=0, atol=0)
    # a cache made from other data is refused
    smaller = TFLMDatasetGAN(dataset_root, no_rfp=True, positions=("Pos9",))
    with pytest.raises(ValueError, match="delete it"):
        smaller.with_hdf5_cache(cache)
