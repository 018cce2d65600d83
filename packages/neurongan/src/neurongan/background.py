"""Background statistics of a neuron image and the noise padding of neuron-gan's dataset (spec §4.2).

The original finds the dark background with ``skimage.filters.threshold_multiotsu(image, classes=4)``: the
"noise" pixels are those with ``0 < v < t0``. Their mean and standard deviation parametrise the Gaussian noise
that replaces every zero pixel after padding, so that rotations and translations never show a black border.
The multi-Otsu search here is the same criterion (maximal between-class variance of the 8-bit histogram, one
bin per grey value) solved by dynamic programming instead of an exhaustive search, so scikit-image is not
needed at run time.
"""

from __future__ import annotations

import numpy as np


def multiotsu_thresholds(image: np.ndarray, classes: int = 4) -> np.ndarray:
    """Multi-Otsu thresholds of an integer image: ``classes - 1`` grey values, ascending.

    Each threshold is the last grey value of its class (scikit-image's convention). The histogram has one
    bin per integer value between the image's minimum and maximum.
    """
    values = np.asarray(image)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"multi-Otsu thresholds need an integer image, got dtype {values.dtype}")
    low = int(values.min())
    hist = np.bincount((values.ravel() - low).astype(np.int64)).astype(np.float64)
    prob = hist / hist.sum()
    levels = np.arange(len(prob), dtype=np.float64) + low
    occupied = np.flatnonzero(prob)
    if len(occupied) < classes:
        raise ValueError(
            f"the image has only {len(occupied)} distinct grey values; {classes}-class "
            "thresholding needs more"
        )
    if len(occupied) == classes:
        return levels[occupied[:-1]]
    weight = np.concatenate([[0.0], np.cumsum(prob)])
    moment = np.concatenate([[0.0], np.cumsum(prob * levels)])
    n = len(prob)
    # score[i, j]: (sum of p*v)^2 / (sum of p) over bins i..j (0 where the class is empty)
    seg_w = weight[None, 1:] - weight[:-1, None]
    seg_m = moment[None, 1:] - moment[:-1, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(seg_w > 0, seg_m**2 / seg_w, 0.0)
    score = np.where(np.triu(np.ones((n, n), dtype=bool)), score, -np.inf)
    best = score[0].copy()  # best[j]: best value of the first k classes ending at bin j
    choices = []
    for _ in range(classes - 1):
        # candidate[i, j]: first classes end at bin i, the next class covers bins i+1..j
        candidate = best[:-1, None] + score[1:, :]
        arg = np.argmax(candidate, axis=0)
        best = np.concatenate([[-np.inf], candidate[arg, np.arange(n)][1:]])
        choices.append(arg)
    ends = [n - 1]
    for arg in reversed(choices):
        ends.append(int(arg[ends[-1]]))
    return levels[np.array(ends[1:][::-1])]


def background_noise_stats(image: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of the background pixels ``0 < v < t0`` (t0: first of the
    4-class multi-Otsu thresholds), as float64."""
    values = np.asarray(image)
    t0 = multiotsu_thresholds(values, classes=4)[0]
    noise = values[(values > 0) & (values < t0)].astype(np.float64)
    if noise.size == 0:
        raise ValueError(
            "the image has no background pixels between 0 and the first Otsu threshold "
            f"({t0}); neuron-gan's noise padding needs a noisy, non-zero background"
        )
    return float(noise.mean()), float(noise.std())


def pad_with_noise(
    image: np.ndarray, pad: int, mean: float, std: float, rng: np.random.Generator
) -> np.ndarray:
    """Pad a uint8 image by ``pad`` zeros per side, then replace every zero pixel (padding and any zero
    inside) by a draw of ``N(mean, std)`` truncated to an integer in 0..255 (the original truncated too,
    but let negative draws wrap around)."""
    padded = np.pad(np.asarray(image, dtype=np.uint8), pad, mode="constant")
    noise = rng.standard_normal(padded.shape) * std + mean
    zero = padded == 0
    padded[zero] = np.clip(noise[zero], 0, 255).astype(np.uint8)
    return padded
