"""The numpy globals that numpy's own pickles of arrays, dtypes and scalars reference.

numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles written under numpy 1 name
``numpy.core.multiarray._reconstruct`` / ``numpy.core.multiarray.scalar``, pickles written under numpy 2 name
``numpy._core.multiarray...``. Both spellings are mapped to the functions of the numpy that is installed, so a
file from either era reads without importing the deprecated ``numpy.core`` shim.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

# Characters of every non-object builtin dtype: bool, ints, uints, floats, complex, datetime, timedelta,
# bytes, str.
_DTYPE_CHARS = "?bBhHiIlLqQefdgFDGMmSUV"


def _multiarray() -> Any:
    """The installed numpy's ``multiarray`` module (``numpy._core`` on numpy 2, ``numpy.core`` on numpy 1)."""
    try:
        return importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 1.26 has no numpy._core
        return importlib.import_module("numpy.core.multiarray")


def numpy_pickle_globals() -> dict[str, Any]:
    """Map each dotted name numpy pickles use (numpy-1 and numpy-2 spellings) to the installed object.

    Covers exactly what arrays (``_reconstruct``, ``ndarray``), dtypes (``dtype``) and scalars (``scalar``)
    need; nothing that can run arbitrary code.
    """
    multiarray = _multiarray()
    names: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for package in ("numpy.core", "numpy._core"):
        names[f"{package}.multiarray._reconstruct"] = multiarray._reconstruct
        names[f"{package}.multiarray.scalar"] = multiarray.scalar
    return names


def numpy_dtype_classes() -> list[type]:
    """The concrete dtype classes (``numpy.dtypes.Float64DType`` ...) whose instances a pickle may BUILD."""
    return sorted({type(np.dtype(char)) for char in _DTYPE_CHARS}, key=lambda cls: cls.__name__)
