"""A dataset of the image files under one folder."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from insilico_core.data.image_io import IMAGE_SUFFIXES, read_image


class ImageFolderDataset(Dataset):
    """Every image file under ``root`` (recursively), in sorted relative-path order.

    Item ``i`` is the pixels of ``files[i]`` as stored (numpy, own dtype and shape, e.g. ``[H, W]`` uint16),
    passed through ``transform`` when given. Only files whose suffix is in ``extensions`` count (case
    insensitive), so stray files such as ``.DS_Store`` are skipped instead of crashing the loader.

    Raises FileNotFoundError when ``root`` is missing and ValueError when it holds no matching image.
    """

    def __init__(
        self,
        root: str | Path,
        extensions: Iterable[str] = IMAGE_SUFFIXES,
        transform: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: image folder does not exist")
        self.extensions = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
        self.transform = transform
        self.files = sorted(
            (p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in self.extensions),
            key=lambda p: p.relative_to(self.root).as_posix(),
        )
        if not self.files:
            raise ValueError(f"{self.root}: no image files with suffix {', '.join(self.extensions)}")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Any:
        array = read_image(self.files[index]).array
        return array if self.transform is None else self.transform(array)
