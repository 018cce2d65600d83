"""PNG and JPEG reading and writing with Pillow: 8-bit and 16-bit grayscale PNG, RGB(A), JPEG.

Bit depth is kept: a uint16 array is written as a 16-bit PNG and read back as uint16 (Pillow's 32-bit integer
mode for 16-bit PNGs is narrowed back to uint16); a float array is refused rather than silently clipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from insilico_core.data.dtypes import require_dtype
from insilico_core.data.image_data import ImageData

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def read_png(path: str | Path) -> ImageData:
    """Read a PNG or JPEG (any single-frame Pillow format) into its native dtype.

    Grayscale gives ``[Y, X]`` (axes ``"YX"``) as uint8 or uint16; colour gives ``[Y, X, S]`` (axes
    ``"YXS"``, S = 2 for gray+alpha, 3 for RGB, 4 for RGBA) as uint8. Palette images are expanded to RGB(A);
    1-bit images become uint8 0/255.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image.load()
            array = _pillow_to_array(image, path)
            image_format = image.format
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: not a readable PNG/JPEG image ({error})") from error
    axes = "YX" if array.ndim == 2 else "YXS"
    return ImageData(array, axes, path=path, metadata={"format": image_format})


def write_png(path: str | Path, array: np.ndarray) -> Path:
    """Write ``[Y, X]`` uint8/uint16 grayscale or ``[Y, X, 3|4]`` uint8 RGB(A) as a lossless PNG.

    16-bit colour is not supported by Pillow; write it as TIFF instead. Floats must be converted explicitly
    (:func:`insilico_core.data.float_to_integer`).
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    image = _array_to_pillow(array, path, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def write_jpeg(path: str | Path, array: np.ndarray, quality: int = 95) -> Path:
    """Write ``[Y, X]`` or ``[Y, X, 3]`` uint8 as JPEG (lossy; for previews and datasets stored as JPEG)."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    require_dtype(array, (np.uint8,), path, "JPEG")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"{path}: JPEG stores [Y, X] or [Y, X, 3] images, got shape {array.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="JPEG", quality=quality)
    return path


def _pillow_to_array(image: Image.Image, path: Path) -> np.ndarray:
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    if image.mode in _SIXTEEN_BIT_MODES:
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > np.iinfo(np.uint16).max):
            raise ValueError(f"{path}: 32-bit integer pixels outside the 16-bit range are not supported")
        return values.astype(np.uint16)
    if image.mode in ("L", "LA", "RGB", "RGBA", "F"):
        return np.asarray(image).copy()
    raise ValueError(f"{path}: unsupported Pillow image mode {image.mode!r}")


def _array_to_pillow(array: np.ndarray, path: Path, format_name: str) -> Image.Image:
    require_dtype(array, (np.uint8, np.uint16), path, format_name)
    if array.ndim == 2:
        return Image.fromarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
    if array.ndim == 3 and array.shape[2] in (3, 4):
        if array.dtype != np.uint8:
            raise ValueError(f"{path}: 16-bit colour {format_name} is not supported; write a TIFF instead")
        return Image.fromarray(array)
    raise ValueError(f"{path}: {format_name} stores [Y, X] or [Y, X, 3|4] images, got shape {array.shape}")
