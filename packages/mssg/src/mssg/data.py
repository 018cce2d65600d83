"""MSSG datasets: a dataset ROOT with ``trainset/``, ``valset/``, ``testset/`` image folders (or a ``.zip``
archive holding those folders), each with ``dataset.json`` = ``{"labels": [[relative_path, label], ...]}``
(spec §3). Images are PNG / JPEG, or NIfTI (``.nii.gz`` / ``.nii``: the MRI slices, ``[H, W, 1]``, read as
the original's ``nib.load(path).get_fdata().astype(uint8)``).

A label is a flat dict (Morpho-MNIST: ``{"thickness": t, "intensity": i, "slant": s, "label": 7.0}``), a
pandas
one-row ``DataFrame.to_dict()`` (``{"age": {"17": 63.0}, ...}``) or a stock integer class. Which covariates
are
read and how they are normalised comes from :mod:`mssg.covariates` given the data name and the EXPLICIT
source;
statistics always come from the root's ``trainset`` labels. Items are ``(image uint8 [C, H, W], label float32
[label_dim])``; training maps images to ``x / 127.5 - 1``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from insilico_core.data.nifti import decode_nifti
from PIL import Image
from torch.utils.data import Dataset

from mssg.covariates import Covariate, fit_stats, normalize, schema

SPLITS = ("trainset", "valset", "testset")
NIFTI_SUFFIXES = (".nii.gz", ".nii")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", *NIFTI_SUFFIXES)


class SplitFiles:
    """Read access to one split stored as a folder ``root/split/`` or inside ``root.zip`` under ``split/``."""

    def __init__(self, root: Path, split: str) -> None:
        self.zip: zipfile.ZipFile | None = None
        if root.suffix == ".zip" and root.is_file():
            self.zip = zipfile.ZipFile(root)
            self.prefix = f"{split}/"
            if f"{split}/dataset.json" not in self.zip.namelist():
                raise FileNotFoundError(f"{root}: the archive has no {split}/dataset.json")
            self.where = f"{root}:{split}"
        else:
            self.folder = root / split
            if not (self.folder / "dataset.json").is_file():
                raise FileNotFoundError(
                    f"{self.folder / 'dataset.json'} does not exist: a dataset root holds trainset/, "
                    "valset/, testset/ folders each with a dataset.json (write one with mssg-dataset-tool)"
                )
            self.where = str(self.folder)

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(self.prefix + name)
        return (self.folder / name).read_bytes()


def parse_label(label: Any, covariates: tuple[Covariate, ...], where: str, index: int) -> list[float]:
    """Raw covariate values of one dataset.json label (flat dict, pandas ``to_dict()`` row or int class)."""
    if isinstance(label, (int, float)) and len(covariates) == 1:
        return [float(label)]
    if not isinstance(label, dict):
        raise ValueError(f"{where}/dataset.json: label {index} is a {type(label).__name__}, expected a dict")
    values = []
    for cov in covariates:
        if cov.name not in label:
            raise ValueError(
                f"{where}/dataset.json: label {index} has no {cov.name!r} (has {sorted(label)}); this data "
                f"name and source need {[c.name for c in covariates]}"
            )
        value = label[cov.name]
        if isinstance(value, dict):  # pandas DataFrame.to_dict(): {column: {row_index: value}}
            value = next(iter(value.values()))
        values.append(float(value))
    return values


def drop_missing(
    names: list[str], raw: np.ndarray, covariates: tuple[Covariate, ...]
) -> tuple[list[str], np.ndarray]:
    """Leave out the images whose raw label holds a covariate's ``missing`` code (NACC: Apoe4 == 9)."""
    keep = np.ones(len(names), dtype=bool)
    for k, cov in enumerate(covariates):
        if cov.missing is not None:
            keep &= raw[:, k] != cov.missing
    return [n for n, k in zip(names, keep, strict=True) if k], raw[keep]


def read_labels(files: SplitFiles, covariates: tuple[Covariate, ...]) -> tuple[list[str], np.ndarray]:
    """(relative image paths, raw covariates ``[N, K]`` float64) of one split."""
    data = json.loads(files.read("dataset.json"))
    labels = data.get("labels") if isinstance(data, dict) else None
    if not labels:
        raise ValueError(f"{files.where}/dataset.json has no labels; MSSG datasets are conditional")
    names = [str(entry[0]) for entry in labels]
    raw = np.array([parse_label(entry[1], covariates, files.where, i) for i, entry in enumerate(labels)])
    return names, raw.reshape(len(names), len(covariates))


