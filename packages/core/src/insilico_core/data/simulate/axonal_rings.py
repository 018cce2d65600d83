"""Paired confocal / STED images of the periodic F-actin lattice of axons, in TA-GAN's AxonalRings layout.

Axons are smooth random paths (heading performing a small random walk) of a few hundred nanometres width.
Along each axon, F-actin is either organised in rings (bands across the axon every ``period_nm``, about
190 nm, as seen in STED images of fixed hippocampal neurons) or diffuse (molecules spread at random). The
fluorophore map is imaged twice on the same pixel grid:

* STED: a narrow Gaussian PSF (``sted_fwhm_nm``, about 60 nm) and Poisson photon noise, so the rings are
  resolved;
* confocal: a wide Gaussian PSF (``confocal_fwhm_nm``, about 240 nm, wider than the ring period, so the
  rings blur into a continuous axon) with Poisson noise and a little background.

Files: ``<out>/{train,valid,test}/*.tif``, each a ``(3, size, size)`` uint16 stack in the channel order of
the real AxonalRingsDataset: confocal counts, STED counts (both raw photon-count-like values, tens of
counts at most, as the real files), and the ring mask (0 / 255: pixels of the axons where rings are
present). Names follow the real dataset (``train/axons_<i>.tif``, ``valid/axons_<i>.tif``,
``test/<i>.tif``); every file carries its pixel size (``pixel_size_nm``, 15 nm by default) as TIFF
resolution. Each image has its own generator seeded by ``(seed, index)``, so image i does not depend on n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from insilico_core.data.simulate.rendering import gaussian_blur, shot_noise
from insilico_core.data.tiff import write_tiff

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
SPLIT_NAMES = ("train", "valid", "test")
RING_THICKNESS_NM = 40.0


@dataclass(frozen=True)
class AxonalRingsConfig:
    """Simulation options. Lengths in nanometres; ``axons``: (min, max) axons per image; ``bend``: standard
    deviation of the change of turning rate per pixel of path (0 gives straight axons); peak counts: 99.9th
    percentiles of the noiseless images (the real data reach a few tens of counts); ``splits``: fractions of
    images in train / valid / test."""

    size: int = 224
    pixel_size_nm: float = 15.0
    period_nm: float = 190.0
    sted_fwhm_nm: float = 60.0
    confocal_fwhm_nm: float = 240.0
    axons: tuple[int, int] = (2, 4)
    bend: float = 0.002
    sted_peak_counts: float = 40.0
    confocal_peak_counts: float = 50.0
    confocal_background: float = 1.0
    splits: tuple[float, float, float] = (0.8, 0.1, 0.1)

    def __post_init__(self) -> None:
        if self.size < 32:
            raise ValueError(f"size must be at least 32 pixels, got {self.size}")
        for name in ("pixel_size_nm", "period_nm", "sted_fwhm_nm", "confocal_fwhm_nm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.bend < 0:
            raise ValueError(f"bend must be non-negative, got {self.bend}")
        if not 1 <= self.axons[0] <= self.axons[1]:
            raise ValueError(f"axons must be (min, max) with 1 <= min <= max, got {self.axons}")
        split_counts(1, self.splits)


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Images per split: at least one in valid and test once ``n >= 3``; the rest in train."""
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
        raise ValueError(f"splits must be three non-negative fractions (train, valid, test), got {fractions}")
    total = sum(fractions)
    valid = round(n * fractions[1] / total)
    test = round(n * fractions[2] / total)
    if n >= 3:
        valid, test = max(valid, 1 if fractions[1] else 0), max(test, 1 if fractions[2] else 0)
    valid, test = min(valid, n), min(test, max(n - valid, 0))
    return n - valid - test, valid, test


def axon_path(rng: np.random.Generator, size: int, step: float, bend: float) -> np.ndarray:
    """Points ``(K, 2)`` (row, column) every ``step`` pixels along a smooth random path that enters the
    image at a border point and runs until it leaves the (slightly enlarged) field of view."""
    margin = size * 0.1
    start = rng.uniform(0, size, 2)
    side = rng.integers(4)
    start[side % 2] = -margin if side < 2 else size + margin
    centre_heading = math.atan2(size / 2 - start[0], size / 2 - start[1])
    heading = centre_heading + rng.uniform(-0.5, 0.5)
    turn_rate = 0.0
    points = [start]
    position = start.copy()
    for _ in range(int(4 * size / step)):
        turn_rate = 0.98 * turn_rate + rng.normal(0.0, bend)
        heading += turn_rate * step
        position = position + step * np.array([math.sin(heading), math.cos(heading)])
        points.append(position)
        if not (-margin <= position[0] <= size + margin and -margin <= position[1] <= size + margin):
            break
    return np.asarray(points)


def ring_segments(rng: np.random.Generator, length: float, period: float) -> list[tuple[float, float]]:
    """Arc-length intervals of an axon where F-actin forms rings (each a few to ~15 periods long)."""
    segments = []
    position = rng.uniform(0, 6 * period)
    while position < length:
        extent = rng.uniform(4, 15) * period
        if rng.random() < 0.6:
            segments.append((position, min(position + extent, length)))
        position += extent + rng.uniform(2, 8) * period
    return segments


