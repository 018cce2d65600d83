"""Budding yeast growing and dividing in a microfluidic trap: brightfield + GFP (+ RFP) time-lapse z-stacks,
written in the Multi-StyleGAN (TFLM) layout.

Layout written under ``out`` (the dataset root), one 256x256 uint16 TIFF per (time, channel, z, trap)::

    out/Pos<p>/img_<t:09d>_<channel>_<z:03d>_trap_<k:03d>.tif
        channel in {"01-BF0", "03-GFPdouble", "04-RFPdouble"} (RFP only with rfp=True)
        t = 0 .. frames-1 (one frame per 10 min), z = 0 .. z_planes-1, k = trap id within the position

``n`` is the number of traps (time-lapse sequences), ``traps_per_position`` of them per ``Pos<p>`` folder.

The model, per trap:
- Geometry: two rounded PDMS pillars form a cup; the mother cell rests in it. Cells are ellipses. Each frame
  every cell grows (mother ~1 %/frame in each axis); a cell without a bud starts one with probability
  ``bud_probability``; a bud grows ~22 %/frame in radius from 3 px until 0.75 of its mother's radius, then
  separates and drifts away from the mother at ~2.5 px/frame (kept inside the field of view). Cells are never
  removed, and no cell ever shrinks.
- Brightfield: background ~3000 counts with a smooth illumination gradient, pillar edges dark, cells with a
  dark wall at focus whose contrast inverts through focus (bright interior below focus, dark above), defocus
  blur growing with distance from the middle plane, then Poisson shot noise and Gaussian read noise.
- Fluorescence: every cell has its own GFP (and RFP) concentration (log-normal around ``gfp_level``,
  daughters inherit their mother's within ±15 %), projected through the cell's thickness (a dome), blurred by
  a defocus-dependent PSF, on a camera baseline of 100 counts plus 20 counts of medium autofluorescence, with
  Poisson shot noise and read noise.

Guaranteed statistics (tested): files parse with the layout above, dtype uint16, GFP values above 255 occur;
the mean GFP inside cell masks exceeds the mean outside; the total cell area of each trap is larger in the
last frame than in the first; the same seed gives identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from insilico_core.data.simulate.rendering import gaussian_blur, shot_noise
from insilico_core.data.tiff import write_tiff

CHANNEL_BRIGHTFIELD = "01-BF0"
CHANNEL_GFP = "03-GFPdouble"
CHANNEL_RFP = "04-RFPdouble"
CAMERA_BASELINE = 100.0
MEDIUM_AUTOFLUORESCENCE = 20.0
READ_NOISE = 3.0


@dataclass
class TrapSequence:
    """One simulated trap over time.

    Attributes:
        brightfield, gfp: ``[T, Z, H, W]`` uint16 camera counts.
        rfp: ``[T, Z, H, W]`` uint16, or None when not simulated.
        labels: ``[T, H, W]`` uint16 instance masks (0 = background, cell i = i + 1), shared by all z planes.
    """

    brightfield: np.ndarray
    gfp: np.ndarray
    rfp: np.ndarray | None
    labels: np.ndarray


@dataclass
class _Cell:
    x: float
    y: float
    semi_major: float
    semi_minor: float
    angle: float
    gfp: float
    rfp: float
    mother: int | None = None  # index of the mother while this cell is an attached bud
    direction: float = 0.0  # bud axis (radians) from the mother's centre, also the drift direction later
    drift: float = 0.0  # px / frame once separated
    has_bud: bool = False


def simulate_yeast_timelapse(
    out: Path,
    n: int,
    seed: int,
    frames: int = 8,
    z_planes: int = 3,
    image_size: int = 256,
    traps_per_position: int = 4,
    rfp: bool = True,
    bud_probability: float = 0.35,
    gfp_level: float = 900.0,
) -> Path:
    """Write ``n`` trap time-lapses (frames x z planes x channels TIFFs each) under ``out``; return it."""
    if frames < 1 or z_planes < 1 or traps_per_position < 1:
        raise ValueError("frames, z_planes and traps_per_position must be positive")
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    for index in range(n):
        position, trap = divmod(index, traps_per_position)
        sequence = simulate_trap_sequence(
            rng, frames, z_planes, image_size, rfp=rfp, bud_probability=bud_probability, gfp_level=gfp_level
        )
        channels = [(CHANNEL_BRIGHTFIELD, sequence.brightfield), (CHANNEL_GFP, sequence.gfp)]
        if sequence.rfp is not None:
            channels.append((CHANNEL_RFP, sequence.rfp))
        folder = out / f"Pos{position}"
        for t in range(frames):
            for z in range(z_planes):
                for channel, stack in channels:
                    write_tiff(folder / f"img_{t:09d}_{channel}_{z:03d}_trap_{trap:03d}.tif", stack[t, z])
    return out


def simulate_trap_sequence(
    rng: np.random.Generator,
    frames: int,
    z_planes: int,
    image_size: int,
    rfp: bool = True,
    bud_probability: float = 0.35,
    gfp_level: float = 900.0,
) -> TrapSequence:
    """Simulate one trap in memory, with the instance masks (which the on-disk layout has no place for)."""
    size = image_size
    cells = _initial_cells(rng, size, gfp_level)
    pillar_contrast, wall_visibility = _pillar_contrast(_pillar_distance(size))
    bf_level = rng.uniform(2500.0, 3500.0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    gradient_angle = rng.uniform(0, 2 * np.pi)
    illumination = bf_level * (1.0 + 0.05 * (xx * np.cos(gradient_angle) + yy * np.sin(gradient_angle)))
    focus = np.linspace(-1.0, 1.0, z_planes) if z_planes > 1 else np.zeros(1)
    shape = (frames, z_planes, size, size)
    brightfield = np.empty(shape, np.uint16)
    gfp = np.empty(shape, np.uint16)
    red = np.empty(shape, np.uint16) if rfp else None
    labels = np.empty((frames, size, size), np.uint16)
    for t in range(frames):
        if t > 0:
            _advance(cells, rng, size, bud_probability)
        distance, dome, labels[t] = _cell_fields(cells, size)
        levels = np.array([[c.gfp for c in cells], [c.rfp for c in cells]], np.float32)
        gfp_density, rfp_density = np.tensordot(levels, dome, axes=1)  # sum over cells of level x dome
        inside_cell = np.clip(0.5 - distance, 0.0, 1.0)
        cell_wall = np.exp(-((distance / 1.6) ** 2)) * wall_visibility
        for z, f in enumerate(focus):
            brightfield[t, z] = _brightfield(rng, illumination, pillar_contrast, inside_cell, cell_wall, f)
            gfp[t, z] = _fluorescence(rng, gfp_density, f)
            if red is not None:
                red[t, z] = _fluorescence(rng, rfp_density, f)
    return TrapSequence(brightfield, gfp, red, labels)


def _initial_cells(rng: np.random.Generator, size: int, gfp_level: float) -> list[_Cell]:
    radius = rng.uniform(0.07, 0.085) * size
    aspect = rng.uniform(1.0, 1.15)
    cells = [
        _Cell(
            x=size * 0.5 + rng.normal(0, 0.01 * size),
            y=size * 0.56 - 0.55 * radius,
            semi_major=radius * aspect,
            semi_minor=radius,
            angle=rng.uniform(0, np.pi),
            gfp=gfp_level * rng.lognormal(0.0, 0.35),
            rfp=0.35 * gfp_level * rng.lognormal(0.0, 0.35),
        )
    ]
    for _ in range(rng.integers(0, 3)):  # earlier daughters lingering above the trap
        r = rng.uniform(0.045, 0.07) * size
        side = rng.choice([-1.0, 1.0])
        cells.append(
            _Cell(
                x=size * (0.5 + side * rng.uniform(0.15, 0.3)),
                y=size * rng.uniform(0.2, 0.4),
                semi_major=r * rng.uniform(1.0, 1.15),
                semi_minor=r,
                angle=rng.uniform(0, np.pi),
                gfp=cells[0].gfp * rng.uniform(0.85, 1.15),
                rfp=cells[0].rfp * rng.uniform(0.85, 1.15),
                direction=np.arctan2(-1.0, side),
                drift=rng.uniform(1.5, 3.0),
            )
        )
    return cells


def _advance(cells: list[_Cell], rng: np.random.Generator, size: int, bud_probability: float) -> None:
    """One 10-minute step: growth, bud progression and separation, drift, new buds."""
    for cell in list(cells):
        if cell.mother is None:
            growth = 1.0 + rng.uniform(0.005, 0.015)
            cell.semi_major *= growth
            cell.semi_minor *= growth
            margin = cell.semi_major
            cell.x = float(np.clip(cell.x + cell.drift * np.cos(cell.direction), margin, size - margin))
            cell.y = float(np.clip(cell.y + cell.drift * np.sin(cell.direction), margin, size - margin))
            continue
        mother = cells[cell.mother]
        growth = rng.uniform(1.18, 1.26)
        cell.semi_major *= growth
        cell.semi_minor *= growth
        if cell.semi_minor >= 0.75 * mother.semi_minor:
            cell.mother = None
            cell.drift = rng.uniform(2.0, 3.0)
            mother.has_bud = False
        _attach(cell, mother)
    for index, cell in enumerate(list(cells)):
        if cell.mother is None and not cell.has_bud and rng.random() < bud_probability:
            # buds emerge on the side facing away from the pillars (upwards, angles in (-pi, 0))
            direction = rng.uniform(-0.85 * np.pi, -0.15 * np.pi)
            bud = _Cell(
                x=cell.x,
                y=cell.y,
                semi_major=3.0,
                semi_minor=3.0,
                angle=direction,
                gfp=cell.gfp * rng.uniform(0.85, 1.15),
                rfp=cell.rfp * rng.uniform(0.85, 1.15),
                mother=index,
                direction=direction,
            )
            _attach(bud, cell)
            cell.has_bud = True
            cells.append(bud)


def _attach(bud: _Cell, mother: _Cell) -> None:
    """Place a bud on its mother's boundary along the bud axis (overlapping slightly at the bud neck)."""
    reach = 0.5 * (mother.semi_major + mother.semi_minor) + 0.8 * bud.semi_minor
    bud.x = mother.x + reach * np.cos(bud.direction)
    bud.y = mother.y + reach * np.sin(bud.direction)


