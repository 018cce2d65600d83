"""LIN data for BioGANs: the four ``--dataset_type`` choices of the original, their loaders and the stream
of training batches.

On disk (LIN dataset, ``LIN_Normalized_WT_size-48-80_{train,test}``): ``<root>/<Protein>/<cell>.png``, 8-bit
RGB, 80 wide x 48 high, R = Bgs4 (the cell), G = the protein of the folder, B unused. Classes are the sorted
sub-folder names; a class's images are the image files below its folder (recursively, symlinks followed,
sorted by path). The conditional layout adds one level (``<root>/<P>/<P>/...``); a class folder holding its
images directly is accepted too.

Pixels go through the original pipeline: uint8 [3, H, W] -> optional random flips (rows with p = 1/2, then
columns with p = 1/2, drawn from Python's ``random``) -> /255 -> (x - 0.5)/0.5 in [-1, 1]. Items are
``(image [3, H, W], class index)``; the training code keeps the first ``nc`` channels. Images are decoded
once and cached as uint8 (the original cached int64 and silently kept failed reads; here a bad file raises
with its name).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import read_image
from insilico_core.train.seeding import seeded_loader_kwargs
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from .choices import canonical_choice

#: image suffixes the folder datasets read
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
#: ``--dataset_type`` choices
DATASET_TYPES = ("folder", "folder-cached", "conditional-cached", "fake-multichannel")


def list_images(folder: str | Path) -> list[Path]:
    """Image files below ``folder`` (recursively, following symlinked folders), sorted by path."""
    folder = Path(folder)
    found = []
    for directory, _, files in os.walk(folder, followlinks=True):
        found += [Path(directory) / f for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def class_folders(root: str | Path) -> list[str]:
    """Sorted names of the sub-folders of ``root``; FileNotFoundError / ValueError if there are none."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist")
    classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    if not classes:
        raise ValueError(
            f"data folder {root} has no class sub-folders (expected <root>/<Protein>/<image>.png)"
        )
    return classes


