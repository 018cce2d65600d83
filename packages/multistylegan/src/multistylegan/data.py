"""The trapped-yeast time-lapse dataset of Multi-StyleGAN (``TFLMDatasetGAN``), reading the original layout.

Layout (spec section 3)::

    <root>/Pos<n>/img_<t:09d>_<channel>_<z:03d>_trap_<k:03d>.tif

one 16-bit single-plane 256x256 crop per file; channel ``01-BF0`` (brightfield), ``03-GFPdouble`` (GFP),
``04-RFPdouble`` (RFP); z in 000..002; trap id k. A sample is ``sequence_length`` consecutive time steps of
one trap at one focal plane, as float32 ``[domains, T, H, W]`` in [0, 1] (domains BF, GFP, RFP; training
uses ``no_rfp=True`` -> ``[2, 3, 256, 256]``).

Same samples, in the same order within a position, as the original; two fragilities fixed: file names are
parsed with a regular expression on the base name (a root path containing "trap" or "_001_" no longer
confuses the trap and focal-plane checks), and position folders are visited in natural order (Pos9 before
Pos10) instead of the operating system's listing order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import HDF5Dataset, cache_to_hdf5, read_tiff
from torch.utils.data import Dataset

__all__ = ["FILE_PATTERN", "RandomHorizontalFlip", "TFLMDatasetGAN", "parse_file_name"]

#: img_<time>_<channel>_<z>_trap_<trap>.tif, e.g. img_000000007_03-GFPdouble_001_trap_024.tif
FILE_PATTERN = re.compile(r"^img_(?P<time>\d+)_(?P<channel>[^_]+)_(?P<z>\d+)_trap_(?P<trap>\d+)\.tiff?$")


def parse_file_name(name: str) -> dict[str, str] | None:
    """The ``time``, ``channel``, ``z`` and ``trap`` fields of a file's base name, or None if it is not one
    of the dataset's images."""
    match = FILE_PATTERN.match(name)
    return match.groupdict() if match else None


