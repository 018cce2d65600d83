"""The input sources of ``mssg-dataset-tool``: which rows of which table make one split, where each image
file is, its label, and how its pixels are read (MSSG's ``open_*`` functions of ``dataset_tool.py``,
``dataset_tool_extrasources.py`` and ``dataset_tool_split_source.py``).

A source is chosen by ``--source_type`` (its name below). Without it, the original's dispatch on the name of
the ``--source`` directory is the fallback, and the tool prints what it chose: ``...unzipped`` -> ukb,
``...retinal_fundus`` -> ukb_retinal, ``...adni_t1_mprage`` -> adni, ``...RFMiD`` -> rfmid,
``...diabetic_retinopathy`` -> eyepacs, ``...NACC`` -> nacc, ``...Oasis3`` -> oasis3; then a JSON
``--annotation_path`` -> split_source, a CSV one -> csv, Morpho-MNIST idx files in ``--source`` -> mnist.

Per source type: the table's columns (``--annotation_path``; the first names the image), the image files,
and the split fractions (see below):

* ``ukb``: path, age, ventricle, grey_matter; MRI volume -> middle coronal slice (.nii.gz); 35 / 10.
* ``ukb_retinal``: path, age, diastolic_bp, systolic_bp, spherical_power_left, cylindrical_power_left,
  astigmatism_angle_left, myopia, hyperopia, presbyopia, astigmatism, cataract; fundus JPEG (.jpg); 30 / 10.
* ``adni``: filepath_MNIlin, Age, Sex, CDGLOBAL, left/right_lateral_ventricle, left/right_cerebral_cortex,
  left/right_hippocampus; MRI slice; 15 / 10.
* ``adni_extra`` (dataset_tool_extrasources.py): filepath_MNIlin, Age, CDGLOBAL, left_hippocampus,
  right_hippocampus; MRI slice; 20 / 10.
* ``nacc``: MNIlin_filepath, Age, CDGLOBAL, MMSE, Sex, Apoe4; MRI slice, kept only if its mean is in
  [38, 101] and its 10 outer columns on each side are black; 15 / 10.
* ``rfmid``: the split's official RFMiD label CSV (ID, Disease_Risk, MH, TSLN); images
  ``{csv folder}/{Training|Validation|Test}_cropped/{ID}.jpg``; the official splits.
* ``eyepacs``: trainLabels.csv (or its .zip): image, level; images ``--source/train/{image}.jpeg`` (train,
  val) or ``--source/test/{image}.jpeg`` (test); train / val 70 / 30.
* ``oasis3``: a sessions CSV (MR ID, Age, Scanner) plus ``--source/synthseg_vols.csv`` (MR ID, anat,
  left hippocampus, right hippocampus); images ``--source/mri/{MR ID}/{anat}/NIFTI/T1toMNIlin.nii.gz``;
  no split.
* ``csv``: a ``path`` column plus any covariate columns; splits of the data name (:data:`CSV_SPLITS`).
* ``split_source``: a JSON list of ``[relative_path, label_dict]`` (the original resolved the paths against
  the JSON's folder, which was ``--source``); train / val 80 / 20.
* ``mnist``: no table; ``--source`` holds ``{train,t10k}-images-idx3-ubyte.gz`` and
  ``{train,t10k}-morpho.csv``; digits zero-padded to 32x32; train / val 80 / 20 of train, t10k for test.

Splits "a / b": test = a % of the rows (after dropping rows with a missing value in any listed column), then
validation = b % of the rest, both ``train_test_split(random_state=42, shuffle=True)``
(:func:`mssg.csv_table.train_test_split_indices`); "70 / 30" and "80 / 20" are train / val, test = every
row; RFMiD ships its own three splits (give the split's CSV); oasis3 writes every row into the requested
split. Image paths in tables may be absolute (as in the original CSVs) or relative to ``--source``.

Labels are the pandas one-row ``to_dict()`` of the listed columns except the path (rfmid: all columns incl.
the image path), keyed by the row's position in the file (eyepacs: in the re-balanced table). EyePACS keeps
left eyes only and re-balances to 45 % diseased (level > 0) by drawing ``int(n_diseased / 0.45) -
n_diseased`` healthy rows with ``RandomState(--seed)`` (the original drew them unseeded, so its train and val
runs could overlap).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from insilico_core.data.nifti import read_nifti
from PIL import Image

from mssg.csv_table import Table, label_dicts, read_csv, train_test_split_indices

# generic CSV tables: data name -> (test fraction, validation fraction of the rest)
CSV_SPLITS = {
    "ukb": (0.35, 0.10),
    "retinal": (0.30, 0.10),
    "adni": (0.15, 0.10),
    "nacc": (0.15, 0.10),
}
EYEPACS_DISEASED_FRACTION = 0.45


@dataclass(frozen=True)
class Request:
    """What the command line asked for."""

    source: Path
    annotation: Path | None
    which: str  # train / val / test
    dataset_name: str
    seed: int = 0


@dataclass(frozen=True)
class Sample:
    """One image to write: its input file (or decoded pixels) and its dataset.json label."""

    image: Path | np.ndarray
    label: Any


@dataclass(frozen=True)
class Loaded:
    """Pixels ``[H, W]`` or ``[H, W, C]`` uint8 of one sample, and its MRI volume's affine (else None)."""

    pixels: np.ndarray
    affine: np.ndarray | None = None