class CovariateImageDataset(Dataset):
    """One split of one source: images and normalised covariates.

    Images whose label carries a covariate's ``missing`` code (NACC: Apoe4 == 9) are left out of the split
    and of the train statistics, as the original NACC dataset does.

    Args:
        path: dataset ROOT (folder with trainset/valset/testset, or a .zip of them).
        data_name: one of :data:`mssg.covariates.DATA_NAMES` (the original ``--data_name``).
        source: 'source1' / 'source2' where the data name has per-source schemas (explicit, not parsed).
        mode: 'train' / 'val' / 'test' (or the folder name).
        max_size: keep this many images, chosen with ``RandomState(random_seed)`` (stock semantics).
        xflip: append mirrored copies (doubles the length).
        use_labels: return the labels (False returns zeros of width 0).
    """

    def __init__(
        self,
        path: str | Path,
        data_name: str,
        source: str | None = None,
        mode: str = "train",
        max_size: int | None = None,
        xflip: bool = False,
        random_seed: int = 0,
        use_labels: bool = True,
    ) -> None:
        self.path = Path(path)
        self.data_name = data_name
        self.source = source
        self.split = mode if mode in SPLITS else f"{mode}set"
        if self.split not in SPLITS:
            raise ValueError(f"mode must be train, val or test, got {mode!r}")
        self.covariates = schema(data_name, source)
        self.use_labels = use_labels
        self._files = SplitFiles(self.path, self.split)
        self.names, self.raw_labels = drop_missing(
            *read_labels(self._files, self.covariates), self.covariates
        )
        if not self.names:
            raise ValueError(f"{self._files.where}: every image's label is marked missing")
        train = self._files if self.split == "trainset" else SplitFiles(self.path, "trainset")
        train_raw = drop_missing(*read_labels(train, self.covariates), self.covariates)[1]
        self.stats = fit_stats(self.covariates, train_raw)
        self.labels = normalize(self.covariates, self.raw_labels, self.stats)
        self.indices = np.arange(len(self.names))
        if max_size is not None and max_size < len(self.indices):
            rng = np.random.RandomState(random_seed)
            self.indices = np.sort(rng.permutation(len(self.indices))[:max_size])
        self.xflip = np.zeros(len(self.indices), dtype=bool)
        if xflip:
            self.indices = np.tile(self.indices, 2)
            self.xflip = np.concatenate([self.xflip, np.ones_like(self.xflip)])
        first = self._image(int(self.indices[0]))
        self.image_shape = list(first.shape)
        if first.shape[1] != first.shape[2] or first.shape[1] & (first.shape[1] - 1):
            raise ValueError(
                f"{self._files.where}: images must be square with a power-of-two size, got {first.shape}"
            )

    @property
    def resolution(self) -> int:
        return self.image_shape[1]

    @property
    def num_channels(self) -> int:
        return self.image_shape[0]

    @property
    def label_dim(self) -> int:
        return self.labels.shape[1] if self.use_labels else 0

    @property
    def name(self) -> str:
        return f"{self.path.stem}-{self.split}"

    def _image(self, raw_index: int) -> np.ndarray:
        name = self.names[raw_index]
        if not name.lower().endswith(IMAGE_SUFFIXES):
            raise ValueError(
                f"{self._files.where}/{name}: unsupported image file, expected {', '.join(IMAGE_SUFFIXES)}"
            )
        if name.lower().endswith(NIFTI_SUFFIXES):
            voxels, _ = decode_nifti(self._files.read(name), f"{self._files.where}/{name}")
            if voxels.ndim not in (2, 3):
                raise ValueError(
                    f"{self._files.where}/{name}: expected a [H, W, C] slice, got {voxels.shape}"
                )
            # get_fdata().astype(uint8); clipping first keeps out-of-range floats defined
            array = np.clip(voxels, 0, 255).astype(np.uint8)
        else:
            with Image.open(io.BytesIO(self._files.read(name))) as image:
                array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        return array.transpose(2, 0, 1)

    def __len__(self) -> int:
        return len(self.indices)

    def raw_index(self, index: int) -> int:
        return int(self.indices[index])

    def get_label(self, index: int) -> np.ndarray:
        """Normalised label ``[label_dim]`` (float32) of item ``index``."""
        return self.labels[self.raw_index(index)].copy()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self._image(self.raw_index(index))
        if self.xflip[index]:
            image = image[:, :, ::-1]
        label = self.get_label(index) if self.use_labels else np.zeros([0], np.float32)
        # copies: the decoded image and the label table may be read-only views
        return torch.from_numpy(np.array(image)), torch.from_numpy(np.array(label))

    def kwargs(self) -> dict[str, Any]:
        """Plain constructor kwargs (stored in snapshots as ``training_set_kwargs``)."""
        return dict(
            path=str(self.path),
            data_name=self.data_name,
            source=self.source,
            mode=self.split,
            use_labels=self.use_labels,
            resolution=self.resolution,
        )
