"""The neuron-gan dataset (``data/NeuronDataset.py``): a flat folder of 8-bit grayscale images.

Per image, once: background statistics (multi-Otsu), padding by ``image_size // 4`` and replacement of every
zero pixel by background noise, stored in memory as float ``[1, S + 2P, S + 2P]`` in [0, 1]. Per sample:
augmentations (rotation, translation, vertical flip, brightness/contrast), centre crop back to ``S``, mapping
to [-1, 1], and an antialiased bilinear resize to the current stage resolution.

Fixed against the original: only image files are read (hidden files and other entries are skipped), in sorted
order; non-8-bit or colour images raise a clear error instead of being mis-scaled; the padding noise is drawn
from a seeded generator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from insilico_core.data import IMAGE_SUFFIXES, read_image
from torch.utils.data import Dataset

from .augment import augment
from .background import background_noise_stats, pad_with_noise


def list_images(directory: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``directory`` (no sub-folders, no hidden files), sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"dataset folder {directory} does not exist (neurongan-fetch says where the "
            "published dataset is; insilico-core simulate neurons makes a synthetic one)"
        )
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def read_grayscale_u8(path: Path, image_size: int) -> np.ndarray:
    """Read one training image; it must be 8-bit single-channel and ``image_size`` pixels square."""
    array = np.asarray(read_image(path).array)
    if array.ndim != 2:
        raise ValueError(
            f"{path}: expected a single-channel (grayscale) image, got shape {array.shape}; "
            "convert it to 8-bit grayscale (PIL mode 'L')"
        )
    if array.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected 8-bit pixels, got {array.dtype}; neuron-gan scales uint8 to [0, 1]"
        )
    if array.shape != (image_size, image_size):
        raise ValueError(
            f"{path}: expected {image_size}x{image_size} pixels (config image_size), got "
            f"{array.shape[1]}x{array.shape[0]}"
        )
    return array


class NeuronDataset(Dataset):
    """Training images as float32 ``[1, r, r]`` in [-1, 1], ``r`` = the current stage resolution.

    Args:
        directory: flat folder of 8-bit grayscale images (PNG, TIFF, JPEG) of ``image_size`` pixels.
        image_size: the final resolution (config ``image_size``, 512).
        augmentations: random rotation/translation, vertical flip and brightness/contrast (the training
            setting); False gives exactly ``uint8 / 255 * 2 - 1`` (plus the resize).
        translation: maximal translation as a fraction of the padded image (0.05 -> 38.4 px at 512).
        seed: seed of the padding noise.
        min_images: raise when the folder holds fewer images.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        image_size: int = 512,
        augmentations: bool = True,
        translation: float = 0.0,
        seed: int = 0,
        min_images: int = 1,
    ) -> None:
        self.directory = Path(directory)
        self.filenames = list_images(self.directory)
        if len(self.filenames) < max(1, min_images):
            raise ValueError(
                f"dataset folder {self.directory} holds {len(self.filenames)} image(s); at "
                f"least {max(1, min_images)} are needed (batch_size)"
            )
        if not 0 <= translation < 1:
            raise ValueError(f"translation must be a fraction in [0, 1), got {translation}")
        self.image_size_max = int(image_size)
        self.image_size = int(image_size)
        self.augmentations = augmentations
        self.pad = self.image_size_max // 4
        self.max_translation = translation * (self.image_size_max + 2 * self.pad)
        rng = np.random.default_rng(seed)
        stats = []
        images = []
        for path in self.filenames:
            array = read_grayscale_u8(path, self.image_size_max)
            mean, std = background_noise_stats(array)
            stats.append((mean, std))
            images.append(torch.from_numpy(pad_with_noise(array, self.pad, mean, std, rng)))
        self.images_noise_mean = np.array([s[0] for s in stats], dtype=np.float64)
        self.images_noise_std = np.array([s[1] for s in stats], dtype=np.float64)
        self.images = torch.stack(images)[:, None]  # uint8 [N, 1, S + 2P, S + 2P]

    def __len__(self) -> int:
        return len(self.filenames)

    def set_image_size(self, size: int) -> None:
        """Resolution of the returned images (a power-of-2 fraction of ``image_size``)."""
        if not 1 <= size <= self.image_size_max:
            raise ValueError(f"image size {size} must be between 1 and {self.image_size_max}")
        self.image_size = int(size)

    def transform(self, padded: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] float ``[B, 1, S + 2P, S + 2P]`` -> float32 ``[B, 1, r, r]`` in [-1, 1]."""
        x = padded.float() / 255 if padded.dtype == torch.uint8 else padded
        if self.augmentations:
            x = augment(x, self.max_translation)
        x = x[..., self.pad : self.pad + self.image_size_max, self.pad : self.pad + self.image_size_max]
        x = x * 2 - 1
        if self.image_size < self.image_size_max:
            x = F.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )
        return x

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(self.images[index : index + 1])[0]


class DeviceBatches:
    """The ``image_preprocessing='device'`` loader: stored images live on ``device`` and each epoch yields
    shuffled batches transformed there (one pass over the dataset per iteration of the object)."""

    def __init__(self, dataset: NeuronDataset, batch_size: int, device: torch.device) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.images = dataset.images.to(device)

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(len(self.dataset)).to(self.images.device)
        for start in range(0, len(order), self.batch_size):
            yield self.dataset.transform(self.images[order[start : start + self.batch_size]])
