"""The axonal-rings simulator: TA-GAN AxonalRings layout (as the real sample files) and its documented
statistics (ring period recovered by Fourier analysis, STED resolves what confocal blurs)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from insilico_core.data.simulate import simulate
from insilico_core.data.simulate.axonal_rings import simulate_axonal_rings, split_counts


def radial_power(image: np.ndarray, pad: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of ``image`` (zero-padded to ``pad``) averaged over rings of equal frequency;
    returns (periods in pixels, power)."""
    power = np.abs(np.fft.fft2(image, s=(pad, pad))) ** 2
    frequency = np.fft.fftfreq(pad)
    radius = np.hypot(*np.meshgrid(frequency, frequency, indexing="ij"))
    bins = np.round(radius * pad).astype(int)
    profile = np.bincount(bins.ravel(), power.ravel()) / np.maximum(np.bincount(bins.ravel()), 1)
    index = np.arange(1, pad // 2)
    return pad / index, profile[1 : pad // 2]


def spectral_peak_period(image: np.ndarray, shortest: float, longest: float, pad: int = 1024) -> float:
    """Period (pixels) of the strongest 2-D Fourier component of ``image`` with a period in
    (shortest, longest): for a straight axon, the FFT along the axon direction."""
    power = np.abs(np.fft.fft2(image, s=(pad, pad))) ** 2
    frequency = np.fft.fftfreq(pad)
    radius = np.hypot(*np.meshgrid(frequency, frequency, indexing="ij"))
    period = 1.0 / np.maximum(radius, 1e-12)
    candidates = np.where((period > shortest) & (period < longest), power, 0.0)
    return float(period.flat[np.argmax(candidates)])


@pytest.mark.parametrize(("pixel_size_nm", "period_nm"), [(15.0, 190.0), (20.0, 190.0), (15.0, 250.0)])
def test_ring_period_is_recovered_by_fft_along_the_axon(tmp_path, pixel_size_nm, period_nm):
    """Straight axons (bend=0): the STED signal inside the ring mask peaks at the ring period."""
    root = simulate_axonal_rings(
        tmp_path, n=6, seed=3, pixel_size_nm=pixel_size_nm, period_nm=period_nm, bend=0
    )
    measured = []
    for path in sorted(root.glob("*/*.tif")):
        confocal, sted, mask = tifffile.imread(path).astype(np.float64)
        inside = mask > 0
        if inside.any():
            # periods between 6 px and 40 px: excludes pixel noise and the axon-width envelope
            measured.append(spectral_peak_period(np.where(inside, sted - sted[inside].mean(), 0.0), 6, 40))
    expected = period_nm / pixel_size_nm
    assert len(measured) >= 4
    assert abs(np.median(measured) - expected) / expected < 0.05


def test_layout_matches_the_real_axonal_rings_files(tmp_path):
    root = simulate("axonal-rings", tmp_path / "AxonalRingsDataset", n=5, seed=0)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.tif")) == [
        "test/4.tif",
        "train/axons_0.tif",
        "train/axons_1.tif",
        "train/axons_2.tif",
        "valid/axons_3.tif",
    ]
    with tifffile.TiffFile(root / "train" / "axons_0.tif") as tif:
        stack = tif.asarray()
        x_resolution = tif.pages[0].tags["XResolution"].value
    assert stack.shape == (3, 224, 224) and stack.dtype == np.uint16
    confocal, sted, mask = stack
    assert set(np.unique(mask)) == {0, 255}
    assert 20 <= confocal.max() <= 255 and 20 <= sted.max() <= 255  # raw counts, like the real files
    assert abs(1e4 / (x_resolution[0] / x_resolution[1]) - 0.015) < 1e-6  # 15 nm pixels, per-centimetre tag


@pytest.mark.shared_data
def test_same_shape_dtype_and_value_scale_as_the_real_samples(tmp_path, shared_data):
    real = tifffile.imread(shared_data / "tagan-samples" / "AxonalRingsDataset" / "train" / "axons_0.tif")
    simulated = tifffile.imread(simulate_axonal_rings(tmp_path, 1, 0) / "train" / "axons_0.tif")
    assert simulated.shape == real.shape and simulated.dtype == real.dtype
    assert set(np.unique(simulated[2])) <= set(np.unique(real[2]))
    for channel in (0, 1):  # both within an order of magnitude of the real photon counts
        assert real[channel].max() / 10 < simulated[channel].max() < real[channel].max() * 10


def test_sted_resolves_rings_that_confocal_blurs(tmp_path):
    root = simulate_axonal_rings(tmp_path, n=4, seed=1)
    period = 190.0 / 15.0
    power = {"confocal": 0.0, "sted": 0.0}
    for path in sorted(root.glob("*/*.tif")):
        confocal, sted, mask = tifffile.imread(path).astype(np.float64)
        inside = mask > 0
        if not inside.any():
            continue
        for name, image in (("confocal", confocal), ("sted", sted)):
            periods, spectrum = radial_power(np.where(inside, image - image[inside].mean(), 0.0))
            power[name] = power[name] + spectrum
    band = np.abs(periods - period) < 1.0
    fraction = {name: p[band].sum() / p[periods > 4].sum() for name, p in power.items()}
    assert fraction["sted"] > 5 * fraction["confocal"]


def test_seeded_and_independent_of_n(tmp_path):
    first = simulate_axonal_rings(tmp_path / "a", n=3, seed=7)
    second = simulate_axonal_rings(tmp_path / "b", n=10, seed=7)
    third = simulate_axonal_rings(tmp_path / "c", n=3, seed=8)
    image = tifffile.imread(first / "train" / "axons_0.tif")
    assert np.array_equal(image, tifffile.imread(second / "train" / "axons_0.tif"))
    assert not np.array_equal(image, tifffile.imread(third / "train" / "axons_0.tif"))


def test_split_counts_and_bad_options(tmp_path):
    assert split_counts(10, (0.8, 0.1, 0.1)) == (8, 1, 1)
    assert split_counts(3, (0.8, 0.1, 0.1)) == (1, 1, 1)
    assert split_counts(1, (0.8, 0.1, 0.1)) == (1, 0, 0)
    with pytest.raises(ValueError, match="n must be"):
        simulate_axonal_rings(tmp_path, n=0, seed=0)
    with pytest.raises(ValueError, match="period_nm"):
        simulate_axonal_rings(tmp_path, n=1, seed=0, period_nm=0)
    with pytest.raises(ValueError, match="splits"):
        simulate_axonal_rings(tmp_path, n=1, seed=0, splits=(1.0, -0.5, 0.5))
