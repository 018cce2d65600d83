"""``mssg-dataset-tool``: write one split of an MSSG dataset root (``{dest}/trainset|valset|testset/``).

Sources (chosen by what is given, never by the source directory's name):

* ``--annotation_path labels.json`` with a list of ``[relative_image_path, {covariate: value}]`` rows next
to the
  images in ``--source`` (MSSG's ``dataset_tool_split_source.py``, how the Morpho-MNIST sources were made):
  train/val split 80/20;
* ``--annotation_path table.csv`` with a ``path`` column (image file, relative to ``--source``) and one column
  per covariate (UKB retina / MRI-slice tables, ADNI, RFMiD ...): test split, then validation split of the
  rest
  with the fractions of the data name (UKB MRI 35 % / 10 %, retina 30 % / 10 %, ADNI and NACC 15 % / 10 %);
  labels are written in pandas' one-row ``to_dict()`` form, as the original;
* ``--source`` holding Morpho-MNIST ``{train,t10k}-images-idx3-ubyte.gz`` + ``-morpho.csv`` (``open_mnist``):
  train images and labels for ``--which_dataset train``/``val`` (80/20 split, fixing the original's val ==
  train), t10k for ``test``; 28x28 digits zero-padded to 32x32.

Splits are sklearn's ``train_test_split(random_state=42, shuffle=True)`` reproduced with numpy. Images are
written as ``{idx // 1000:05d}/img{idx:08d}.png`` (JPEG for RGB when ``--format jpg``); ``--resolution WxH``
resizes (PIL bicubic, as MSSG), ``--transform center-crop`` crops to a square first. ``--dest`` ending in
``.zip`` writes a zip archive holding the split folder.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import zipfile
from pathlib import Path

import click
import numpy as np
from PIL import Image

SPLIT_FOLDERS = {"train": "trainset", "val": "valset", "test": "testset"}
# data name -> (test fraction, validation fraction of the rest)
CSV_SPLITS = {
    "ukb": (0.35, 0.10),
    "retinal": (0.30, 0.10),
    "adni": (0.15, 0.10),
    "nacc": (0.15, 0.10),
    "rfmid": (0.20, 0.10),
}


def train_test_split_indices(
    n: int, test_size: float, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices exactly as ``sklearn.model_selection.train_test_split(shuffle=True)``."""
    n_test = math.ceil(test_size * n)
    permutation = np.random.RandomState(random_state).permutation(n)
    return permutation[n_test:], permutation[:n_test]


def _read_idx_images(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") != 2051:
        raise ValueError(f"{path}: not an idx3 image file")
    n, h, w = (int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"label value {value!r} is not a number") from None


def morpho_mnist_items(source: Path, which: str) -> list[tuple[np.ndarray, dict]]:
    """(image, label) pairs of the Morpho-MNIST idx + morpho.csv files (padded 32x32 digits)."""
    prefix = "t10k" if which == "test" else "train"
    images_path = source / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = source / f"{prefix}-morpho.csv"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist (Morpho-MNIST source needs idx images + morpho csv)"
            )
    images = _read_idx_images(images_path)
    rows = _read_csv(labels_path)
    if len(rows) != len(images):
        raise ValueError(f"{labels_path}: {len(rows)} rows for {len(images)} images")
    indices = np.arange(len(images))
    if which != "test":
        train, val = train_test_split_indices(len(images), 0.2)
        indices = train if which == "train" else val
    items = []
    for i in indices:
        row = rows[int(i)]
        label = {k: _number(row[k]) for k in ("thickness", "intensity", "slant") if k in row}
        digit_key = "label" if "label" in row else "digit"
        if digit_key in row:
            label["label"] = _number(row[digit_key])
        items.append((np.pad(images[int(i)], 2), label))
    return items


def annotated_items(source: Path, annotation: Path, which: str, dataset_name: str) -> list[tuple[Path, dict]]:
    """(image path, label) pairs from a JSON list or a CSV table, split as the module docstring says."""
    if annotation.suffix.lower() == ".json":
        rows = json.loads(annotation.read_text())
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
            raise ValueError(f"{annotation}: expected a JSON list of [relative_image_path, label_dict] rows")
        if which == "test":
            raise ValueError(
                "--which_dataset test: JSON-list sources are split 80/20 into train and val only"
            )
        train, val = train_test_split_indices(len(rows), 0.2)
        return [(source / rows[i][0], dict(rows[i][1])) for i in (train if which == "train" else val)]
    table = _read_csv(annotation)
    if not table or "path" not in table[0]:
        raise ValueError(f"{annotation}: expected a CSV with a 'path' column and one column per covariate")
    if dataset_name not in CSV_SPLITS:
        raise ValueError(
            f"--dataset_name {dataset_name!r}: CSV sources know the splits of {sorted(CSV_SPLITS)}"
        )
    test_size, val_size = CSV_SPLITS[dataset_name]
    rest, test = train_test_split_indices(len(table), test_size)
    train_pos, val_pos = train_test_split_indices(len(rest), val_size)
    chosen = {"test": test, "train": rest[train_pos], "val": rest[val_pos]}[which]
    items = []
    for i in chosen:
        row = table[int(i)]
        label = {k: {str(int(i)): _number(v)} for k, v in row.items() if k != "path" and v not in ("", None)}
        items.append((source / row["path"], label))
    return items


