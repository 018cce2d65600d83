"""Microscopy data: TIFF / PNG / JPEG / HDF5 I/O that keeps bit depth and metadata, HDF5 caching of datasets,
intensity normalisation, joint augmentations for paired images, a folder dataset, and simulators
(``insilico_core.data.simulate``).

Names are imported on first use (PEP 562), so ``import insilico_core.data`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ImageData": "image_data",
    "float_to_integer": "dtypes",
    "read_tiff": "tiff",
    "write_tiff": "tiff",
    "write_imagej_hyperstack": "tiff",
    "read_png": "png",
    "write_png": "png",
    "write_jpeg": "png",
    "read_nifti": "nifti",
    "write_nifti": "nifti",
    "read_image": "image_io",
    "write_image": "image_io",
    "IMAGE_SUFFIXES": "image_io",
    "read_hdf5": "hdf5",
    "write_hdf5": "hdf5",
    "cache_to_hdf5": "hdf5_cache",
    "HDF5Dataset": "hdf5_cache",
    "normalize_minmax": "normalize",
    "normalize_percentile": "normalize",
    "clamp_to_range": "normalize",
    "random_crop": "transforms",
    "random_flip": "transforms",
    "random_rot90": "transforms",
    "JointRandomTransform": "transforms",
    "ImageFolderDataset": "folder",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