def class_image_files(folder: Path) -> list[Path]:
    """:func:`list_images` of one class folder; ValueError names the folder when it holds none."""
    files = list_images(folder)
    if not files:
        raise ValueError(f"class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def class_samples(root: str | Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(sorted class names, [(image path, class index)]) of ``<root>/<class>/**/<image>``; ValueError names an
    empty class folder."""
    root = Path(root)
    classes = class_folders(root)
    samples: list[tuple[Path, int]] = []
    for index, name in enumerate(classes):
        samples += [(f, index) for f in class_image_files(root / name)]
    return classes, samples


def read_rgb_uint8(path: str | Path) -> np.ndarray:
    """An image file as uint8 ``[3, H, W]`` (grayscale repeated, alpha dropped), as PIL ``convert('RGB')``."""
    array = np.asarray(read_image(path).array)
    if array.dtype != np.uint8:
        raise ValueError(f"{path}: expected an 8-bit image, got {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] < 3:
        raise ValueError(f"{path}: expected a grayscale or RGB image, got shape {array.shape}")
    return np.ascontiguousarray(array[:, :, :3].transpose(2, 0, 1))


def read_images(paths: Sequence[Path], num_workers: int = 0) -> dict[Path, np.ndarray]:
    """Decode every file once (``num_workers`` threads) into a path -> uint8 ``[3, H, W]`` cache."""
    if num_workers > 1:
        with ThreadPoolExecutor(num_workers) as pool:
            arrays = list(pool.map(read_rgb_uint8, paths))
    else:
        arrays = [read_rgb_uint8(p) for p in paths]
    return dict(zip(paths, arrays, strict=True))


def to_network_range(image: np.ndarray, random_flips: bool) -> torch.Tensor:
    """uint8 ``[C, H, W]`` -> float in [-1, 1], flipped at random (rows, then columns) if asked."""
    if random_flips:
        if random.random() < 0.5:
            image = image[:, ::-1, :]
        if random.random() < 0.5:
            image = image[:, :, ::-1]
    tensor = torch.from_numpy(np.ascontiguousarray(image)).float() / 255.0
    return (tensor - 0.5) / 0.5


def _check_size(path: Path, image: np.ndarray, image_size: tuple[int, int] | None) -> None:
    if image_size is not None and tuple(image.shape[1:]) != tuple(image_size):
        raise ValueError(
            f"{path} is {image.shape[1]}x{image.shape[2]} (height x width) but --image_height/--image_width "
            f"are {image_size[0]}x{image_size[1]}"
        )


class FolderCachedDataset(Dataset):
    """``folder-cached``: every image of every class folder of ``root``, decoded once (classes merged).

    Args:
        root: ``<root>/<class>/**/<image>``.
        random_flips: random vertical and horizontal flips (the original flips every dataset, test sets too).
        image_size: expected (H, W); ValueError naming the first file of another size.
        num_workers: threads decoding the images.
        cache: an existing path -> array cache to share (the fake-multichannel data reads neighbours from it).
    """

    def __init__(
        self,
        root: str | Path,
        random_flips: bool = True,
        image_size: tuple[int, int] | None = None,
        num_workers: int = 0,
        cache: dict[Path, np.ndarray] | None = None,
    ) -> None:
        self.root = Path(root)
        self.classes, self.samples = self._find_samples()
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.random_flips = random_flips
        self.image_size = image_size
        self.cache = cache if cache is not None else {}
        self._decode(num_workers)

    def _find_samples(self) -> tuple[list[str], list[tuple[Path, int]]]:
        """(class names, [(image path, class index)]) of the dataset's root."""
        return class_samples(self.root)

    def _decode(self, num_workers: int) -> None:
        """Decode every image not yet in the cache; ValueError if the first one has the wrong size."""
        missing = [p for p, _ in self.samples if p not in self.cache]
        self.cache.update(read_images(missing, num_workers))
        first = self.samples[0][0]
        _check_size(first, self.cache[first], self.image_size)

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> np.ndarray:
        path = self.samples[index][0]
        image = self.cache[path]
        _check_size(path, image, self.image_size)
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return to_network_range(self.image(index), self.random_flips), self.samples[index][1]


class FolderDataset(FolderCachedDataset):
    """``folder`` (ImageFolder in the original): like ``folder-cached`` but decoded on each access,
    and images of another size are resized to ``image_size`` (bilinear; the original's Scale((W, H)) followed
    by a centre crop of the same size)."""

    def __init__(
        self, root: str | Path, random_flips: bool = True, image_size: tuple[int, int] | None = None
    ):
        super().__init__(root, random_flips, image_size)

    def _decode(self, num_workers: int) -> None:
        """Nothing up front: images are decoded on each access."""

    def image(self, index: int) -> np.ndarray:
        image = read_rgb_uint8(self.samples[index][0])
        if self.image_size is None or tuple(image.shape[1:]) == tuple(self.image_size):
            return image
        height, width = self.image_size
        resized = Image.fromarray(image.transpose(1, 2, 0)).resize((width, height), Image.BILINEAR)
        return np.asarray(resized).transpose(2, 0, 1)


class ConditionalCachedDataset:
    """``conditional-cached``: one :class:`FolderCachedDataset` per class folder of ``root`` (classes sorted).

    ``class_datasets`` maps class name -> dataset; use :class:`ConditionalLoader` for stacked batches.
    A class folder ``<root>/<P>`` is read as the dataset root of class ``P`` (the original's ``<P>/<P>``
    layout); a class folder holding its images directly is read as one class.
    """

    def __init__(
        self,
        root: str | Path,
        random_flips: bool = True,
        image_size: tuple[int, int] | None = None,
        num_workers: int = 0,
    ) -> None:
        self.root = Path(root)
        self.classes = class_folders(self.root)
        self.class_datasets: dict[str, Dataset] = {}
        for name in self.classes:
            folder = self.root / name
            nested = any(entry.is_dir() for entry in folder.iterdir())
            dataset = FolderCachedDataset if nested else _SingleClassDataset
            self.class_datasets[name] = dataset(folder, random_flips, image_size, num_workers)


class _SingleClassDataset(FolderCachedDataset):
    """The images directly inside one class folder, as a one-class dataset (label 0)."""

    def _find_samples(self) -> tuple[list[str], list[tuple[Path, int]]]:
        return [self.root.name], [(f, 0) for f in class_image_files(self.root)]


class CompositeNeighbourDataset(FolderCachedDataset):
    """``fake-multichannel``: (n_classes + 1)-channel composites for the multi-channel models.

    For an image of class t: mask = raw red > 0; channel 0 = red·mask, channel t+1 = own green·mask, and for
    every other class c channel c+1 = the green of one of the cached red-channel nearest neighbours of this
    file in class c (chosen uniformly with Python's ``random``, seeded by ``--random_seed``; the original used
    unseeded numpy), times the mask. Then flips, /255 and normalisation of every channel.

    ``neighbours``: ``{file basename: {class name: [neighbour basenames]}}``
    (see :mod:`biogans.nearest_neighbors`).
    """

    def __init__(
        self,
        root: str | Path,
        neighbours: Mapping[str, Mapping[str, Sequence[str]]],
        random_flips: bool = True,
        image_size: tuple[int, int] | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(root, random_flips, image_size, num_workers)
        self.neighbours = neighbours
        self.by_class_and_basename = {(self.classes[c], p.name): p for p, c in self.samples}
        missing = [p.name for p, _ in self.samples if p.name not in neighbours]
        if missing:
            raise ValueError(
                f"the nearest-neighbour file has no entry for {len(missing)} images of {self.root} "
                f"(e.g. {missing[0]}); rebuild it with biogans-nearest-neighbors"
            )

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, target = self.samples[index]
        own = self.image(index).astype(np.int64)
        mask = own[0] > 0
        composite = np.zeros((len(self.classes) + 1,) + own.shape[1:], dtype=np.uint8)
        composite[0] = own[0] * mask
        composite[target + 1] = own[1] * mask
        for c, name in enumerate(self.classes):
            if c == target:
                continue
            choice = random.choice(list(self.neighbours[path.name][name]))
            neighbour_path = self.by_class_and_basename.get((name, choice))
            if neighbour_path is None:
                raise ValueError(f"nearest neighbour {choice} of {path.name} is not an image of class {name}")
            composite[c + 1] = self.cache[neighbour_path][1] * mask
        return to_network_range(composite, self.random_flips), target


def make_dataset(
    dataset_type: str,
    root: str | Path,
    image_size: tuple[int, int] | None = None,
    random_flips: bool = True,
    num_workers: int = 0,
    neighbours: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
):
    """The dataset of ``--dataset_type`` (case-insensitive) rooted at ``root``."""
    kind = canonical_choice(dataset_type, DATASET_TYPES, "dataset type")
    if kind == "folder":
        return FolderDataset(root, random_flips, image_size)
    if kind == "folder-cached":
        return FolderCachedDataset(root, random_flips, image_size, num_workers)
    if kind == "conditional-cached":
        return ConditionalCachedDataset(root, random_flips, image_size, num_workers)
    if neighbours is None:  # the one type left: fake-multichannel
        raise ValueError("--dataset_type fake-multichannel needs --red_nn_file (a nearest-neighbour file)")
    return CompositeNeighbourDataset(root, neighbours, random_flips, image_size, num_workers)


class ConditionalLoader:
    """One shuffled ``drop_last`` DataLoader per class; yields ``(images [K, B, 3, H, W], labels [K, B])``
    with classes in sorted order. Length = the smallest number of full batches over the classes."""

    def __init__(
        self, dataset: ConditionalCachedDataset, batch_size: int, shuffle: bool, seed: int = 0
    ) -> None:
        self.loaders = []
        for name, class_dataset in dataset.class_datasets.items():
            if len(class_dataset) < batch_size:
                raise ValueError(
                    f"class {name} has {len(class_dataset)} images, fewer than one batch of {batch_size} "
                    "(conditional batches drop incomplete batches)"
                )
            self.loaders.append(
                DataLoader(
                    class_dataset, batch_size, shuffle=shuffle, drop_last=True, **seeded_loader_kwargs(seed)
                )
            )

    def __len__(self) -> int:
        return min(len(loader) for loader in self.loaders)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        iterators = [iter(loader) for loader in self.loaders]
        for _ in range(len(self)):
            batches = [next(it) for it in iterators]
            yield torch.stack([b[0] for b in batches], 0), torch.stack([b[1] for b in batches], 0)


def make_loader(dataset, batch_size: int, shuffle: bool, num_workers: int = 0, seed: int = 0):
    """A DataLoader (joint data, ``drop_last=False``) or a :class:`ConditionalLoader`, seeded by ``seed``."""
    if isinstance(dataset, ConditionalCachedDataset):
        return ConditionalLoader(dataset, batch_size, shuffle, seed)
    return DataLoader(
        dataset, batch_size, shuffle=shuffle, num_workers=num_workers, **seeded_loader_kwargs(seed)
    )


class BatchStream:
    """Real batches for training: loops over a loader (``passes`` times, or forever), keeps the first ``nc``
    channels, moves them to ``device``; ``epoch`` counts completed passes, ``last`` is the latest batch."""

    def __init__(
        self, loader, nc: int, device: torch.device | str = "cpu", passes: int | None = None
    ) -> None:
        self.loader, self.nc, self.device, self.passes = loader, nc, torch.device(device), passes
        self.epoch = 0
        self.last: torch.Tensor | None = None

    def __iter__(self) -> Iterator[torch.Tensor]:
        self.epoch = 0
        while self.passes is None or self.epoch < self.passes:
            empty = True
            for images, _ in self.loader:
                empty = False
                self.last = images[..., : self.nc, :, :].to(self.device)
                yield self.last
            if empty:
                raise ValueError("the data loader yields no batches (is a class smaller than one batch?)")
            self.epoch += 1
