"""Morpho-MNIST-like digits with known thickness, intensity and slant, split into two sources that observe
different covariates, written in the MSSG (Multi-Source StyleGAN) dataset layout. No MNIST download: digits
are drawn from built-in stroke skeletons.

Layout written under ``out`` (two dataset roots; pass each to MSSG as ``--data1`` / ``--data2`` with
``--data_name1/2 mnist-thickness-intensity-slant``; the source is read from the ``_source<k>`` suffix)::

    out/mnist_source1/{trainset,valset,testset}/00000/img00000000.png   32x32 PNG, mode "L"
    out/mnist_source1/{trainset,valset,testset}/dataset.json
    out/mnist_source2/...                                                same
    dataset.json = {"labels": [["00000/img00000000.png",
                                {"thickness": t, "intensity": i, "slant": s, "label": 7.0}], ...]}

``n`` is the number of training images per source; ``valset`` and ``testset`` hold ``max(1, n // 8)`` each.
Image ``idx`` of a split is ``{idx // 1000:05d}/img{idx:08d}.png`` (the stylegan dataset_tool naming). The
digit class is stored as a float, as in the original files. Source1 observes (thickness, intensity), source2
(thickness, slant): MSSG's loader reads only those, but, as in the original data, every source's labels also
carry the unobserved covariate as ground truth for evaluation (``full_labels=False`` leaves it out).

Covariates follow MSSG's ground-truth structural equations (its ``--use_ground_truth`` sampler):
thickness t = 0.5 + Gamma(shape 10, rate 5) px; intensity = 64 + 191 * sigmoid(2 t - 5 + N(0, 0.5)) (stroke
grey level, 0-255); slant = 56 * tanh(t - 2.5 + N(0, 0.3)) degrees (positive = top leaning right). Digit
classes are uniform.

Rendering: the digit's stroke skeleton (with small random shape jitter) is sheared by tan(slant) about the
image centre (and shrunk uniformly if it would leave the canvas) and drawn as anti-aliased strokes of width t
and grey level = intensity on a 28x28 canvas, then zero-padded to 32x32.

Guaranteed statistics (tested): stroke thickness estimated as foreground area / skeleton length correlates
with the thickness covariate (Pearson > 0.8); the mean grey level of the (Otsu) foreground follows the
intensity covariate (Pearson > 0.95); the shear angle estimated from second-order image moments correlates
with slant (Pearson > 0.9).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from insilico_core.data.png import write_png
from insilico_core.data.simulate.rendering import draw_capsules

CANVAS = 28
PADDING = 2
BOX = 20.0  # the digit skeleton's unit square maps onto the central 20x20 px, like MNIST
SOURCES = {"source1": ("thickness", "intensity"), "source2": ("thickness", "slant")}
COVARIATES = ("thickness", "intensity", "slant")


def _ellipse(
    cx: float, cy: float, rx: float, ry: float, start: float = 0.0, stop: float = 2 * np.pi, k: int = 24
):
    angles = np.linspace(start, stop, k)
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Stroke skeletons per digit: polylines in the unit square, x to the right, y downwards.
DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse(0.5, 0.5, 0.28, 0.42)],
    1: [[(0.38, 0.2), (0.52, 0.06), (0.52, 0.94)]],
    2: [
        [
            (0.24, 0.28),
            (0.32, 0.13),
            (0.5, 0.06),
            (0.68, 0.12),
            (0.75, 0.28),
            (0.68, 0.45),
            (0.24, 0.92),
            (0.78, 0.92),
        ]
    ],
    3: [
        [(0.26, 0.14), (0.45, 0.06), (0.65, 0.1), (0.73, 0.26), (0.63, 0.42), (0.45, 0.48)],
        [(0.45, 0.48), (0.67, 0.55), (0.75, 0.72), (0.65, 0.88), (0.45, 0.94), (0.24, 0.86)],
    ],
    4: [[(0.62, 0.94), (0.62, 0.06), (0.2, 0.66), (0.82, 0.66)]],
    5: [
        [(0.74, 0.06), (0.33, 0.06), (0.29, 0.44)],
        [
            (0.29, 0.44),
            (0.48, 0.38),
            (0.67, 0.44),
            (0.76, 0.62),
            (0.71, 0.81),
            (0.55, 0.93),
            (0.36, 0.93),
            (0.24, 0.84),
        ],
    ],
    6: [
        [(0.7, 0.08), (0.5, 0.08), (0.34, 0.22), (0.27, 0.45), (0.27, 0.7)]
        + _ellipse(0.5, 0.71, 0.23, 0.22, np.pi, 3 * np.pi, 20)
    ],
    7: [[(0.22, 0.08), (0.78, 0.08), (0.42, 0.94)]],
    8: [
        _ellipse(0.5, 0.28, 0.2, 0.21, np.pi / 2, 5 * np.pi / 2),
        _ellipse(0.5, 0.71, 0.25, 0.23, -np.pi / 2, 3 * np.pi / 2),
    ],
    9: [_ellipse(0.5, 0.3, 0.23, 0.22, 0.0, 2 * np.pi, 20) + [(0.73, 0.3), (0.7, 0.94)]],
}


def sample_covariates(rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    """Draw ``count`` (thickness, intensity, slant, label) tuples from MSSG's ground-truth equations."""
    thickness = 0.5 + rng.gamma(10.0, 1.0 / 5.0, count)
    intensity = 64.0 + 191.0 / (1.0 + np.exp(-(2.0 * thickness - 5.0 + rng.normal(0.0, 0.5, count))))
    slant = 56.0 * np.tanh(thickness - 2.5 + rng.normal(0.0, 0.3, count))
    label = rng.integers(0, 10, count)
    return {"thickness": thickness, "intensity": intensity, "slant": slant, "label": label}


