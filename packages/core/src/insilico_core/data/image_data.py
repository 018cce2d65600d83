"""The result of reading an image file: the pixels plus the metadata a microscopist needs to keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImageData:
    """Pixels of one image file, in the file's own dtype, with their layout and physical scale.

    Attributes:
        array: the pixels, dtype as stored (uint8, uint16, float32, ...), never rescaled.
        axes: one letter per dimension of ``array`` in tifffile's convention, e.g. ``"YX"`` (grayscale),
            ``"YXS"`` (RGB samples last), ``"TZCYX"`` (ImageJ hyperstack).
        pixel_size_um: lateral pixel size in micrometres when the file records it, else ``None``.
        channel_names: one name per ``C`` index when the file records them (ImageJ labels), else ``None``.
        path: the file the pixels came from.
        metadata: format-specific extras (e.g. the ImageJ metadata dict); informational only.

    ``np.asarray(image_data)`` gives ``array``, so an ``ImageData`` can be passed where an array is expected.
    """

    array: np.ndarray
    axes: str
    pixel_size_um: float | None = None
    channel_names: tuple[str, ...] | None = None
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.axes) != self.array.ndim:
            raise ValueError(f"axes {self.axes!r} do not match an array of shape {self.array.shape}")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.array if dtype is None else self.array.astype(dtype, copy=False)
        return array.copy() if copy else array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype
