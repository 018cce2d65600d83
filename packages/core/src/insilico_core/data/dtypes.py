"""Explicit pixel-type conversions.

Writers in this package store pixels in the dtype they are given and never rescale. Turning floating-point
values into camera-like integer counts is a decision with a value range attached, so it is a separate,
explicit call: :func:`float_to_integer`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INTEGER_IMAGE_DTYPES = (np.uint8, np.uint16)


def float_to_integer(
    array: np.ndarray, dtype: str | np.dtype = "uint16", value_range: tuple[float, float] = (0.0, 1.0)
) -> np.ndarray:
    """Map floats in ``value_range`` linearly onto the full range of an unsigned integer ``dtype``.

    ``value_range[0]`` maps to 0 and ``value_range[1]`` to the dtype's maximum (255 or 65535); values outside
    are clipped, then rounded to the nearest integer. Use before writing float data to an 8/16-bit format.
    """
    target = np.dtype(dtype)
    if target not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError(f"dtype must be uint8 or uint16, got {target}")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    values = np.asarray(array, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("array contains NaN or infinite values; they have no integer representation")
    top = np.iinfo(target).max
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * top
    return np.rint(scaled).astype(target)


def require_dtype(array: np.ndarray, allowed: tuple[type, ...], path: Path, format_name: str) -> None:
    """Raise a ValueError naming ``path`` when ``format_name`` cannot store ``array``'s dtype losslessly."""
    if array.dtype not in tuple(np.dtype(a) for a in allowed):
        names = ", ".join(np.dtype(a).name for a in allowed)
        hint = ""
        if array.dtype.kind == "f":
            hint = " (convert explicitly with insilico_core.data.float_to_integer)"
        raise ValueError(f"{path}: {format_name} stores {names}; got dtype {array.dtype}{hint}")
