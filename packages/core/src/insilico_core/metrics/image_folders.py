"""Reading folders of images and of clips for ``insilico-core metrics``, one sample at a time.

Images: every ``.tif``/``.tiff``/``.png`` file directly in the folder, sorted by name. A sample becomes a
float tensor ``[C, H, W]`` (C = 1 or 3) in [0, 1]: integer pixels are divided by their type's maximum
(255, 65535, ...), float pixels are taken as they are. 2-D arrays are grey; 3-D arrays with 2, 3 or 4 values
on the last axis are grey+alpha or colour (alpha dropped), other 3-D arrays are channels-first.

Clips (FVD): every sub-folder of the folder is a clip whose frames are its images in name order, and every
multi-page TIFF file in the folder is a clip whose pages are its frames (``[T, H, W]`` grey or
``[T, C, H, W]``). A clip becomes ``[C, T, H, W]`` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..data import read_png, read_tiff

IMAGE_SUFFIXES = (".tif", ".tiff", ".png")


def _scaled(array: np.ndarray) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.integer):
        return torch.from_numpy(array.astype(np.float32) / np.iinfo(array.dtype).max)
    if array.dtype == np.bool_:
        return torch.from_numpy(array.astype(np.float32))
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def read_array(path: Path) -> np.ndarray:
    """Pixels of a TIFF (its first series, all pages) or PNG file, in the stored dtype."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return read_tiff(path).array
    return read_png(path).array


def image_tensor(array: np.ndarray, source: Path) -> torch.Tensor:
    """One image ``[C, H, W]`` in [0, 1] from a 2-D (grey) or 3-D (colour or channels-first) array."""
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3 and array.shape[-1] in (2, 3, 4) and array.shape[0] not in (1, 3):
        array = np.moveaxis(array[..., :1] if array.shape[-1] == 2 else array[..., :3], -1, 0)
    elif array.ndim != 3:
        raise ValueError(f"{source}: expected a 2-D or 3-D image, got shape {array.shape}")
    if array.shape[0] not in (1, 3):
        raise ValueError(f"{source}: expected 1 or 3 channels, got shape {array.shape}")
    return _scaled(np.ascontiguousarray(array))


def image_files(folder: str | Path) -> list[Path]:
    """Sorted image files of ``folder``; ValueError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: expected TIFF or PNG images ({', '.join(IMAGE_SUFFIXES)}), found none")
    return files


def read_images(files: list[Path]) -> Iterator[torch.Tensor]:
    """Images ``[C, H, W]`` in [0, 1], one file at a time."""
    for path in files:
        yield image_tensor(read_array(path), path)


def clip_sources(folder: str | Path) -> list[Path]:
    """Sorted clip sources of ``folder``: sub-folders of frames and multi-page TIFF files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder of clips")
    sources = sorted(
        p for p in folder.iterdir() if p.is_dir() or (p.is_file() and p.suffix.lower() in (".tif", ".tiff"))
    )
    if not sources:
        raise ValueError(f"{folder}: expected clips (sub-folders of frames or multi-page TIFFs), found none")
    return sources


def read_clips(sources: list[Path]) -> Iterator[torch.Tensor]:
    """Clips ``[C, T, H, W]`` in [0, 1], one at a time."""
    for source in sources:
        if source.is_dir():
            frames = [image_tensor(read_array(path), path) for path in image_files(source)]
        else:
            pages = read_array(source)
            if pages.ndim not in (3, 4):
                raise ValueError(
                    f"{source}: expected a multi-page TIFF [T, H, W] or [T, C, H, W], got {pages.shape}"
                )
            frames = [image_tensor(page, source) for page in pages]
        shapes = {tuple(frame.shape) for frame in frames}
        if len(shapes) != 1:
            raise ValueError(f"{source}: expected frames of one shape, got {sorted(shapes)}")
        yield torch.stack(frames, dim=1)