def _prepare(image: np.ndarray, resolution: tuple[int, int] | None, transform: str | None) -> np.ndarray:
    if transform in ("center-crop", "center-crop-wide"):
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        image = image[top : top + side, left : left + side]
    elif transform is not None:
        raise ValueError(f"--transform must be center-crop or center-crop-wide, got {transform!r}")
    if resolution is not None and image.shape[1::-1] != resolution:
        image = np.asarray(Image.fromarray(image).resize(resolution, Image.BICUBIC))
    return image


class _Writer:
    """Writes ``{split}/...`` files into a folder or a zip archive."""

    def __init__(self, dest: Path) -> None:
        self.zip = (
            zipfile.ZipFile(dest, "a", compression=zipfile.ZIP_STORED) if dest.suffix == ".zip" else None
        )
        self.dest = dest

    def write(self, name: str, data: bytes) -> None:
        if self.zip is not None:
            self.zip.writestr(name, data)
        else:
            path = self.dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def convert_dataset(
    source: Path,
    dest: Path,
    dataset_name: str,
    annotation_path: Path | None,
    which_dataset: str,
    max_images: int | None = None,
    resolution: tuple[int, int] | None = None,
    transform: str | None = None,
    image_format: str = "png",
) -> int:
    """Write one split; returns the number of images written."""
    if which_dataset not in SPLIT_FOLDERS:
        raise ValueError(f"--which_dataset must be train, val or test, got {which_dataset!r}")
    if annotation_path is not None:
        items = annotated_items(source, annotation_path, which_dataset, dataset_name)
    elif (source / "train-images-idx3-ubyte.gz").is_file():
        items = morpho_mnist_items(source, which_dataset)
    else:
        raise ValueError(
            f"--source {source}: give --annotation_path (JSON list or CSV) or a folder with "
            "Morpho-MNIST idx files"
        )
    if max_images is not None:
        items = items[:max_images]
    split = SPLIT_FOLDERS[which_dataset]
    writer = _Writer(dest)
    labels = []
    for idx, (image, label) in enumerate(items):
        pixels = image if isinstance(image, np.ndarray) else np.asarray(Image.open(image))
        pixels = _prepare(pixels, resolution, transform)
        name = f"{idx // 1000:05d}/img{idx:08d}.{image_format}"
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG" if image_format == "jpg" else "PNG")
        writer.write(f"{split}/{name}", buffer.getvalue())
        labels.append([name, label])
    writer.write(f"{split}/dataset.json", json.dumps({"labels": labels}).encode())
    writer.close()
    return len(items)


def _parse_resolution(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(
            f"expected WxH, e.g. 32x32, got {value!r}", param_hint="--resolution"
        ) from None
    return w, h


@click.command()
@click.option("--source", required=True, type=click.Path(exists=True, file_okay=False), help="Input folder")
@click.option("--dest", required=True, type=click.Path(), help="Output dataset ROOT folder (or .zip)")
@click.option("--max-images", "max_images", type=click.IntRange(min=1), default=None, help="Output at most N")
@click.option("--resolution", default=None, help="Output resolution WxH (e.g. 32x32)")
@click.option("--dataset_name", default="adni", show_default=True, help="Data name (sets CSV splits)")
@click.option(
    "--annotation_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of [path, labels] rows or CSV table with a 'path' column",
)
@click.option(
    "--which_dataset", type=click.Choice(["train", "val", "test"]), default="train", show_default=True
)
@click.option("--transform", type=click.Choice(["center-crop", "center-crop-wide"]), default=None)
@click.option("--format", "image_format", type=click.Choice(["png", "jpg"]), default="png", show_default=True)
def dataset_tool(
    source,
    dest,
    max_images,
    resolution,
    dataset_name,
    annotation_path,
    which_dataset,
    transform,
    image_format,
) -> None:
    """Write trainset/, valset/ or testset/ of an MSSG dataset root with dataset.json labels."""
    count = convert_dataset(
        Path(source),
        Path(dest),
        dataset_name,
        Path(annotation_path) if annotation_path else None,
        which_dataset,
        max_images,
        _parse_resolution(resolution),
        transform,
        image_format,
    )
    click.echo(f"wrote {count} images to {dest}/{SPLIT_FOLDERS[which_dataset]}")
