"""Image formation shared by the simulators: anti-aliased tapered strokes, a separable Gaussian blur and
photon shot noise (numpy).

Strokes are capsules (segments with round caps, radius interpolated along the segment), rendered by exact
distance to the segment with a one-pixel linear coverage ramp, so the integral of a straight stroke across
its direction equals its width: thickness measured as foreground area / skeleton length recovers the width.
"""

from __future__ import annotations

import numpy as np


def draw_capsules(
    canvas: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    radii_start: np.ndarray,
    radii_end: np.ndarray,
    values: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Max-composite tapered segments onto ``canvas`` in place and return it.

    Args:
        canvas: ``[H, W]`` float array; pixel ``(row, col)`` has its centre at ``(x=col, y=row)``.
        starts, ends: ``[N, 2]`` segment end points as ``(x, y)`` in pixels.
        radii_start, radii_end: ``[N]`` half-widths at each end point (pixels).
        values: peak value of each segment (scalar or ``[N]``); coverage scales it.
    """
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    ends = np.asarray(ends, dtype=np.float64).reshape(-1, 2)
    count = len(starts)
    radii_start = np.broadcast_to(np.asarray(radii_start, dtype=np.float64), (count,))
    radii_end = np.broadcast_to(np.asarray(radii_end, dtype=np.float64), (count,))
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), (count,))
    height, width = canvas.shape
    for a, b, r0, r1, value in zip(starts, ends, radii_start, radii_end, values, strict=True):
        reach = max(r0, r1) + 1.0
        x0, x1 = int(np.floor(min(a[0], b[0]) - reach)), int(np.ceil(max(a[0], b[0]) + reach))
        y0, y1 = int(np.floor(min(a[1], b[1]) - reach)), int(np.ceil(max(a[1], b[1]) + reach))
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
        if x0 > x1 or y0 > y1:
            continue
        ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        direction = b - a
        length_sq = float(direction @ direction)
        if length_sq > 0:
            t = np.clip(((xs - a[0]) * direction[0] + (ys - a[1]) * direction[1]) / length_sq, 0.0, 1.0)
        else:
            t = np.zeros(xs.shape)
        distance = np.hypot(xs - (a[0] + t * direction[0]), ys - (a[1] + t * direction[1]))
        coverage = np.clip(r0 + t * (r1 - r0) - distance + 0.5, 0.0, 1.0)
        window = canvas[y0 : y1 + 1, x0 : x1 + 1]
        np.maximum(window, value * coverage, out=window)
    return canvas


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of the last two axes (kernel radius 3 sigma, reflected borders), float32."""
    if sigma <= 0:
        return np.array(image, dtype=np.float32)
    radius = max(1, int(np.ceil(3.0 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    result = np.asarray(image, dtype=np.float32)
    for axis in (result.ndim - 2, result.ndim - 1):
        pad = [(0, 0)] * result.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(result, pad, mode="reflect")
        size = result.shape[axis]
        window = [slice(None)] * result.ndim
        blurred = np.zeros_like(result)
        for k, weight in enumerate(kernel):
            window[axis] = slice(k, k + size)
            blurred += weight * padded[tuple(window)]
        result = blurred
    return result


POISSON_EXACT_BELOW = 20.0


def shot_noise(rng: np.random.Generator, photons: np.ndarray) -> np.ndarray:
    """Poisson-distributed counts with mean ``photons`` (negative means count as 0).

    Exact Poisson draws below 20 expected photons; from there on the normal approximation N(mean, mean)
    (mean and variance exact, skewness 1/sqrt(mean) <= 0.22 neglected), several times cheaper per pixel.
    """
    mean = np.clip(np.asarray(photons, dtype=np.float32), 0.0, None)
    counts = mean + np.sqrt(mean) * rng.standard_normal(mean.shape, dtype=np.float32)
    low = mean < POISSON_EXACT_BELOW
    counts[low] = rng.poisson(mean[low])
    return np.maximum(counts, 0.0, out=counts)