def render_axon(
    rng: np.random.Generator,
    density: np.ndarray,
    mask: np.ndarray,
    config: AxonalRingsConfig,
    width: float,
    molecules_per_pixel: float = 4.0,
) -> None:
    """Add one axon's fluorophores to ``density`` (histogram on the pixel grid) and its ring pixels to
    ``mask``, in place. ``width`` in pixels."""
    size = density.shape[0]
    step = 0.25
    period = config.period_nm / config.pixel_size_nm
    ring_thickness = RING_THICKNESS_NM / config.pixel_size_nm
    path = axon_path(rng, size, step, config.bend)
    tangents = np.gradient(path, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    arc = np.arange(len(path)) * step
    phase = rng.uniform(0, period)

    def place(arc_positions: np.ndarray, across: np.ndarray) -> np.ndarray:
        index = np.clip(np.round(arc_positions / step).astype(int), 0, len(path) - 1)
        return path[index] + across[:, None] * normals[index]

    # diffuse F-actin along the whole axon (membrane-associated background)
    count = rng.poisson(molecules_per_pixel * 0.4 * arc[-1] * width)
    diffuse = place(rng.uniform(0, arc[-1], count), rng.uniform(-width / 2, width / 2, count))
    points = [diffuse]
    # bright F-actin patches (clusters of molecules) scattered along the axon
    for centre in rng.uniform(0, arc[-1], rng.poisson(arc[-1] / (40 * period))):
        count = rng.poisson(molecules_per_pixel * 60)
        points.append(place(centre + rng.normal(0, width / 4, count), rng.normal(0, width / 4, count)))
    for start, end in ring_segments(rng, arc[-1], period):
        first = start + (phase - start) % period
        centres = np.arange(first, end, period)
        for centre in centres:
            count = rng.poisson(molecules_per_pixel * width * ring_thickness * 2)
            along = centre + rng.normal(0, ring_thickness / 2, count)
            points.append(place(along, rng.uniform(-width / 2, width / 2, count)))
        in_segment = (arc >= start) & (arc <= end)
        for offset in np.arange(-width / 2, width / 2 + 0.5, 0.5):
            marked = np.round(path[in_segment] + offset * normals[in_segment]).astype(int)
            inside = np.all((marked >= 0) & (marked < size), axis=1)
            mask[marked[inside, 0], marked[inside, 1]] = True
    positions = np.concatenate(points)
    edges = np.arange(size + 1) - 0.5
    histogram, _, _ = np.histogram2d(positions[:, 0], positions[:, 1], bins=(edges, edges))
    density += histogram.astype(np.float32)


def simulate_image(rng: np.random.Generator, config: AxonalRingsConfig) -> np.ndarray:
    """One ``(3, size, size)`` uint16 stack: confocal, STED, ring mask (0 / 255)."""
    size, pixel = config.size, config.pixel_size_nm
    density = np.zeros((size, size), dtype=np.float32)
    mask = np.zeros((size, size), dtype=bool)
    for _ in range(rng.integers(config.axons[0], config.axons[1] + 1)):
        render_axon(rng, density, mask, config, width=rng.uniform(150, 350) / pixel)
    sted = gaussian_blur(density, config.sted_fwhm_nm * FWHM_TO_SIGMA / pixel)
    confocal = gaussian_blur(density, config.confocal_fwhm_nm * FWHM_TO_SIGMA / pixel)
    sted_scale = config.sted_peak_counts / max(float(np.percentile(sted, 99.9)), 1e-6)
    confocal_scale = config.confocal_peak_counts / max(float(np.percentile(confocal, 99.9)), 1e-6)
    sted_counts = shot_noise(rng, sted * sted_scale)
    confocal_counts = shot_noise(rng, confocal * confocal_scale + config.confocal_background)
    stack = np.stack([np.rint(confocal_counts), np.rint(sted_counts), mask * 255.0])
    return np.clip(stack, 0, 65535).astype(np.uint16)


def simulate_axonal_rings(out: Path, n: int, seed: int, **options: Any) -> Path:
    """Write ``n`` simulated confocal / STED / ring-mask stacks under ``out`` (AxonalRings layout) and return
    ``out``; ``options`` are fields of :class:`AxonalRingsConfig` (e.g. ``period_nm=220``, ``bend=0``)."""
    out = Path(out)
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    unknown = sorted(set(options) - {f.name for f in fields(AxonalRingsConfig)})
    if unknown:
        raise ValueError(f"unknown axonal-rings options {unknown}; see AxonalRingsConfig")
    config = AxonalRingsConfig(**options)
    index = 0
    for split, count in zip(SPLIT_NAMES, split_counts(n, config.splits), strict=True):
        for _ in range(count):
            stack = simulate_image(np.random.default_rng([seed, index]), config)
            name = f"{index}.tif" if split == "test" else f"axons_{index}.tif"
            write_tiff(out / split / name, stack, pixel_size_um=config.pixel_size_nm / 1000.0)
            index += 1
    return out
