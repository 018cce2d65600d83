"""The dataset modes of TA-GAN on the original folder layouts.

Every mode reads the sorted image files under ``<dataroot>/<phase>`` (recursively; ``fixed_live`` reads
``<phase>_fixed`` and ``<phase>_live``; ``saureus`` reads ``<phase>/SIM`` with the same names under ``BF``
and ``masks``) and returns dicts of ``(C, H, W)`` float32 tensors plus the file path. Channel layouts:

===========================  =============================================  ==============================
mode                         file channels                                  returned
===========================  =============================================  ==============================
aligned                      (>=2, H, W): confocal, STED                    confocal, STED in [-1, 1]
axons (alias mask)           (3, H, W): confocal, STED, mask                confocal, STED, seg_GT
dendrites (alias two_masks)  (4, H, W): confocal, STED, rings, fibers       + seg_GTrings, seg_GTfibers
synprot                      (6, H, W): conf A, STED A, spots A, conf B...  confocal, STED, spots (2 ch)
saureus                      SIM/, BF/, masks/ 2-D files                    confocal=BF, STED=SIM, seg_GT
live_train                   (2, H, W): confocal, STED                      + decision_map {0, 1}
live_test                    (2, H, W) or (2, 1, H, W)                      + decision_map {0, 1}
fixed_live                   fixed (>=1, H, W) channel 0; live (H, W)       F, L in [-1, 1]
two_masks_channels           (3, H, W): image, mask 1, mask 2               A = B = image, C, D
===========================  =============================================  ==============================

Original bugs fixed here: live_train scaled each channel to [0, 1] before the 8-bit conversion, which
truncated everything but the maximum pixel to 0; it now scales to [0, 255] like live_test
(``--legacy_live_train_scaling`` restores the original). synprot gave NaN on constant crops; they now map
to -1. With ``--keep_bit_depth`` the live loaders scale to [0, 1] instead of [0, 255] (no clipping).
"""

from __future__ import annotations

import argparse
import math
import os
import random
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import read_image
from torch.utils.data import Dataset

from tagan.data.modes import resolve_dataset_mode
from tagan.data.transforms import decision_map, draw_params, transform_channel

IMAGE_EXTENSIONS = (
    ".jpg",
    ".JPG",
    ".jpeg",
    ".JPEG",
    ".tif",
    ".tiff",
    ".png",
    ".PNG",
    ".ppm",
    ".PPM",
    ".bmp",
    ".BMP",
)


def list_images(folder: Path, max_dataset_size: float = math.inf, flag_hint: str = "") -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), at most ``max_dataset_size``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist{flag_hint}")
    paths = [
        Path(root) / name
        for root, _, names in sorted(os.walk(folder))
        for name in names
        if name.endswith(IMAGE_EXTENSIONS)
    ]
    paths = sorted(paths)
    if not paths:
        raise ValueError(
            f"image folder {folder} holds no images ({', '.join(sorted(set(IMAGE_EXTENSIONS)))})"
        )
    return paths[: int(min(max_dataset_size, len(paths)))]


def read_array(path: Path) -> np.ndarray:
    """Pixels of an image file in their stored dtype (TIFF, PNG, JPEG)."""
    return np.asarray(read_image(path).array)


def require_channels(array: np.ndarray, path: Path, mode: str, channels: int, layout: str) -> np.ndarray:
    """Check a ``(C, H, W)`` stack has at least ``channels`` channels; the error names the file and layout."""
    if array.ndim != 3 or array.shape[0] < channels:
        raise ValueError(
            f"{path}: --dataset_mode {mode} expects a ({channels}, H, W) stack ({layout}), "
            f"got shape {array.shape}"
        )
    return array


class TaganDataset(Dataset):
    """Base of the paired modes: the sorted files of ``<dataroot>/<phase>``."""

    mode = ""
    channels = 1
    layout = ""

    def __init__(self, opt: argparse.Namespace):
        self.opt = opt
        self.root = Path(opt.dataroot)
        self.image_paths = list_images(self.image_folder(), opt.max_dataset_size, self.flag_hint())

    def image_folder(self) -> Path:
        return self.root / self.opt.phase

    def flag_hint(self) -> str:
        return f" (--dataroot {self.opt.dataroot} --phase {self.opt.phase}, --dataset_mode {self.mode})"

    def __len__(self) -> int:
        return len(self.image_paths)

    def read_stack(self, index: int) -> tuple[Path, np.ndarray]:
        path = self.image_paths[index]
        return path, require_channels(read_array(path), path, self.mode, self.channels, self.layout)

    def transform(
        self, channels: list[np.ndarray] | np.ndarray, grayscale: bool = True
    ) -> list[torch.Tensor]:
        """Draw one set of parameters (from the first channel's size) and transform every channel with it."""
        params = draw_params(self.opt, channels[0].shape[1], channels[0].shape[0])
        return [transform_channel(channel, self.opt, params, grayscale) for channel in channels]


