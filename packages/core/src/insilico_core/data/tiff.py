"""TIFF reading and writing with tifffile: plain, multi-page, ImageJ hyperstacks and OME-TIFF.

Pixels keep their dtype both ways (a 16-bit camera frame stays 16-bit; nothing is rescaled). Physical pixel
size is read from OME-XML (``PhysicalSizeX``), from ImageJ metadata (``unit`` + ``XResolution``), or from a
centimetre ``ResolutionUnit``; inch-based resolutions are ignored because they are almost always a DPI
placeholder (72 dpi) written by software that knows nothing about the sample.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from insilico_core.data.dtypes import require_dtype
from insilico_core.data.image_data import ImageData

TIFF_DTYPES = (np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.float32, np.float64)
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)
IMAGEJ_AXES_ORDER = "TZCYXS"

# micrometres per unit, for the unit spellings found in OME-XML and ImageJ files
_UM_PER_UNIT = {
    "m": 1e6,
    "cm": 1e4,
    "mm": 1e3,
    "µm": 1.0,
    "μm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "\\u00b5m": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "nanometre": 1e-3,
}
_RESOLUTION_UNIT_CENTIMETER = 3


def read_tiff(path: str | Path, series: int = 0) -> ImageData:
    """Read one image series of a TIFF file (all its pages) with axes, pixel size and channel names.

    Args:
        path: a ``.tif``/``.tiff`` file (plain, multi-page, ImageJ hyperstack or OME-TIFF).
        series: which tifffile series to read when the file holds several (e.g. differently shaped pages).

    Returns:
        :class:`ImageData` with the array in its stored dtype and shape (e.g. ``[T, Z, C, Y, X]`` for a
        hyperstack) and ``axes`` as tifffile reports it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such TIFF file")
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series or not tif.pages:
                raise ValueError(f"{path}: TIFF file holds no image data")
            if not 0 <= series < len(tif.series):
                raise ValueError(f"{path}: series {series} requested, file has {len(tif.series)} series")
            selected = tif.series[series]
            array = selected.asarray()
            axes = selected.axes
            imagej = tif.imagej_metadata if tif.is_imagej else None
            pixel_size_um = _pixel_size_um(tif, imagej)
    except (tifffile.TiffFileError, struct.error, EOFError) as error:
        raise ValueError(f"{path}: not a readable TIFF file ({error})") from error
    if array.size == 0 or len(axes) != array.ndim:
        raise ValueError(f"{path}: TIFF file holds no readable image data")
    channel_names = _imagej_channel_names(imagej, axes, array.shape)
    metadata = {"imagej": imagej} if imagej else {}
    return ImageData(array, axes, pixel_size_um, channel_names, path, metadata)


def write_tiff(
    path: str | Path,
    array: np.ndarray,
    axes: str | None = None,
    imagej: bool = False,
    pixel_size_um: float | None = None,
    compression: str | None = None,
) -> Path:
    """Write ``array`` to a TIFF file in its own dtype (never rescaled or clipped).

    Args:
        path: destination; parent folders are created.
        array: uint8/uint16/uint32/int8/int16/int32/float32/float64 pixels (ImageJ: uint8, uint16, float32).
            A float array that should become camera counts is converted explicitly first with
            :func:`insilico_core.data.float_to_integer`.
        axes: one letter per dimension (e.g. ``"ZYX"``, ``"TCYX"``); stored in the file and read back by
            :func:`read_tiff`. Defaults to tifffile's guess (``"YX"`` for 2-D, ``"QYX"`` ...).
        imagej: write an ImageJ-compatible file (axes must be in ``TZCYXS`` order); see also
            :func:`write_imagej_hyperstack` for 5-D stacks with channel names.
        pixel_size_um: lateral pixel size in micrometres, stored as resolution (ImageJ: unit ``um``;
            otherwise pixels per centimetre).
        compression: tifffile compression name (e.g. ``"zlib"``) or None for uncompressed.
    """
    path = Path(path)
    array = np.asarray(array)
    require_dtype(array, IMAGEJ_DTYPES if imagej else TIFF_DTYPES, path, "ImageJ TIFF" if imagej else "TIFF")
    if axes is not None and len(axes) != array.ndim:
        raise ValueError(f"{path}: axes {axes!r} has {len(axes)} letters for an array of shape {array.shape}")
    if imagej and axes is not None:
        positions = [IMAGEJ_AXES_ORDER.find(a) for a in axes]
        if -1 in positions or positions != sorted(positions) or not axes.endswith(("YX", "YXS")):
            raise ValueError(f"{path}: ImageJ axes must be ordered as in TZCYXS and end in YX, got {axes!r}")
    metadata: dict = {} if axes is None else {"axes": axes}
    # samples (RGB) only when the axes say so: a [3, H, W] stack is 3 planes, not a colour image
    kwargs: dict = {"photometric": "rgb" if axes is not None and axes.endswith("S") else "minisblack"}
    if pixel_size_um is not None:
        if not pixel_size_um > 0:
            raise ValueError(f"{path}: pixel_size_um must be positive, got {pixel_size_um}")
        if imagej:
            kwargs["resolution"] = (1.0 / pixel_size_um, 1.0 / pixel_size_um)
            metadata["unit"] = "um"
        else:
            per_cm = 1e4 / pixel_size_um
            kwargs["resolution"] = (per_cm, per_cm)
            kwargs["resolutionunit"] = "CENTIMETER"
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array, imagej=imagej, metadata=metadata, compression=compression, **kwargs)
    return path


