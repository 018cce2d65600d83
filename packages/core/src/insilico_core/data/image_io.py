"""One entry point per direction: ``read_image`` / ``write_image`` choose the format from the file suffix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from insilico_core.data.image_data import ImageData
from insilico_core.data.png import read_png, write_jpeg, write_png
from insilico_core.data.tiff import read_tiff, write_tiff

TIFF_SUFFIXES = (".tif", ".tiff")
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_SUFFIXES = TIFF_SUFFIXES + PILLOW_SUFFIXES


def read_image(path: str | Path) -> ImageData:
    """Read a TIFF (incl. OME/ImageJ), PNG or JPEG file by its suffix; pixels keep their stored dtype."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return read_tiff(path)
    if suffix in PILLOW_SUFFIXES:
        return read_png(path)
    raise _unsupported_suffix(path)


def write_image(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` by suffix: TIFF (numeric dtypes), PNG (uint8/uint16), JPEG (uint8); bit depth kept."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return write_tiff(path, array)
    if suffix == ".png":
        return write_png(path, array)
    if suffix in (".jpg", ".jpeg"):
        return write_jpeg(path, array)
    raise _unsupported_suffix(path)


def _unsupported_suffix(path: Path) -> ValueError:
    expected = ", ".join(IMAGE_SUFFIXES)
    return ValueError(f"{path}: unsupported image suffix {path.suffix!r}; expected one of {expected}")
