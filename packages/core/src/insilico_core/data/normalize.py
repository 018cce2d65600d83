"""Intensity normalisation of microscopy images, for torch tensors and numpy arrays alike.

Each function takes a tensor or an array and returns the same kind (numpy in, numpy out), floating point
(integer inputs become float32). Statistics are taken per image over ``dims`` (default: the last two axes,
i.e. per ``[H, W]`` plane, as Multi-StyleGAN normalises each brightfield frame); every other axis is treated
as an independent image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

ArrayLike = TypeVar("ArrayLike", torch.Tensor, np.ndarray)

PLANE_DIMS = (-2, -1)


def normalize_minmax(x: ArrayLike, dims: Sequence[int] = PLANE_DIMS, eps: float = 1e-8) -> ArrayLike:
    """Map each image linearly to [0, 1]: ``(x - min) / max(max - min, eps)``; a constant image maps to 0."""
    values = _as_float_tensor(x)
    dims = _normalised_dims(dims, values.ndim)
    low = values.amin(dim=dims, keepdim=True)
    high = values.amax(dim=dims, keepdim=True)
    return _like(x, (values - low) / (high - low).clamp_min(eps))


def normalize_percentile(
    x: ArrayLike,
    low: float = 1.0,
    high: float = 99.8,
    dims: Sequence[int] = PLANE_DIMS,
    clip: bool = True,
    eps: float = 1e-8,
) -> ArrayLike:
    """Map each image's ``low``-th percentile to 0 and ``high``-th to 1 (linear interpolation, as numpy).

    Robust to hot pixels and saturated spots: ``(x - p_low) / max(p_high - p_low, eps)``, clipped to [0, 1]
    when ``clip`` (outliers outside the percentile range otherwise extend past [0, 1]).
    """
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}")
    values = _as_float_tensor(x)
    dims = _normalised_dims(dims, values.ndim)
    p_low, p_high = (_quantile(values, q / 100.0, dims) for q in (low, high))
    result = (values - p_low) / (p_high - p_low).clamp_min(eps)
    return _like(x, result.clamp(0.0, 1.0) if clip else result)


def clamp_to_range(
    x: ArrayLike, low: float, high: float, target: tuple[float, float] = (0.0, 1.0)
) -> ArrayLike:
    """Clamp to the fixed range ``[low, high]`` and map it linearly onto ``target`` (e.g. (0, 1) or (-1, 1)).

    The same fixed range for every image keeps intensities comparable across a dataset (fluorescence counts),
    unlike the per-image normalisations above.
    """
    if not high > low:
        raise ValueError(f"clamp_to_range needs high > low, got low={low}, high={high}")
    out_low, out_high = target
    values = _as_float_tensor(x).clamp(low, high)
    return _like(x, (values - low) / (high - low) * (out_high - out_low) + out_low)


def _as_float_tensor(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    return x if x.is_floating_point() else x.to(torch.float32)


def _like(original: torch.Tensor | np.ndarray, result: torch.Tensor) -> torch.Tensor | np.ndarray:
    return result.numpy() if isinstance(original, np.ndarray) else result


def _normalised_dims(dims: Sequence[int], ndim: int) -> tuple[int, ...]:
    normalised = set()
    for dim in dims:
        if not -ndim <= dim < ndim:
            raise ValueError(f"dim {dim} is out of range for an input with {ndim} dimensions")
        normalised.add(dim % ndim)
    if not normalised:
        raise ValueError("dims must name at least one axis")
    return tuple(sorted(normalised))


def _quantile(values: torch.Tensor, q: float, dims: tuple[int, ...]) -> torch.Tensor:
    """Quantile over ``dims`` (kept as size-1 axes), numpy's default linear interpolation, any input size."""
    kept = [d for d in range(values.ndim) if d not in dims]
    moved = values.permute(*kept, *dims).reshape(*[values.shape[d] for d in kept], -1)
    ordered = moved.sort(dim=-1).values
    position = q * (ordered.shape[-1] - 1)
    below = int(np.floor(position))
    above = min(below + 1, ordered.shape[-1] - 1)
    fraction = position - below
    result = ordered[..., below] + (ordered[..., above] - ordered[..., below]) * fraction
    shape = [1 if d in dims else values.shape[d] for d in range(values.ndim)]
    return result.reshape(shape)
