"""yeast-timelapse: Multi-StyleGAN file layout as the original loader indexes it, and physical statistics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
from insilico_core.data.simulate import simulate
from insilico_core.data.simulate.yeast_timelapse import simulate_trap_sequence
from skimage.segmentation import find_boundaries

NAME = re.compile(r"^img_(\d{9})_(01-BF0|03-GFPdouble|04-RFPdouble)_(\d{3})_trap_(\d{3})\.tif$")


@pytest.fixture(scope="module")
def yeast_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tlfm")
    return simulate("yeast-timelapse", root, n=3, seed=11, frames=4, image_size=64, traps_per_position=2)


def test_layout_names_dtype_and_counts(yeast_root):
    assert sorted(p.name for p in yeast_root.iterdir()) == ["Pos0", "Pos1"]
    files = sorted(yeast_root.rglob("*.tif"))
    assert len(files) == 3 * 4 * 3 * 3  # traps x frames x z planes x channels
    keys = set()
    for path in files:
        match = NAME.match(path.name)
        assert match, path.name
        keys.add((path.parent.name, *match.groups()))
        pixels = tifffile.imread(path)
        assert pixels.dtype == np.uint16 and pixels.shape == (64, 64)
    assert {k[4] for k in keys if k[0] == "Pos0"} == {"000", "001"}
    assert {k[4] for k in keys if k[0] == "Pos1"} == {"000"}
    assert {k[1] for k in keys} == {f"{t:09d}" for t in range(4)}
    gfp = tifffile.imread(next(yeast_root.rglob("*_03-GFPdouble_001_*.tif")))
    assert gfp.max() > 255  # real 16-bit counts


def _original_index(root: Path, sequence_length: int = 3) -> list[tuple[tuple[str, ...], ...]]:
    """The original TFLMDatasetGAN indexing (string operations on full paths), as an independent oracle."""
    samples = []
    for position in sorted(p for p in root.iterdir() if p.is_dir()):
        paths = [str(position / name) for name in sorted(f.name for f in position.iterdir()) if "tif" in name]
        per_channel = []
        for tag in ("-BF0_", "-GFP", "-RFP"):
            lists = []
            for z in ("_000_", "_001_", "_002_"):
                chosen = [p for p in paths if tag in p and z in p]
                chosen.sort(
                    key=lambda p: p.split("-")[-1].split("_")[-1].replace(".tif", "") + p.split("_")[-5]
                )
                lists.append(chosen)
            per_channel.append(lists)
        for z in range(3):
            bf = per_channel[0][z]
            for start in range(len(bf) - sequence_length + 1):
                window = slice(start, start + sequence_length)
                traps = {p[p.find("trap") : p.find("trap") + 8] for p in bf[window]}
                if len(traps) == 1:
                    samples.append(tuple(tuple(channel[z][window]) for channel in per_channel))
    return samples


def test_original_loader_finds_aligned_sequences(yeast_root):
    samples = _original_index(yeast_root)
    assert len(samples) == 3 * 3 * (4 - 2)  # traps x z planes x windows of 3 in 4 frames
    for bf, gfp, rfp in samples:
        keys = [[NAME.match(Path(p).name).group(1, 3, 4) for p in channel] for channel in (bf, gfp, rfp)]
        assert keys[0] == keys[1] == keys[2]  # same time, z and trap in every channel
        times = [int(t) for t, _, _ in keys[0]]
        assert times == list(range(times[0], times[0] + 3))


def test_same_seed_same_files(tmp_path):
    options = {"n": 1, "frames": 2, "image_size": 64, "z_planes": 1, "rfp": False}
    a = simulate("yeast-timelapse", tmp_path / "a", seed=5, **options)
    b = simulate("yeast-timelapse", tmp_path / "b", seed=5, **options)
    c = simulate("yeast-timelapse", tmp_path / "c", seed=6, **options)
    names = sorted(p.relative_to(a) for p in a.rglob("*.tif"))
    assert len(names) == 2 * 2
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    assert any((a / n).read_bytes() != (c / n).read_bytes() for n in names)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fluorescence_inside_cells_and_growth(seed):
    sequence = simulate_trap_sequence(np.random.default_rng(seed), frames=10, z_planes=3, image_size=128)
    masks = sequence.labels > 0
    for t in range(10):
        for z in range(3):
            gfp = sequence.gfp[t, z].astype(np.float64)
            inside, outside = gfp[masks[t]].mean(), gfp[~masks[t]].mean()
            assert inside > outside + 200, (t, z, inside, outside)
            red = sequence.rfp[t, z].astype(np.float64)
            assert red[masks[t]].mean() > red[~masks[t]].mean() + 50
    areas = masks.sum(axis=(1, 2))
    assert areas[-1] > 1.1 * areas[0]
    assert np.all(np.diff(areas) >= -0.02 * areas[:-1])  # never shrinks beyond overlap changes
    # in focus the cell wall is darker than the background around the cells
    focus = sequence.brightfield[:, 1].astype(np.float64)
    wall = np.stack([find_boundaries(m, mode="inner") for m in masks])
    assert focus[wall].mean() < 0.85 * np.median(focus[~masks])
