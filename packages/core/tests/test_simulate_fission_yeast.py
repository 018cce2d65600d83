"""The fission-yeast simulator: BioGANs LIN layout and the documented per-class statistics."""

from __future__ import annotations

import numpy as np
import pytest
from insilico_core.data.simulate import simulate
from insilico_core.data.simulate.fission_yeast import LIN_CLASSES, simulate_fission_yeast
from PIL import Image
from scipy import ndimage

N_PER_CLASS = 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = simulate("fission-yeast", tmp_path_factory.mktemp("lin"), n=N_PER_CLASS * len(LIN_CLASSES), seed=3)
    images = {
        protein: [np.asarray(Image.open(p)) for p in sorted((root / protein).glob("*.png"))]
        for protein in LIN_CLASSES
    }
    return root, images


def cell_mask(red: np.ndarray) -> np.ndarray:
    """The cell: the filled region enclosed by the red outline (independent of the simulator's geometry)."""
    return ndimage.binary_fill_holes(red > 40)


def axial_profile(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Green mass per column and the relative axial position of each column in the cell ([-1, 1])."""
    mask = cell_mask(image[..., 0])
    columns = np.nonzero(mask.any(0))[0]
    left, right = columns.min(), columns.max()
    position = (np.arange(image.shape[1]) - (left + right) / 2) / ((right - left) / 2)
    return (image[..., 1].astype(float) * mask).sum(0), position


def mass_fraction(images: list[np.ndarray], region) -> float:
    """Fraction of the green mass in the axial region ``region(position) -> bool`` over a class's cells."""
    inside, total = 0.0, 0.0
    for image in images:
        mass, position = axial_profile(image)
        inside += mass[region(position)].sum()
        total += mass.sum()
    return inside / total


def test_layout(dataset):
    root, images = dataset
    assert sorted(p.name for p in root.iterdir()) == sorted(LIN_CLASSES)
    names = [p.name for p in root.rglob("*.png")]
    assert len(names) == len(set(names)) == N_PER_CLASS * len(LIN_CLASSES)  # basenames unique across classes
    for protein in LIN_CLASSES:
        assert len(images[protein]) == N_PER_CLASS
        for image in images[protein]:
            assert image.shape == (48, 80, 3) and image.dtype == np.uint8
            assert image[..., 2].max() == 0  # blue unused, as in LIN
            assert image[..., 1].sum() > 0


def test_red_is_the_cell_boundary(dataset):
    _, images = dataset
    for image in (im for ims in images.values() for im in ims):
        red = image[..., 0].astype(float)
        mask = cell_mask(image[..., 0])
        interior = ndimage.binary_erosion(mask, iterations=4)
        assert mask.sum() > 300 and interior.sum() > 50
        # the boundary band carries the red; the interior only the septum (a thin line) if any
        assert red[interior].sum() < 0.25 * red.sum()
        # and the red mask is the cell: no signal far outside it
        assert red[~ndimage.binary_dilation(mask, iterations=3)].sum() == 0


def test_green_stays_inside_the_cell(dataset):
    _, images = dataset
    for image in (im for ims in images.values() for im in ims):
        green = image[..., 1].astype(float)
        mask = ndimage.binary_dilation(cell_mask(image[..., 0]), iterations=1)
        assert green[mask].sum() >= 0.97 * green.sum()


def test_tip_classes_put_green_at_the_poles_ring_classes_in_the_middle(dataset):
    _, images = dataset
    poles = {p: mass_fraction(images[p], lambda x: np.abs(x) > 0.7) for p in LIN_CLASSES}
    middle = {p: mass_fraction(images[p], lambda x: np.abs(x) < 0.3) for p in LIN_CLASSES}
    # the poles are 30 % of the cell length (less of its area: the caps are rounded); a diffuse protein puts
    # about a fifth of its mass there
    for tip_protein in ("Tea1", "Arp3"):
        assert poles[tip_protein] > 0.55, poles
    assert middle["Sid2"] > 0.8 and poles["Sid2"] < 0.05, (middle, poles)
    assert 0.1 < poles["Cki2"] < 0.3 and 0.25 < middle["Cki2"] < 0.5, (poles, middle)
    assert poles["Tea1"] > 3 * poles["Cki2"] and middle["Sid2"] > 2 * middle["Cki2"]


def test_diffuse_and_cortical_classes(dataset):
    _, images = dataset
    for image in images["Cki2"]:
        interior = ndimage.binary_erosion(cell_mask(image[..., 0]), iterations=4)
        values = image[..., 1][interior].astype(float)
        assert values.std() / values.mean() < 0.25  # a smooth fill
    cortex_share = {}
    for protein in ("Mkh1", "Cki2"):
        on_cortex, total = 0.0, 0.0
        for image in images[protein]:
            mask = cell_mask(image[..., 0])
            cortex = mask & ~ndimage.binary_erosion(mask, iterations=6)
            green = image[..., 1].astype(float)
            on_cortex, total = on_cortex + green[cortex].sum(), total + green[mask].sum()
        cortex_share[protein] = on_cortex / total
    assert cortex_share["Mkh1"] > 0.5 and cortex_share["Mkh1"] > 1.5 * cortex_share["Cki2"], cortex_share


def test_seeded_and_validated(tmp_path):
    counts = simulate_fission_yeast(tmp_path / "counts", 8, seed=0, classes=("Sid2", "Tea1", "Arp3"))
    assert [len(list((counts / c).iterdir())) for c in ("Sid2", "Tea1", "Arp3")] == [3, 3, 2]
    a = simulate_fission_yeast(tmp_path / "a", 2, seed=5, classes=("Tea1",))
    b = simulate_fission_yeast(tmp_path / "b", 2, seed=5, classes=("Tea1",))
    c = simulate_fission_yeast(tmp_path / "c", 2, seed=6, classes=("Tea1",))
    read = lambda root: np.stack([np.asarray(Image.open(p)) for p in sorted(root.rglob("*.png"))])  # noqa: E731
    assert np.array_equal(read(a), read(b)) and not np.array_equal(read(a), read(c))
    with pytest.raises(ValueError, match="classes"):
        simulate_fission_yeast(tmp_path / "d", 1, 0, classes=("Fim9",))
    with pytest.raises(ValueError, match="unknown fission-yeast options"):
        simulate_fission_yeast(tmp_path / "d", 1, 0, colour="blue")
