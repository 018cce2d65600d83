"""Class IV sensory neurons (bright, space-filling dendritic arbor + soma on a dark noisy background), written
as the neuron-gan training folder.

Layout written under ``out`` (the dataset root, read by neuron-gan as one flat folder, no splits)::

    out/neuron_<i:04d>.png      i = 0 .. n-1; 512x512, 8-bit single channel (PIL mode "L")

The model, per image:
- Arbor: a soma (disk, radius 7-10 px) near the centre sends out 4-7 primary dendrites. Every growing tip
  advances 3 px per step with a persistent heading (random-walk turning, sigma 0.22 rad/step, pulled gently
  away from the soma), branches with ``branch_probability`` per step (child heading 0.5-1.2 rad off, width
  x0.8), and stops when it leaves the image margin, when its width falls below 1 px, or when three ever
  sharper turns all enter 6 px grid cells already claimed by other branches (self-avoidance, which makes
  class IV arbors tile space). Widths start at 2.2-3.0 px and
  taper by 0.6 % per step.
- Image formation: tapered capsules rendered anti-aliased (brightness rising with width), optical blur
  (sigma 0.8 px), then background fluorescence of 20 photons, Poisson shot noise and read noise, clipped to
  0-255.

Guaranteed statistics (tested): uint8, 512x512, mode "L"; the foreground (pixels above 60) forms one
connected component holding nearly all of it; its skeleton has many branch points; the background is noisy
and mostly non-zero, so neuron-gan's multi-Otsu background estimate (pixels with 0 < v < t0) is defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from insilico_core.data.png import write_png
from insilico_core.data.simulate.rendering import draw_capsules, gaussian_blur, shot_noise

STEP = 3.0
GRID = 6
MIN_WIDTH = 1.0
TAPER = 0.994
TURN_SIGMA = 0.22
GRACE_STEPS = 3  # steps a new branch may cross cells of the branch it left
TURN_ATTEMPTS = 3
OUTWARD_PULL = 0.08  # rad per step towards the direction pointing away from the soma
BACKGROUND_PHOTONS = 20.0
SIGNAL_PHOTONS = 230.0
READ_NOISE = 2.0


@dataclass
class _Tip:
    x: float
    y: float
    heading: float
    width: float
    branch: int
    parent: int
    age: int = 0


def simulate_neurons(
    out: Path,
    n: int,
    seed: int,
    image_size: int = 512,
    branch_probability: float = 0.1,
    max_segments: int = 4000,
) -> Path:
    """Write ``n`` simulated neuron images as 8-bit PNGs directly under ``out``; returns ``out``."""
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    for index in range(n):
        write_png(
            out / f"neuron_{index:04d}.png", render_neuron(rng, image_size, branch_probability, max_segments)
        )
    return out


def render_neuron(
    rng: np.random.Generator, image_size: int = 512, branch_probability: float = 0.1, max_segments: int = 4000
) -> np.ndarray:
    """One ``[image_size, image_size]`` uint8 neuron image."""
    size = image_size
    soma = rng.normal(size / 2, size / 20, 2)
    soma_radius = rng.uniform(7.0, 10.0) * size / 512
    starts, ends, widths_start, widths_end = _grow_arbor(
        rng, size, soma, soma_radius, branch_probability, max_segments
    )
    canvas = np.zeros((size, size), np.float32)
    brightness = 0.6 + 0.4 * np.clip(widths_start / 3.0, 0.0, 1.0)
    draw_capsules(canvas, starts, ends, widths_start / 2, widths_end / 2, brightness)
    draw_capsules(canvas, soma[None], soma[None], soma_radius, soma_radius, 1.0)
    photons = SIGNAL_PHOTONS * gaussian_blur(canvas, 0.8) + BACKGROUND_PHOTONS
    counts = shot_noise(rng, photons) + READ_NOISE * rng.standard_normal(photons.shape, np.float32)
    return np.clip(np.rint(counts), 0, 255).astype(np.uint8)


def _grow_arbor(
    rng: np.random.Generator,
    size: int,
    soma: np.ndarray,
    soma_radius: float,
    branch_probability: float,
    max_segments: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grow the dendrite tree: segment starts and ends ``[N, 2]`` as (x, y), widths at both ends ``[N]``."""
    cells = size // GRID + 1
    owner = np.full((cells, cells), -1, np.int64)
    margin = 0.04 * size
    primaries = int(rng.integers(4, 8))
    angles = np.linspace(0, 2 * np.pi, primaries, endpoint=False) + rng.uniform(0, 2 * np.pi)
    angles += rng.normal(0, 0.25, primaries)
    tips = [
        _Tip(
            soma[0] + soma_radius * np.cos(a),
            soma[1] + soma_radius * np.sin(a),
            a,
            rng.uniform(2.2, 3.0),
            k,
            -1,
        )
        for k, a in enumerate(angles)
    ]
    next_branch = primaries
    segments: list[tuple[float, float, float, float, float, float]] = []
    while tips and len(segments) < max_segments:
        survivors = []
        for tip in tips:
            step = _free_step(rng, tip, soma, owner, size, margin)
            if step is None:
                continue
            x, y, heading = step
            owner[int(y) // GRID, int(x) // GRID] = tip.branch
            width = tip.width * TAPER
            segments.append((tip.x, tip.y, x, y, tip.width, width))
            if width < MIN_WIDTH:
                continue
            survivors.append(_Tip(x, y, heading, width, tip.branch, tip.parent, tip.age + 1))
            if rng.random() < branch_probability:
                side = rng.choice([-1.0, 1.0])
                child_heading = heading + side * rng.uniform(0.5, 1.2)
                survivors.append(
                    _Tip(x, y, child_heading, max(0.8 * width, MIN_WIDTH), next_branch, tip.branch)
                )
                next_branch += 1
        tips = survivors
    array = np.array(segments, np.float64).reshape(-1, 6)
    return array[:, 0:2], array[:, 2:4], array[:, 4], array[:, 5]


def _free_step(
    rng: np.random.Generator, tip: _Tip, soma: np.ndarray, owner: np.ndarray, size: int, margin: float
) -> tuple[float, float, float] | None:
    """Next point and heading of a tip: a persistent random walk pulled gently away from the soma; when the
    step would enter another branch's territory, up to ``TURN_ATTEMPTS`` sharper turns are tried."""
    outward = np.arctan2(tip.y - soma[1], tip.x - soma[0])
    drift = OUTWARD_PULL * np.sin(outward - tip.heading)
    for attempt in range(TURN_ATTEMPTS):
        heading = tip.heading + drift + rng.normal(0, TURN_SIGMA * (1 + 2 * attempt))
        x, y = tip.x + STEP * np.cos(heading), tip.y + STEP * np.sin(heading)
        if not (margin <= x < size - margin and margin <= y < size - margin):
            return None
        claimed = owner[int(y) // GRID, int(x) // GRID]
        if claimed in (-1, tip.branch) or (tip.age < GRACE_STEPS and claimed == tip.parent):
            return x, y, heading
    return None