def render_digit(
    rng: np.random.Generator, digit: int, thickness: float, intensity: float, slant_degrees: float
) -> np.ndarray:
    """One ``[32, 32]`` uint8 digit: strokes ``thickness`` px wide at grey level ``intensity``, slanted."""
    if digit not in DIGIT_STROKES:
        raise ValueError(f"digit must be 0-9, got {digit}")
    scale = rng.uniform(0.9, 1.05)
    aspect = rng.uniform(0.85, 1.1)
    shear = np.tan(np.radians(slant_degrees))
    centre = CANVAS / 2.0
    strokes = []
    for stroke in DIGIT_STROKES[digit]:
        points = np.asarray(stroke, np.float64) - 0.5 + rng.normal(0.0, 0.012, (len(stroke), 2))
        x = points[:, 0] * BOX * scale * aspect
        y = points[:, 1] * BOX * scale
        strokes.append(
            np.stack([x - shear * y, y], axis=1)
        )  # y points down: positive slant moves the top right
    # a strongly slanted digit is shrunk (uniformly, so its slant is kept) until it fits the canvas
    extent = np.abs(np.concatenate(strokes)).max(axis=0) * 2.0
    fit = min(1.0, (CANVAS - thickness - 1.0) / extent.max())
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    for polyline in strokes:
        polyline = polyline * fit + centre
        draw_capsules(canvas, polyline[:-1], polyline[1:], thickness / 2.0, thickness / 2.0, 1.0)
    pixels = np.rint(np.clip(canvas, 0.0, 1.0) * intensity).astype(np.uint8)
    return np.pad(pixels, PADDING)


def simulate_morpho_digits(out: Path, n: int, seed: int, full_labels: bool = True) -> Path:
    """Write two MSSG Morpho-MNIST-style sources of ``n`` training images each under ``out``; return it."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    held_out = max(1, n // 8)
    for source, observed in SOURCES.items():
        root = out / f"mnist_{source}"
        for split, count in (("trainset", n), ("valset", held_out), ("testset", held_out)):
            _write_split(rng, root / split, count, COVARIATES if full_labels else observed)
    return out


def _write_split(rng: np.random.Generator, folder: Path, count: int, recorded: tuple[str, ...]) -> None:
    covariates = sample_covariates(rng, count)
    labels = []
    for index in range(count):
        name = f"{index // 1000:05d}/img{index:08d}.png"
        digit = int(covariates["label"][index])
        image = render_digit(
            rng,
            digit,
            covariates["thickness"][index],
            covariates["intensity"][index],
            covariates["slant"][index],
        )
        write_png(folder / name, image)
        record = {key: float(covariates[key][index]) for key in recorded}
        record["label"] = float(digit)
        labels.append([name, record])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.json").write_text(json.dumps({"labels": labels}))
