"""HDF5 arrays with h5py: write named arrays to one file, read one back, dtypes kept exactly."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np


def write_hdf5(
    path: str | Path,
    data: np.ndarray | Mapping[str, np.ndarray],
    key: str = "data",
    compression: str | None = None,
) -> Path:
    """Write one array (under ``key``) or a mapping ``name -> array`` to a new HDF5 file, dtypes unchanged.

    ``compression`` is an h5py filter name (``"gzip"``, ``"lzf"``) or None. An existing file is replaced.
    """
    path = Path(path)
    arrays = {key: data} if not isinstance(data, Mapping) else dict(data)
    if not arrays:
        raise ValueError(f"{path}: nothing to write (empty mapping)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        for name, array in arrays.items():
            array = np.asarray(array)
            if array.dtype.kind == "O":
                raise ValueError(f"{path}: array {name!r} has object dtype; HDF5 stores numeric arrays")
            chunked = compression is not None and array.ndim > 0 and array.size > 0
            file.create_dataset(name, data=array, compression=compression if chunked else None)
    return path


def read_hdf5(path: str | Path, key: str = "data") -> np.ndarray:
    """Read the whole dataset ``key`` of an HDF5 file as a numpy array in its stored dtype."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such HDF5 file")
    try:
        with h5py.File(path, "r") as file:
            if key not in file or not isinstance(file[key], h5py.Dataset):
                available = ", ".join(sorted(file.keys())) or "none"
                raise KeyError(f"{path}: no dataset {key!r} (datasets: {available})")
            return file[key][()]
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error})") from error