def _cell_fields(cells: list[_Cell], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed distance to the nearest cell wall (px, negative inside), per-cell thickness domes, labels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.full((size, size), np.inf, np.float32)
    domes = np.empty((len(cells), size, size), np.float32)
    labels = np.zeros((size, size), np.uint16)
    for index, cell in enumerate(cells):
        cos, sin = np.cos(cell.angle), np.sin(cell.angle)
        u = (xx - cell.x) * cos + (yy - cell.y) * sin
        v = -(xx - cell.x) * sin + (yy - cell.y) * cos
        rho = np.sqrt((u / cell.semi_major) ** 2 + (v / cell.semi_minor) ** 2)
        gradient = np.sqrt((u / cell.semi_major**2) ** 2 + (v / cell.semi_minor**2) ** 2) / np.maximum(
            rho, 1e-9
        )
        cell_distance = (rho - 1.0) / np.maximum(gradient, 1e-9)
        distance = np.minimum(distance, cell_distance)
        domes[index] = np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0))
        labels[cell_distance < 0] = index + 1
    return distance, domes, labels


def _pillar_distance(size: int) -> np.ndarray:
    """Signed distance (px) to the two rounded PDMS pillars that form the trap's cup."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    half = np.array([0.08, 0.2]) * size
    corner = 0.04 * size
    distance = np.full((size, size), np.inf)
    for centre_x in (0.36 * size, 0.64 * size):
        qx = np.abs(xx - centre_x) - half[0] + corner
        qy = np.abs(yy - 0.76 * size) - half[1] + corner
        outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
        distance = np.minimum(distance, outside + np.minimum(np.maximum(qx, qy), 0) - corner)
    return distance


def _pillar_contrast(pillars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brightfield contrast of the PDMS pillars (darker body, dark edge, faint bright halo) and the factor by
    which a cell wall seen through a pillar is attenuated."""
    inside_pillar = np.clip(0.5 - pillars, 0.0, 1.0)
    edge = np.exp(-((pillars / 1.5) ** 2))
    halo = np.exp(-(((pillars - 4.0) / 2.0) ** 2))
    return 1.0 - 0.1 * inside_pillar - 0.3 * edge + 0.08 * halo, 1.0 - 0.5 * inside_pillar


