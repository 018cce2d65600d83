"""Fission-yeast cells in the BioGANs LIN layout: red = the cell outline, green = a protein whose
localisation pattern depends on the class.

The LIN dataset (Dodgson et al. 2017) holds aligned, size-normalised two-channel images of fission-yeast
cells, 80 wide x 48 high: red = Bgs4 (a cell-wall enzyme: the cell boundary, brighter at growing tips and
at the septum), green = one polarity protein per folder. This simulator writes the same layout,
``<out>/<Protein>/cell<NNNNN>.png`` (8-bit RGB, blue 0, background 0, basenames unique across classes), for
the six proteins BioGANs models, each with its documented pattern:

| class | green pattern (what the tests check) |
|---|---|
| Alp14 | microtubule bundles: thin lines along the long axis through the cytoplasm, bright plus-end dots |
| Arp3  | actin patches: cortical dots concentrated at both poles (and at the division site late) |
| Cki2  | diffuse cytoplasm: a smooth fill of the whole cell |
| Mkh1  | cortical puncta spread evenly along the whole cell boundary |
| Sid2  | the middle: spindle-pole-body dot(s) near the centre and a medial ring in dividing cells |
| Tea1  | cell-tip crescents at both poles |

Cells are rods (capsules) lying horizontally, centred with a jitter of a few pixels and a tilt of at most
6 degrees; the cell-cycle phase phi ~ U(0, 1) sets the length (38 to 72 px) and, for phi > 0.8, a septum
(red) and the medial ring (Sid2) / medial patches (Arp3). Width 14-19 px. Red peaks on the boundary
(Gaussian profile, sigma 1.1 px) with 40 % extra at the tips. Image formation: blur (sigma 0.7 px), photon
noise, signal outside the cell (beyond 2 px) set to 0 so ``red > 0`` is the cell mask, as BioGANs'
multi-channel data assume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from insilico_core.data.png import write_png
from insilico_core.data.simulate.rendering import gaussian_blur, shot_noise

#: the six LIN proteins of BioGANs' 6-class experiments, in sorted (class index) order
LIN_CLASSES = ("Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1")
#: (height, width) of LIN_Normalized_WT_size-48-80
IMAGE_SIZE = (48, 80)


@dataclass(frozen=True)
class Cell:
    """Geometry of one simulated cell, in pixels: centre (x, y), tilt (radians), length and width of the
    capsule, cell-cycle phase in [0, 1)."""

    center: tuple[float, float]
    angle: float
    length: float
    width: float
    phase: float


def sample_cell(rng: np.random.Generator, image_size: tuple[int, int] = IMAGE_SIZE) -> Cell:
    """A random cell that fits the image (length 38-72 px along x for 80-px images, scaled otherwise)."""
    height, width = image_size
    phase = float(rng.uniform(0.0, 1.0))
    scale = width / 80.0
    length = (38.0 + 34.0 * phase) * scale
    cell_width = float(rng.uniform(14.0, 19.0)) * height / 48.0
    center = (width / 2 - 0.5 + rng.uniform(-2.0, 2.0), height / 2 - 0.5 + rng.uniform(-2.0, 2.0))
    return Cell(center, float(np.deg2rad(rng.uniform(-6.0, 6.0))), length, cell_width, phase)


def cell_coordinates(cell: Cell, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: u (along the cell axis), v (across it) and the signed distance to the boundary (< 0
    inside)."""
    height, width = image_size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xs - cell.center[0], ys - cell.center[1]
    cos, sin = np.cos(cell.angle), np.sin(cell.angle)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    radius = cell.width / 2
    half_segment = max(cell.length / 2 - radius, 0.0)
    distance = np.hypot(np.maximum(np.abs(u) - half_segment, 0.0), v) - radius
    return u, v, distance