# --------------------------------------------------------------------------------------------- pixel readers


def read_picture(path: Path) -> Loaded:
    """A PNG/JPEG file as stored (``np.array(PIL.Image.open(path))``)."""
    with Image.open(path) as image:
        return Loaded(np.array(image))


def middle_coronal_slice(volume: np.ndarray, where: Path) -> np.ndarray:
    """``[X, Y, Z]`` volume -> uint8 slice: ``take(vol, Y // 2, axis=1)``, ``rot90(k=1)``, min-max to 0..255
    truncated (``(255 * (v - min) / (max - min)).astype(uint8)``), as MSSG's open_ukb / open_adni."""
    if volume.ndim != 3:
        raise ValueError(f"{where}: expected a 3-D MRI volume, got shape {volume.shape}")
    plane = np.rot90(np.take(volume.astype(np.float64), volume.shape[1] // 2, axis=1), k=1, axes=(0, 1))
    low, high = plane.min(), plane.max()
    if not high > low:
        raise ValueError(f"{where}: the middle coronal slice is constant ({low}); cannot min-max scale it")
    return (255 * ((plane - low) / (high - low))).astype(np.uint8)


def read_mri_slice(path: Path) -> Loaded:
    volume, affine = read_nifti(path)
    return Loaded(middle_coronal_slice(volume, path), affine)


def read_nacc_slice(path: Path) -> Loaded | None:
    """As :func:`read_mri_slice`, None (skipped) for badly registered scans: slice mean outside [38, 101] or
    any signal in the 10 outer columns (NACC's filter in dataset_tool_extrasources.py)."""
    loaded = read_mri_slice(path)
    plane = loaded.pixels
    if not 38 <= plane.mean() <= 101:
        return None
    if plane[:, :10].mean() > 0.6 or plane[:, -10:].mean() > 0.6:
        return None
    return loaded


def read_eyepacs_fundus(path: Path) -> Loaded:
    """EyePACS photo -> RGB square: strip black side columns, zero-pad the short side (centred).

    Column ``c`` is black when the mean of its channel-averaged pixels is < 1. With ``lead`` black columns on
    the left and ``trail`` on the right, the original crops ``trail + 1`` columns from both sides when
    ``lead > trail + 1``, ``lead`` from both sides when ``0 < lead < trail + 1``, and nothing otherwise.
    """
    with Image.open(path) as image:
        pixels = np.array(image.convert("RGB"))
    column_means = pixels.mean(axis=-1).mean(axis=0)
    width = pixels.shape[1]
    lead = 0
    while lead < width and column_means[lead] < 1:
        lead += 1
    trail_plus_one = 1
    while trail_plus_one < width and column_means[-trail_plus_one] < 1:
        trail_plus_one += 1
    if lead > trail_plus_one:
        pixels = pixels[:, trail_plus_one:-trail_plus_one]
    elif 0 < lead < trail_plus_one:
        pixels = pixels[:, lead:-lead]
    height, width = pixels.shape[:2]
    side = max(height, width)
    square = np.zeros((side, side, 3), np.uint8)
    if height > width:
        start = (height - width) // 2
        square[:, start : start + width] = pixels
    else:
        start = (width - height) // 2
        square[start : start + height, :] = pixels
    return Loaded(square)


def orient_eyepacs(pixels: np.ndarray, where: Path) -> np.ndarray:
    """Rotate a fundus photo by 180 degrees when its brightest point (the optic disc) is on the right half of
    the middle row, after dropping a 50-pixel border (MSSG's ``check_direction``); run after resizing."""
    inner = pixels[50:-50, 50:-50]
    if inner.size == 0:
        raise ValueError(f"{where}: EyePACS images must be larger than 100x100 px to be oriented")
    middle_row = inner[inner.shape[0] // 2].mean(axis=-1)
    if int(np.argmax(middle_row)) < inner.shape[1] // 2:
        return pixels
    return np.ascontiguousarray(pixels[::-1, ::-1])


# --------------------------------------------------------------------------------------------- row selection


def _split_positions(n: int, which: str, test_size: float, val_size: float) -> np.ndarray:
    rest, test = train_test_split_indices(n, test_size)
    if which == "test":
        return test
    train, val = train_test_split_indices(len(rest), val_size)
    return rest[train] if which == "train" else rest[val]


def _train_val_positions(n: int, which: str, val_size: float) -> np.ndarray:
    """Positions of split ``which`` for the "train / val, test = every row" sources (see the module doc)."""
    if which == "test":
        return np.arange(n)
    train, val = train_test_split_indices(n, val_size)
    return train if which == "train" else val


def _resolve(source: Path, value: Any, table: Table, column: str, position: int) -> Path:
    path = Path(str(value))
    path = path if path.is_absolute() else source / path
    if not path.is_file():
        raise FileNotFoundError(
            f"{table.path}: column {column!r} of row {table.index[position]} names {path}, which is missing"
        )
    return path


def _samples(
    request: Request, table: Table, path_column: str, label_columns: tuple[str, ...]
) -> list[Sample]:
    labels = label_dicts(table, path_column, label_columns)
    values = table.columns[path_column]
    return [
        Sample(_resolve(request.source, values[p], table, path_column, p), labels[p])
        for p in range(len(table))
    ]


def _annotation(request: Request) -> Path:
    if request.annotation is None:
        raise ValueError(f"--annotation_path is required for --source {request.source} (a CSV table)")
    return request.annotation


def table_split(
    path_column: str, label_columns: tuple[str, ...], test_size: float, val_size: float
) -> Callable[[Request], list[Sample]]:
    """A source whose CSV rows (complete in every listed column) are split test / val / train."""

    def select(request: Request) -> list[Sample]:
        table = read_csv(_annotation(request)).dropna((path_column, *label_columns))
        chosen = table.take(_split_positions(len(table), request.which, test_size, val_size))
        return _samples(request, chosen, path_column, label_columns)

    return select


def select_csv(request: Request) -> list[Sample]:
    """Any CSV with a ``path`` column; every other column is a label; splits from the data name."""
    if request.dataset_name not in CSV_SPLITS:
        raise ValueError(
            f"--dataset_name {request.dataset_name!r}: generic CSV splits exist for {sorted(CSV_SPLITS)}"
        )
    table = read_csv(_annotation(request))
    table.require(["path"])
    label_columns = tuple(name for name in table.columns if name != "path")
    return table_split("path", label_columns, *CSV_SPLITS[request.dataset_name])(request)


RFMID_COLUMNS = ("ID", "Disease_Risk", "MH", "TSLN")
RFMID_FOLDERS = {"train": "Training_cropped", "val": "Validation_cropped", "test": "Test_cropped"}


def select_rfmid(request: Request) -> list[Sample]:
    """Healthy images plus diseased ones showing MH or TSLN, from the requested split's official CSV."""
    annotation = _annotation(request)
    table = read_csv(annotation).dropna(RFMID_COLUMNS)
    columns = table.columns
    keep = [
        columns["Disease_Risk"][p] == 0
        or (columns["Disease_Risk"][p] == 1 and any(columns[n][p] != 0 for n in RFMID_COLUMNS[2:]))
        for p in range(len(table))
    ]
    table = table.where(keep)
    table = Table(table.path, {n: table.columns[n] for n in RFMID_COLUMNS}, table.index)
    folder = annotation.parent / RFMID_FOLDERS[request.which]
    table.columns["path"] = [str(folder / f"{identifier}.jpg") for identifier in table.columns["ID"]]
    return _samples(request, table, "path", (*RFMID_COLUMNS, "path"))


def select_eyepacs(request: Request) -> list[Sample]:
    """Left eyes, re-balanced to 45 % diseased with ``RandomState(seed)``, train / val 70 / 30, test all."""
    table = read_csv(_annotation(request)).dropna(("image", "level"))
    left = [str(name).split("_", 1)[1:] == ["left"] for name in table.columns["image"]]
    table = table.where(left)
    levels = table.columns["level"]
    diseased = [p for p in range(len(table)) if levels[p] != 0]
    healthy = [p for p in range(len(table)) if levels[p] == 0]
    n_healthy = int(len(diseased) / EYEPACS_DISEASED_FRACTION) - len(diseased)
    if n_healthy > len(healthy):
        raise ValueError(
            f"{table.path}: re-balancing to {EYEPACS_DISEASED_FRACTION:.0%} diseased needs {n_healthy} "
            f"healthy left eyes, the table has {len(healthy)}"
        )
    drawn = np.random.RandomState(request.seed).choice(np.array(healthy, np.int64), n_healthy, replace=False)
    balanced = table.take(diseased + drawn.tolist())
    balanced = Table(balanced.path, balanced.columns, list(range(len(balanced))))  # ignore_index=True
    folder = request.source / ("test" if request.which == "test" else "train")
    balanced.columns["path"] = [str(folder / f"{name}.jpeg") for name in balanced.columns["image"]]
    balanced = balanced.take(_train_val_positions(len(balanced), request.which, 0.3))
    return _samples(request, balanced, "path", ("level",))


OASIS_LABELS = ("anat", "Age", "left hippocampus", "right hippocampus")


def select_oasis3(request: Request) -> list[Sample]:
    """3 T sessions' ages joined onto ``synthseg_vols.csv`` by MR ID; every complete row, no split."""
    sessions = read_csv(_annotation(request)).dropna(("MR ID", "Age", "Scanner"))
    ages = {
        mr_id: age
        for mr_id, age, scanner in zip(
            sessions.columns["MR ID"], sessions.columns["Age"], sessions.columns["Scanner"], strict=True
        )
        if scanner == "3.0T"
    }
    volumes = read_csv(request.source / "synthseg_vols.csv")
    volumes.require(["MR ID", "anat", "left hippocampus", "right hippocampus"])
    previous = volumes.columns.get("Age", [None] * len(volumes))
    volumes.columns["Age"] = [
        ages.get(m, old) for m, old in zip(volumes.columns["MR ID"], previous, strict=True)
    ]
    volumes.columns["filepath_MNIlin"] = [
        str(request.source / "mri" / str(m) / str(a) / "NIFTI" / "T1toMNIlin.nii.gz")
        for m, a in zip(volumes.columns["MR ID"], volumes.columns["anat"], strict=True)
    ]
    complete = volumes.dropna(list(volumes.columns))
    return _samples(request, complete, "filepath_MNIlin", OASIS_LABELS)


def select_split_source(request: Request) -> list[Sample]:
    """dataset_tool_split_source.py: JSON rows ``[relative_path, label]``; train / val 80 / 20, test all."""
    annotation = _annotation(request)
    rows = json.loads(annotation.read_text())
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
        raise ValueError(f"{annotation}: expected a JSON list of [relative_image_path, label_dict] rows")
    samples = []
    for p in _train_val_positions(len(rows), request.which, 0.2):
        path = request.source / rows[int(p)][0]
        if not path.is_file():
            raise FileNotFoundError(f"{annotation}: row {int(p)} names {path}, which does not exist")
        samples.append(Sample(path, dict(rows[int(p)][1])))
    return samples


def read_idx(path: Path) -> np.ndarray:
    """A gzipped MNIST idx file of unsigned bytes: idx1 labels ``[N]`` or idx3 images ``[N, H, W]``."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic not in (2049, 2051):
        raise ValueError(f"{path}: not an MNIST idx1/idx3 file of unsigned bytes (magic {magic})")
    ndim = magic - 2048
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) != offset + int(np.prod(shape)):
        raise ValueError(f"{path}: {len(data) - offset} bytes of data for shape {shape}")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)


def select_mnist(request: Request) -> list[Sample]:
    """Morpho-MNIST (``open_mnist_total``): idx digits + morpho.csv; train / val 80 / 20 of the train files
    (the original's val == train is fixed), t10k for test. Flat labels thickness, intensity, slant (those the
    CSV has) and the digit as a float, from ``{prefix}-labels-idx1-ubyte.gz`` as the original, or from the
    CSV's ``label`` / ``digit`` column when that file is absent (the simulator's layout)."""
    prefix = "t10k" if request.which == "test" else "train"
    images_path = request.source / f"{prefix}-images-idx3-ubyte.gz"
    table = read_csv(request.source / f"{prefix}-morpho.csv")
    if not images_path.is_file():
        raise FileNotFoundError(f"{images_path} does not exist (Morpho-MNIST needs idx images + morpho csv)")
    images = read_idx(images_path)
    if len(table) != len(images):
        raise ValueError(f"{table.path}: {len(table)} rows for {len(images)} images in {images_path}")
    labels_path = request.source / f"{prefix}-labels-idx1-ubyte.gz"
    if labels_path.is_file():
        digits = read_idx(labels_path).astype(np.float64)
        if len(digits) != len(images):
            raise ValueError(f"{labels_path}: {len(digits)} labels for {len(images)} images in {images_path}")
    else:
        column = "label" if "label" in table.columns else "digit"
        table.require(["thickness", column])
        digits = np.asarray(table.columns[column], np.float64)
    table.require(["thickness"])
    covariates = [n for n in ("thickness", "intensity", "slant") if n in table.columns]
    samples = []
    for p in _train_val_positions(len(images), request.which, 0.2):
        label = {n: float(table.columns[n][int(p)]) for n in covariates}
        label["label"] = float(digits[int(p)])
        samples.append(Sample(np.pad(images[int(p)], 2), label))
    return samples


# --------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class SourceType:
    """One ``--source_type``: how rows are chosen, how pixels are read, the output image suffix."""

    select: Callable[[Request], list[Sample]]
    read: Callable[[Path], Loaded | None] = read_picture
    suffix: str | None = None  # None: from --format / the data name
    directory_suffix: str | None = None  # the original's dispatch on the --source directory name
    orient: Callable[[np.ndarray, Path], np.ndarray] | None = None  # after crop / resize


UKB_RETINAL_LABELS = (
    "age",
    "diastolic_bp",
    "systolic_bp",
    "spherical_power_left",
    "cylindrical_power_left",
    "astigmatism_angle_left",
    "myopia",
    "hyperopia",
    "presbyopia",
    "astigmatism",
    "cataract",
)
ADNI_LABELS = (
    "Age",
    "Sex",
    "CDGLOBAL",
    "left_lateral_ventricle",
    "right_lateral_ventricle",
    "left_cerebral_cortex",
    "right_cerebral_cortex",
    "left_hippocampus",
    "right_hippocampus",
)
ADNI_EXTRA_LABELS = ("Age", "CDGLOBAL", "left_hippocampus", "right_hippocampus")

SOURCE_TYPES: dict[str, SourceType] = {
    "ukb": SourceType(
        select=table_split("path", ("age", "ventricle", "grey_matter"), 0.35, 0.10),
        read=read_mri_slice,
        suffix=".nii.gz",
        directory_suffix="unzipped",
    ),
    "ukb_retinal": SourceType(
        select=table_split("path", UKB_RETINAL_LABELS, 0.30, 0.10),
        suffix=".jpg",
        directory_suffix="retinal_fundus",
    ),
    "adni": SourceType(
        select=table_split("filepath_MNIlin", ADNI_LABELS, 0.15, 0.10),
        read=read_mri_slice,
        suffix=".nii.gz",
        directory_suffix="adni_t1_mprage",
    ),
    "adni_extra": SourceType(
        select=table_split("filepath_MNIlin", ADNI_EXTRA_LABELS, 0.20, 0.10),
        read=read_mri_slice,
        suffix=".nii.gz",
    ),
    "nacc": SourceType(
        select=table_split("MNIlin_filepath", ("Age", "CDGLOBAL", "MMSE", "Sex", "Apoe4"), 0.15, 0.10),
        read=read_nacc_slice,
        suffix=".nii.gz",
        directory_suffix="NACC",
    ),
    "rfmid": SourceType(select=select_rfmid, suffix=".jpg", directory_suffix="RFMiD"),
    "eyepacs": SourceType(
        select=select_eyepacs,
        read=read_eyepacs_fundus,
        suffix=".jpg",
        directory_suffix="diabetic_retinopathy",
        orient=orient_eyepacs,
    ),
    "oasis3": SourceType(
        select=select_oasis3, read=read_mri_slice, suffix=".nii.gz", directory_suffix="Oasis3"
    ),
    "csv": SourceType(select=select_csv),
    "split_source": SourceType(select=select_split_source),
    "mnist": SourceType(select=select_mnist),
}


def infer_source_type(source: Path, annotation: Path | None) -> str:
    """The original's choice from the ``--source`` directory name, then from the annotation / idx files."""
    for name, spec in SOURCE_TYPES.items():
        if spec.directory_suffix and str(source).rstrip("/").endswith(spec.directory_suffix):
            return name
    if annotation is not None:
        return "split_source" if annotation.suffix.lower() == ".json" else "csv"
    if (source / "train-images-idx3-ubyte.gz").is_file():
        return "mnist"
    raise ValueError(
        f"--source {source}: cannot tell the source type; pass --source_type ({', '.join(SOURCE_TYPES)})"
    )