def write_imagej_hyperstack(
    path: str | Path,
    array_tzcyx: np.ndarray,
    pixel_size_um: float | None = None,
    channel_names: Sequence[str] | None = None,
) -> Path:
    """Write a ``[T, Z, C, Y, X]`` stack that Fiji opens as a hyperstack with channels, slices and frames.

    The file carries ImageJ metadata ``hyperstack=true``, ``channels=C``, ``slices=Z``, ``frames=T``,
    axes ``TZCYX``, a composite display mode when ``C > 1``, the pixel size in ``um`` when given, and one
    slice label per plane naming its channel (``channel_names``, shown by Fiji as the plane title).
    Dtype must be uint8, uint16 or float32 (what ImageJ supports); it is kept as is.
    """
    path = Path(path)
    array = np.asarray(array_tzcyx)
    if array.ndim != 5:
        raise ValueError(f"{path}: a hyperstack needs a 5-D [T, Z, C, Y, X] array, got shape {array.shape}")
    frames, slices, channels = array.shape[:3]
    mode = "composite" if channels > 1 else "grayscale"
    metadata: dict = {"axes": "TZCYX", "hyperstack": True, "mode": mode}
    if channel_names is not None:
        names = [str(name) for name in channel_names]
        if len(names) != channels:
            raise ValueError(f"{path}: {len(names)} channel names for {channels} channels")
        metadata["Labels"] = names * (frames * slices)
    require_dtype(array, IMAGEJ_DTYPES, path, "ImageJ TIFF")
    kwargs: dict = {}
    if pixel_size_um is not None:
        if not pixel_size_um > 0:
            raise ValueError(f"{path}: pixel_size_um must be positive, got {pixel_size_um}")
        kwargs["resolution"] = (1.0 / pixel_size_um, 1.0 / pixel_size_um)
        metadata["unit"] = "um"
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array, imagej=True, photometric="minisblack", metadata=metadata, **kwargs)
    return path


def _pixel_size_um(tif: tifffile.TiffFile, imagej: dict | None) -> float | None:
    if tif.is_ome and tif.ome_metadata:
        size = _ome_pixel_size_um(tif.ome_metadata)
        if size is not None:
            return size
    page = tif.pages[0]
    x_resolution = page.tags.get("XResolution")
    if x_resolution is None:
        return None
    numerator, denominator = x_resolution.value
    if numerator == 0:
        return None
    size_in_unit = float(Fraction(denominator, numerator))
    if imagej is not None:
        unit = str(imagej.get("unit", "")).strip().lower()
        factor = _UM_PER_UNIT.get(unit)
        return None if factor is None else size_in_unit * factor
    unit_tag = page.tags.get("ResolutionUnit")
    if unit_tag is not None and int(unit_tag.value) == _RESOLUTION_UNIT_CENTIMETER:
        return size_in_unit * 1e4
    return None


def _ome_pixel_size_um(ome_xml: str) -> float | None:
    try:
        root = ElementTree.fromstring(ome_xml)
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Pixels" and "PhysicalSizeX" in element.attrib:
            unit = element.attrib.get("PhysicalSizeXUnit", "µm").strip().lower()
            factor = _UM_PER_UNIT.get(unit)
            return None if factor is None else float(element.attrib["PhysicalSizeX"]) * factor
    return None


def _imagej_channel_names(imagej: dict | None, axes: str, shape: tuple[int, ...]) -> tuple[str, ...] | None:
    """Channel names from ImageJ slice labels (one per plane, planes ordered T, Z, C)."""
    if not imagej or "C" not in axes or "Labels" not in imagej:
        return None
    labels = list(imagej["Labels"])
    channels = shape[axes.index("C")]
    if len(labels) < channels:
        return None
    return tuple(str(label) for label in labels[:channels])