def _spots(
    shape: tuple[int, int], points: np.ndarray, sigma: float, amplitude: np.ndarray | float
) -> np.ndarray:
    """Sum of Gaussian spots at ``points`` ``[N, 2]`` (x, y)."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros(shape)
    amplitudes = np.broadcast_to(np.asarray(amplitude, dtype=np.float64), (len(points),))
    for (x, y), a in zip(points, amplitudes, strict=True):
        image += a * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return image


def _to_image(cell: Cell, u_v: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Cell coordinates (u, v) ``[N, 2]`` -> image coordinates (x, y)."""
    uv = np.asarray(u_v, dtype=np.float64).reshape(-1, 2)
    cos, sin = np.cos(cell.angle), np.sin(cell.angle)
    x = cell.center[0] + uv[:, 0] * cos - uv[:, 1] * sin
    y = cell.center[1] + uv[:, 0] * sin + uv[:, 1] * cos
    return np.stack([x, y], 1)


def _cortex_points(rng: np.random.Generator, cell: Cell, u: np.ndarray, inset: float = 1.5) -> np.ndarray:
    """Points just inside the boundary at axial positions ``u`` (either side, or on the cap near the ends)."""
    radius = cell.width / 2 - inset
    half_segment = max(cell.length / 2 - cell.width / 2, 0.0)
    points = []
    for position in u:
        if abs(position) <= half_segment:
            points.append((position, radius * rng.choice((-1.0, 1.0))))
        else:
            cap = abs(position) - half_segment
            across = np.sqrt(max(radius**2 - min(cap, radius) ** 2, 0.0))
            points.append(
                (np.sign(position) * (half_segment + min(cap, radius)), across * rng.uniform(-1, 1))
            )
    return _to_image(cell, np.array(points))


def red_channel(cell: Cell, image_size: tuple[int, int]) -> np.ndarray:
    """Bgs4: a boundary profile (peak on the boundary), +40 % at the tips, a septum when phase > 0.8."""
    u, _, distance = cell_coordinates(cell, image_size)
    half = cell.length / 2
    tips = 1.0 + 0.4 * np.exp(-((half - np.abs(u)) ** 2) / (2 * (0.12 * cell.length) ** 2))
    red = np.exp(-(distance**2) / (2 * 1.1**2)) * tips
    if cell.phase > 0.8:
        red += 0.8 * np.exp(-(u**2) / (2 * 0.9**2)) * (distance < 0)
    return red


def green_channel(
    rng: np.random.Generator, protein: str, cell: Cell, image_size: tuple[int, int]
) -> np.ndarray:
    """The class-specific localisation pattern (relative intensities, peak about 1)."""
    u, v, distance = cell_coordinates(cell, image_size)
    inside = (distance < -0.5).astype(np.float64)
    half = cell.length / 2
    radius = cell.width / 2
    if protein == "Tea1":
        tip = np.exp(-((half - 2.0 - np.abs(u)) ** 2) / (2 * 2.0**2)) * np.exp(
            -(v**2) / (2 * (0.45 * radius) ** 2)
        )
        return tip * inside
    if protein == "Arp3":
        count = int(rng.integers(10, 16))
        from_end = rng.exponential(0.07 * cell.length, count)
        positions = rng.choice((-1.0, 1.0), count) * np.clip(half - 1.0 - from_end, 0.0, half)
        points = _cortex_points(rng, cell, positions)
        if cell.phase > 0.8:
            points = np.concatenate([points, _cortex_points(rng, cell, rng.normal(0.0, 1.0, 4))])
        return _spots(image_size, points, 1.1, rng.uniform(0.7, 1.0, len(points)))
    if protein == "Cki2":
        return 0.6 * inside * (1.0 + 0.05 * np.sin(u / max(half, 1.0) * np.pi * rng.uniform(0.5, 1.5)))
    if protein == "Mkh1":
        count = int(rng.integers(14, 20))
        points = _cortex_points(rng, cell, rng.uniform(-half + 1.0, half - 1.0, count))
        return _spots(image_size, points, 1.0, rng.uniform(0.5, 0.9, count)) + 0.04 * inside
    if protein == "Sid2":
        if 0.55 < cell.phase < 0.8:
            separation = (cell.phase - 0.55) / 0.25 * 0.3 * cell.length
            dots = _to_image(cell, np.array([(-separation / 2, 0.0), (separation / 2, 0.0)]))
        else:
            dots = _to_image(cell, np.array([(rng.normal(0.0, 1.0), rng.normal(0.0, 1.0))]))
        green = _spots(image_size, dots, 1.2, 1.0)
        if cell.phase > 0.8:
            green += 0.8 * np.exp(-(u**2) / (2 * 1.0**2)) * inside
        return green
    if protein == "Alp14":
        count = int(rng.integers(2, 5))
        green = np.zeros(image_size)
        for _ in range(count):
            offset = rng.uniform(-0.5, 0.5) * radius
            start, end = sorted(rng.uniform(-0.75, 0.75, 2) * half)
            end = max(end, start + 0.3 * half)
            line = np.exp(-((v - offset) ** 2) / (2 * 0.8**2)) * ((u > start) & (u < end))
            ends = _to_image(cell, np.array([(start, offset), (end, offset)]))
            green += 0.45 * line + _spots(image_size, ends, 1.0, 0.8)
        return green * inside
    raise ValueError(f"unknown protein {protein!r}; expected one of {', '.join(LIN_CLASSES)}")