class RandomHorizontalFlip:
    """Flip the last axis of the whole stack with probability ``p`` (one ``torch.rand(1)`` draw per call,
    like torchvision's transform, so seeded runs match the original's)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images.flip(-1) if torch.rand(1) < self.p else images

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


#: The original's default augmentation: one random horizontal flip of the whole stack, p = 0.5
DEFAULT_TRANSFORMATIONS = RandomHorizontalFlip(0.5)


def _natural_key(name: str) -> list[int | str]:
    return [int(token) if token.isdigit() else token for token in re.split(r"(\d+)", name)]


def _normalize_per_frame(frames: torch.Tensor) -> torch.Tensor:
    """Min-max normalise each ``[H, W]`` plane of ``[T, H, W]`` to [0, 1] (a constant plane becomes 0)."""
    flat = frames.flatten(start_dim=1)
    low = flat.min(dim=1, keepdim=True)[0]
    high = flat.max(dim=1, keepdim=True)[0]
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return ((flat - low) / span).reshape(frames.shape)


def _normalize_fluorescence(frames: torch.Tensor, minimum: float, maximum: float) -> torch.Tensor:
    """The original's fluorescence scaling to [0, 1]: ``clamp(clamp(x - min, 0) / max, max=1)`` (divisor
    max, not max - min)."""
    return ((frames - minimum).clamp(min=0.0) / maximum).clamp(max=1.0)


class TFLMDatasetGAN(Dataset):
    """Time-lapse fluorescence microscopy sequences of trapped yeast (original constructor and samples).

    path: dataset root holding one folder per position. sequence_length: time steps per sample.
    overlap: windows with stride 1 (else stride ``sequence_length``). transformations: callable applied to
    the stacked ``[domains*T, H, W]`` raw frames (default: one random horizontal flip, p=0.5).
    z_position_indications: focal planes to use, written ``"_<z>_"``. gfp_min/gfp_max, rfp_min/rfp_max:
    fluorescence normalisation ``clamp(clamp(x - min, 0) / max, max=1)`` (divisor max, not max - min, as in
    the original). flip: always flip vertically (the original's orientation). positions: only these
    position folders. no_rfp / no_gfp: leave that domain out.

    Each item: float32 ``[domains, T, H, W]``; BF min-max normalised per frame, fluorescence as above.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        sequence_length: int = 3,
        overlap: bool = True,
        transformations: Callable[[torch.Tensor], torch.Tensor] | None = DEFAULT_TRANSFORMATIONS,
        z_position_indications: Sequence[str] = ("_000_", "_001_", "_002_"),
        gfp_min: float = 150.0,
        gfp_max: float = 2200.0,
        rfp_min: float = 20.0,
        rfp_max: float = 2000.0,
        flip: bool = True,
        positions: Sequence[str] | None = None,
        no_rfp: bool = False,
        no_gfp: bool = False,
    ) -> None:
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(
                f"dataset folder {root} does not exist (expected <root>/Pos<n>/"
                "img_<time>_<channel>_<z>_trap_<trap>.tif)"
            )
        if sequence_length < 1:
            raise ValueError(f"sequence_length must be >= 1, got {sequence_length}")
        self.root = root
        self.sequence_length = sequence_length
        self.transformations = transformations
        self.gfp_min, self.gfp_max = gfp_min, gfp_max
        self.rfp_min, self.rfp_max = rfp_min, rfp_max
        self.flip = flip
        self.no_rfp = no_rfp
        self.no_gfp = no_gfp
        self.paths_to_dataset_samples: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = []
        stride = 1 if overlap else sequence_length
        folders = sorted((entry for entry in os.listdir(root) if (root / entry).is_dir()), key=_natural_key)
        for folder in folders:
            if positions is not None and folder not in positions:
                continue
            by_plane = self._index_position(root / folder, z_position_indications)
            for plane, (bf, gfp, rfp) in zip(z_position_indications, by_plane, strict=True):
                self._check_channels_match(root / folder, plane, bf, gfp, rfp)
                for start in range(0, len(bf) - sequence_length + 1, stride):
                    window = slice(start, start + sequence_length)
                    if len({trap for trap, _ in bf[window]}) != 1:
                        continue
                    self.paths_to_dataset_samples.append(
                        tuple(tuple(file for _, file in files[window]) for files in (bf, gfp, rfp))
                    )
        if not self.paths_to_dataset_samples:
            raise ValueError(
                f"no sequences of {sequence_length} time steps found under {root}: expected "
                "position folders with img_<time>_<channel>_<z>_trap_<trap>.tif files "
                "(channels 01-BF0, 03-GFPdouble, 04-RFPdouble)"
            )

    @staticmethod
    def _index_position(folder: Path, planes: Sequence[str]) -> list[tuple[list, list, list]]:
        """Per focal plane, the (trap, path) lists of BF, GFP and RFP files sorted by trap, then time."""
        lists = [([], [], []) for _ in planes]
        for name in os.listdir(folder):
            fields = parse_file_name(name)
            if fields is None:
                continue
            plane = f"_{fields['z']}_"
            if plane not in planes:
                continue
            channel = fields["channel"]
            domain = 0 if "-BF0" in channel else 1 if "-GFP" in channel else 2 if "-RFP" in channel else None
            if domain is None:
                continue
            # Sort key of the original: the trap id string followed by the time string
            entry = (fields["trap"] + fields["time"], fields["trap"], str(folder / name))
            lists[planes.index(plane)][domain].append(entry)
        return [
            tuple([(trap, path) for _, trap, path in sorted(files)] for files in domains) for domains in lists
        ]

    def _check_channels_match(self, folder: Path, plane: str, bf: list, gfp: list, rfp: list) -> None:
        used = [("GFP", gfp)] if not self.no_gfp else []
        used += [("RFP", rfp)] if not self.no_rfp else []
        for name, files in used:
            if len(files) != len(bf):
                raise ValueError(
                    f"{folder}: focal plane {plane.strip('_')} has {len(bf)} BF but {len(files)} "
                    f"{name} files; every BF frame needs its {name} frame (or pass "
                    f"no_{name.lower()}=True)"
                )
            if [trap for trap, _ in files] != [trap for trap, _ in bf]:
                raise ValueError(
                    f"{folder}: the {name} files of focal plane {plane.strip('_')} are not the "
                    "same traps and times as the BF files"
                )

    def __len__(self) -> int:
        return len(self.paths_to_dataset_samples)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.sample_from_raw(self.raw_frames(index))

    def with_hdf5_cache(self, path: str | os.PathLike) -> HDF5Dataset:
        """The same samples served from one HDF5 file of raw frames, written on first use (decoding
        thousands of TIFFs per epoch is the loader's main cost); random transformations still apply per
        access. Delete the file when the data change: a cache of another length is refused."""
        path = Path(path)
        if not path.is_file():
            cache_to_hdf5(_RawFrames(self), path)
        cached = HDF5Dataset(path, transform=self.sample_from_raw)
        if len(cached) != len(self):
            raise ValueError(
                f"HDF5 cache {path} holds {len(cached)} samples, the dataset {len(self)}: "
                "it was made from other data; delete it to rebuild"
            )
        return cached

    def sample_files(self, index: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The (BF, GFP, RFP) file paths of sample ``index``, each a tuple of ``sequence_length`` paths."""
        return self.paths_to_dataset_samples[index]

    def raw_frames(self, index: int) -> np.ndarray:
        """The frames of sample ``index`` as stored (e.g. uint16), stacked ``[domains * T, H, W]``."""
        bf_paths, gfp_paths, rfp_paths = self.paths_to_dataset_samples[index]
        paths = list(bf_paths)
        if not self.no_gfp:
            paths += gfp_paths
            if not self.no_rfp:
                paths += rfp_paths
        return np.stack([np.asarray(read_tiff(path)) for path in paths])

    def sample_from_raw(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Raw frames ``[domains * T, H, W]`` -> the normalised sample ``[domains, T, H, W]``:
        transformations, BF per-frame min-max, fluorescence clamp, vertical flip (the original's
        ``__getitem__``)."""
        images = torch.as_tensor(np.asarray(frames, dtype=np.float32))
        if self.transformations is not None:
            images = self.transformations(images)
        images = images[0] if images.ndim == 4 else images
        images = torch.stack(images.split(self.sequence_length, dim=0), dim=0)
        images[0] = _normalize_per_frame(images[0])
        if not self.no_gfp:
            images[1] = _normalize_fluorescence(images[1], self.gfp_min, self.gfp_max)
        if not self.no_rfp and not self.no_gfp:
            images[2] = _normalize_fluorescence(images[2], self.rfp_min, self.rfp_max)
        return images.flip(dims=(-2,)) if self.flip else images


class _RawFrames(Dataset):
    """The raw frame stacks of a ``TFLMDatasetGAN``, the samples its HDF5 cache stores."""

    def __init__(self, dataset: TFLMDatasetGAN) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.dataset.raw_frames(index)