class AlignedDataset(TaganDataset):
    mode, channels, layout = "aligned", 2, "confocal, STED"

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        confocal, sted = self.transform(stack[:2])
        return {"confocal": confocal, "STED": sted, "image_paths": str(path)}


class AxonsDataset(TaganDataset):
    mode, channels, layout = "axons", 3, "confocal, STED, segmentation mask"

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        confocal, sted, mask = self.transform(stack[:3])
        return {"confocal": confocal, "STED": sted, "seg_GT": mask, "image_paths": str(path)}


class DendritesDataset(TaganDataset):
    mode, channels, layout = "dendrites", 4, "confocal, STED, rings mask, fibers mask"

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        confocal, sted, rings, fibers = self.transform(stack[:4])
        return {
            "confocal": confocal,
            "STED": sted,
            "seg_GTrings": rings,
            "seg_GTfibers": fibers,
            "image_paths": str(path),
        }


def rescale_to_unit_span(tensor: torch.Tensor) -> torch.Tensor:
    """Min-max to [-1, 1] per crop; a constant crop gives -1 (the original divided by zero)."""
    span = tensor.max() - tensor.min()
    if span == 0:
        return torch.full_like(tensor, -1.0)
    return ((tensor - tensor.min()) / span - 0.5) / 0.5


class SynprotDataset(TaganDataset):
    mode, channels = "synprot", 6
    layout = "confocal A, STED A, spots A, confocal B, STED B, spots B"

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        conf_a, sted_a, spots_a, conf_b, sted_b, spots_b = self.transform(stack[:6])
        confocal = torch.cat([rescale_to_unit_span(conf_a), rescale_to_unit_span(conf_b)], 0)
        sted = torch.cat([rescale_to_unit_span(sted_a), rescale_to_unit_span(sted_b)], 0)
        return {
            "confocal": confocal,
            "STED": sted,
            "spots": torch.cat([spots_a, spots_b], 0),
            "image_paths": str(path),
        }


def minmax(array: np.ndarray) -> np.ndarray:
    """(a - min) / (max - min) in the array's float precision; a constant array gives zeros."""
    array = array.astype(np.float64) if not np.issubdtype(array.dtype, np.floating) else array
    span = array.max() - array.min()
    return (array - array.min()) / span if span else np.zeros_like(array)


class SAureusDataset(TaganDataset):
    """Bright-field (input), SIM (target) and boolean cell masks in parallel folders with the same names;
    min-max scaled to [0, 1] and kept there (no 8-bit conversion, no [-1, 1] normalisation), as the
    original."""

    mode = "saureus"

    def image_folder(self) -> Path:
        return self.root / self.opt.phase / "SIM"

    def companion(self, sim_path: Path, folder: str) -> Path:
        """The file of the same relative path under ``BF`` or ``masks`` (the original replaced every 'SIM' in
        the path string, also in file names; only the folder is replaced here)."""
        return self.root / self.opt.phase / folder / sim_path.relative_to(self.image_folder())

    def __getitem__(self, index: int) -> dict:
        sim_path = self.image_paths[index]
        arrays = []
        for path in (sim_path, self.companion(sim_path, "BF"), self.companion(sim_path, "masks")):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing: --dataset_mode saureus needs SIM/, BF/ and masks/ "
                    f"files with the same names"
                )
            array = read_array(path)
            if array.ndim != 2:
                raise ValueError(
                    f"{path}: --dataset_mode saureus expects 2-D images, got shape {array.shape}"
                )
            arrays.append(array)
        sim, bright_field, mask = arrays
        sim, bright_field = minmax(sim), minmax(bright_field)
        mask = mask.astype(np.uint8)
        if mask.max() > 0:
            mask = minmax(mask)
        sim_t, bf_t, mask_t = self.transform([sim, bright_field, mask], grayscale=False)
        return {"confocal": bf_t, "STED": sim_t, "seg_GT": mask_t, "image_paths": str(sim_path)}


def intensity_scale(opt: argparse.Namespace) -> float:
    """Upper end of the live loaders' scaled range: 255 for the 8-bit conversion, 1 with --keep_bit_depth."""
    return 1.0 if opt.keep_bit_depth else 255.0


