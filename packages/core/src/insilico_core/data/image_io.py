"""One entry point per direction: ``read_image`` / ``write_image`` choose the format from the file suffix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from insilico_core.data.image_data import ImageData
from insilico_core.data.nifti import read_nifti_raw
from insilico_core.data.png import read_png, write_jpeg, write_png
from insilico_core.data.tiff import read_tiff, write_tiff

TIFF_SUFFIXES = (".tif", ".tiff")
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_SUFFIXES = TIFF_SUFFIXES + PILLOW_SUFFIXES
NIFTI_SUFFIXES = (".nii", ".nii.gz")  # matched on the whole name (Path.suffix of x.nii.gz is .gz)


def read_image(path: str | Path) -> ImageData:
    """Read a TIFF (incl. OME/ImageJ), PNG, JPEG or NIfTI-1 file by its suffix; pixels keep their dtype.

    NIfTI voxels come unscaled with axes ``"XYZT"`` (``"Q"`` past four); the metadata holds the ``affine``
    and ``scl_slope`` / ``scl_inter`` (:func:`insilico_core.data.nifti.read_nifti` applies them).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if path.name.lower().endswith(NIFTI_SUFFIXES):
        voxels, header = read_nifti_raw(path)
        metadata = {
            "format": "NIfTI-1",
            "affine": header.affine(),
            "scl_slope": header.scl_slope,
            "scl_inter": header.scl_inter,
        }
        axes = ("XYZT" + "Q" * 3)[: voxels.ndim]
        return ImageData(voxels, axes, pixel_size_um=header.spacing_um, path=path, metadata=metadata)
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
    expected = ", ".join(IMAGE_SUFFIXES + NIFTI_SUFFIXES)
    return ValueError(f"{path}: unsupported image suffix {path.suffix!r}; expected one of {expected}")