def _brightfield(
    rng: np.random.Generator,
    illumination: np.ndarray,
    pillar_contrast: np.ndarray,
    inside_cell: np.ndarray,
    cell_wall: np.ndarray,
    focus: float,
) -> np.ndarray:
    """One brightfield plane at defocus ``focus`` in [-1, 1] (0 = in focus)."""
    interior = 0.04 - 0.15 * focus  # bright below focus, dark above
    wall = -0.45 + 0.55 * max(focus, 0.0) + 0.15 * max(-focus, 0.0)  # dark at focus, inverts above
    contrast = pillar_contrast + interior * inside_cell + wall * cell_wall
    signal = gaussian_blur(illumination * contrast, 0.8 + 1.0 * abs(focus))
    return _camera(rng, signal, baseline=0.0)


def _fluorescence(rng: np.random.Generator, density: np.ndarray, focus: float) -> np.ndarray:
    """One fluorescence plane: cell signal blurred by the defocused PSF, medium autofluorescence, camera."""
    signal = gaussian_blur(density, 1.2 + 1.2 * abs(focus)) + MEDIUM_AUTOFLUORESCENCE
    return _camera(rng, signal, baseline=CAMERA_BASELINE)


def _camera(rng: np.random.Generator, photons: np.ndarray, baseline: float) -> np.ndarray:
    """Shot noise, baseline and read noise, rounded to uint16 counts."""
    counts = shot_noise(rng, photons)
    counts += baseline + READ_NOISE * rng.standard_normal(photons.shape, np.float32)
    np.clip(np.rint(counts, out=counts), 0, np.iinfo(np.uint16).max, out=counts)
    return counts.astype(np.uint16)