class LiveTrainDataset(TaganDataset):
    """Live-cell confocal / STED pairs with a random decision map: the brightest confocal 50-px tile (half of
    the time) or none marks where G gets the real STED."""

    mode, channels, layout = "live_train", 2, "confocal, STED"
    tile = 50

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        scale = 1.0 if self.opt.legacy_live_train_scaling else intensity_scale(self.opt)
        confocal, sted = minmax(stack[0]) * scale, minmax(stack[1]) * scale
        confocal_t, sted_t = self.transform(np.stack([confocal, sted]))
        n_selected = (random.random() > 0.5) + 1
        return {
            "confocal": confocal_t,
            "STED": sted_t,
            "image_paths": str(path),
            "decision_map": decision_map(confocal_t, self.tile, n_selected),
        }


class LiveTestDataset(TaganDataset):
    """Live-cell test sequences: both channels scaled by the confocal range to [0, 255]; the decision map
    selects the brightest 100-px STED tile."""

    mode, channels, layout = "live_test", 2, "confocal, STED"
    tile = 100

    def read_stack(self, index: int) -> tuple[Path, np.ndarray]:
        path = self.image_paths[index]
        array = read_array(path)
        if array.ndim == 4 and array.shape[1] == 1:
            array = array[:, 0]
        return path, require_channels(array, path, self.mode, 2, "confocal, STED; or (2, 1, H, W)")

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        confocal, sted = stack[0].astype(np.float64), stack[1].astype(np.float64)
        low, span = confocal.min(), confocal.max() - confocal.min()
        span = span if span else 1.0
        scale = intensity_scale(self.opt)
        scaled = np.stack([(confocal - low) / span * scale, (sted - low) / span * scale])
        confocal_t, sted_t = self.transform(scaled)
        return {
            "confocal": confocal_t,
            "STED": sted_t,
            "image_paths": str(path),
            "decision_map": decision_map(sted_t, self.tile, 2),
        }


class FixedLiveDataset(TaganDataset):
    """Unpaired fixed-cell (channel 0 of ``<phase>_fixed`` files) and live-cell (``<phase>_live``) STED tiles,
    each min-max scaled to [-1, 1] without 8-bit conversion, with independent random parameters; length =
    the larger folder, the smaller one cycled."""

    mode = "fixed_live"

    def __init__(self, opt: argparse.Namespace):
        self.opt = opt
        self.root = Path(opt.dataroot)
        hint = self.flag_hint()
        self.F_paths = list_images(self.root / f"{opt.phase}_fixed", opt.max_dataset_size, hint)
        self.L_paths = list_images(self.root / f"{opt.phase}_live", opt.max_dataset_size, hint)
        self.image_paths = self.F_paths

    def __len__(self) -> int:
        return max(len(self.F_paths), len(self.L_paths))

    def load(self, path: Path, fixed: bool) -> torch.Tensor:
        array = read_array(path)
        if fixed:
            if array.ndim == 3:
                array = array[0]
        elif array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 2:
            kind = "fixed (C, H, W) or (H, W)" if fixed else "live (H, W)"
            raise ValueError(
                f"{path}: --dataset_mode fixed_live expects {kind} images, got shape {array.shape}"
            )
        image = minmax(array) * 2.0 - 1.0
        params = draw_params(self.opt, image.shape[1], image.shape[0])
        return transform_channel(image, self.opt, params, grayscale=False)

    def __getitem__(self, index: int) -> dict:
        fixed_path = self.F_paths[index % len(self.F_paths)]
        live_path = self.L_paths[index % len(self.L_paths)]
        fixed = self.load(fixed_path, fixed=True)
        live = self.load(live_path, fixed=False)
        return {"F": fixed, "L": live, "F_paths": str(fixed_path), "L_paths": str(live_path)}


class TwoMasksChannelsDataset(TaganDataset):
    mode, channels, layout = "two_masks_channels", 3, "image, mask 1, mask 2"

    def __getitem__(self, index: int) -> dict:
        path, stack = self.read_stack(index)
        image, first, second = self.transform(stack[:3])
        return {"A": image, "B": image.clone(), "C": first, "D": second, "A_paths": str(path)}


DATASET_CLASSES = {
    cls.mode: cls
    for cls in (
        AlignedDataset,
        AxonsDataset,
        DendritesDataset,
        SynprotDataset,
        SAureusDataset,
        LiveTrainDataset,
        LiveTestDataset,
        FixedLiveDataset,
        TwoMasksChannelsDataset,
    )
}


def create_dataset(opt: argparse.Namespace) -> TaganDataset:
    """The dataset of ``opt.dataset_mode`` on ``opt.dataroot`` / ``opt.phase``."""
    return DATASET_CLASSES[resolve_dataset_mode(opt.dataset_mode)](opt)