def render_cell(
    rng: np.random.Generator,
    protein: str,
    image_size: tuple[int, int] = IMAGE_SIZE,
    photons: float = 300.0,
    cell: Cell | None = None,
) -> np.ndarray:
    """One uint8 RGB image ``[H, W, 3]``: red = cell outline, green = ``protein``'s pattern, blue = 0."""
    cell = sample_cell(rng, image_size) if cell is None else cell
    _, _, distance = cell_coordinates(cell, image_size)
    channels = []
    for signal in (red_channel(cell, image_size), green_channel(rng, protein, cell, image_size)):
        blurred = gaussian_blur(signal, 0.7)
        counts = shot_noise(rng, blurred * photons) / photons
        counts[distance > 2.0] = 0.0
        channels.append(np.clip(np.round(counts * 220.0), 0, 255).astype(np.uint8))
    return np.stack(channels + [np.zeros(image_size, np.uint8)], axis=-1)


def simulate_fission_yeast(out: Path, n: int, seed: int, **options: Any) -> Path:
    """Write ``n`` cells, spread evenly over the classes (class of cell i = i mod the number of classes), to
    ``<out>/<Protein>/cell<NNNNN>.png``; returns ``out``.

    Options: ``classes`` (default :data:`LIN_CLASSES`; any of them), ``image_size`` (default (48, 80)),
    ``photons`` (photon count at relative intensity 1, default 300; lower is noisier).
    """
    classes = tuple(options.pop("classes", LIN_CLASSES))
    image_size = tuple(options.pop("image_size", IMAGE_SIZE))
    photons = float(options.pop("photons", 300.0))
    if options:
        raise ValueError(f"unknown fission-yeast options: {', '.join(sorted(options))}")
    unknown = [c for c in classes if c not in LIN_CLASSES]
    if unknown or not classes:
        raise ValueError(f"classes must be among {', '.join(LIN_CLASSES)}, got {list(classes)}")
    if n < 1:
        raise ValueError(f"n must be a positive number of cells, got {n}")
    if len(image_size) != 2 or min(image_size) < 16:
        raise ValueError(f"image_size must be (height, width) with sides >= 16, got {image_size}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    for protein in classes:
        (out / protein).mkdir(parents=True, exist_ok=True)
    for index in range(n):
        protein = classes[index % len(classes)]
        write_png(out / protein / f"cell{index:05d}.png", render_cell(rng, protein, image_size, photons))
    return out
