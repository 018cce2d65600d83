"""morpho-digits: MSSG layout and dataset.json schema, and the covariates are visible in the pixels."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from insilico_core.data.simulate import simulate
from insilico_core.data.simulate.morpho_digits import render_digit, sample_covariates
from PIL import Image
from scipy.stats import pearsonr
from skimage.filters import threshold_otsu
from skimage.measure import moments_central
from skimage.morphology import skeletonize


@pytest.fixture(scope="module")
def morpho_root(tmp_path_factory):
    return simulate("morpho-digits", tmp_path_factory.mktemp("morpho"), n=16, seed=3)


def test_layout_and_labels_follow_mssg(morpho_root):
    for source in ("source1", "source2"):
        root = morpho_root / f"mnist_{source}"
        # MSSG finds the source from the last "_" token of the root folder name
        assert root.name.split("_")[-1] == source
        for split, count in (("trainset", 16), ("valset", 2), ("testset", 2)):
            folder = root / split
            labels = json.loads((folder / "dataset.json").read_text())["labels"]
            assert len(labels) == count
            images = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
            assert [name for name, _ in labels] == images
            for index, (name, record) in enumerate(labels):
                assert name == f"{index // 1000:05d}/img{index:08d}.png"
                assert set(record) == {"thickness", "intensity", "slant", "label"}
                assert isinstance(record["label"], float) and record["label"] in {float(d) for d in range(10)}
                assert 0.5 < record["thickness"] < 10 and 64 <= record["intensity"] <= 255
                assert -56 <= record["slant"] <= 56
                with Image.open(folder / name) as image:
                    assert image.mode == "L" and image.size == (32, 32)
                    pixels = np.asarray(image)
                assert pixels[:2].max() == 0 and pixels[:, -2:].max() == 0  # 28x28 digit, 2 px zero border
    assert re.fullmatch(r"mnist_source\d", morpho_root.joinpath("mnist_source2").name)


def test_partial_labels_keep_only_observed_covariates(tmp_path):
    root = simulate("morpho-digits", tmp_path, n=2, seed=0, full_labels=False)
    first = json.loads((root / "mnist_source1/trainset/dataset.json").read_text())["labels"][0][1]
    second = json.loads((root / "mnist_source2/trainset/dataset.json").read_text())["labels"][0][1]
    assert set(first) == {"thickness", "intensity", "label"}
    assert set(second) == {"thickness", "slant", "label"}


def test_same_seed_same_data(tmp_path):
    a = simulate("morpho-digits", tmp_path / "a", n=3, seed=7)
    b = simulate("morpho-digits", tmp_path / "b", n=3, seed=7)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_covariates_follow_the_ground_truth_equations():
    covariates = sample_covariates(np.random.default_rng(0), 20000)
    thickness = covariates["thickness"]
    assert thickness.mean() == pytest.approx(0.5 + 10 / 5, abs=0.02)  # 0.5 + Gamma(10, rate 5)
    assert thickness.var() == pytest.approx(10 / 25, rel=0.05)
    assert covariates["intensity"].min() >= 64 and covariates["intensity"].max() <= 255
    assert pearsonr(thickness, covariates["intensity"])[0] > 0.7
    assert pearsonr(thickness, covariates["slant"])[0] > 0.7


def _estimates(image: np.ndarray) -> tuple[float, float, float]:
    """(area / skeleton length, mean foreground grey level, shear angle in degrees from moments)."""
    foreground = image > threshold_otsu(image)
    thickness = foreground.sum() / max(skeletonize(foreground).sum(), 1)
    brightness = image[foreground].mean()
    mu = moments_central(image.astype(np.float64), order=2)  # mu[i, j] = sum (row-r)^i (col-c)^j
    shear = -mu[1, 1] / mu[2, 0]  # column shift per row, up is positive
    return thickness, brightness, np.degrees(np.arctan(shear))


def test_pixels_carry_the_covariates():
    rng = np.random.default_rng(1)
    covariates = sample_covariates(rng, 300)
    estimates = np.array(
        [
            _estimates(render_digit(rng, int(d), t, i, s))
            for d, t, i, s in zip(
                covariates["label"],
                covariates["thickness"],
                covariates["intensity"],
                covariates["slant"],
                strict=True,
            )
        ]
    )
    assert pearsonr(covariates["thickness"], estimates[:, 0])[0] > 0.8
    assert pearsonr(covariates["intensity"], estimates[:, 1])[0] > 0.95
    assert pearsonr(covariates["slant"], estimates[:, 2])[0] > 0.9
