"""``mssg-dataset-tool``: write one split of an MSSG dataset root (``{dest}/trainset|valset|testset/``).

Flags as MSSG's ``dataset_tool.py`` / ``dataset_tool_extrasources.py`` / ``dataset_tool_split_source.py``
(``--source``, ``--dest``, ``--dataset_name``, ``--annotation_path``, ``--max-images``, ``--which_dataset``,
``--transform``, ``--resolution``), plus ``--source_type`` (which input source, see
:mod:`mssg.dataset_sources`; the original guessed it from the ``--source`` directory name, which stays the
fallback and is printed), ``--format`` and ``--seed`` (EyePACS re-balancing).

Each written image is ``{idx // 1000:05d}/img{idx:08d}{suffix}``, numbered from 0 in the split's row order;
``dataset.json`` = ``{"labels": [[name, label], ...]}``. Suffix: ``.nii.gz`` for MRI sources (the slice as a
``[H, W, 1]`` uint8 NIfTI with the volume's affine), ``.jpg`` for fundus sources, else ``--format`` (default
``jpg`` for the data names retinal / eyepacs / rfmid, ``png`` otherwise; PNGs are stored uncompressed, as
the original).

Crop and resize (the original ``make_transform``): no ``--transform`` resizes to ``--resolution`` with
Pillow's default filter (bicubic) when the size differs; ``center-crop`` cuts the centred square of the
short side and resizes it with Lanczos; ``center-crop-wide`` (RGB) cuts the centred band of aspect
``W x H``, resizes it to ``W x H`` with Lanczos and centres it on a black ``W x W`` canvas, skipping images
too small for it. Both crops need ``--resolution``. Output images must be square, a power of two wide, with
1 or 3 channels, all alike. ``--dest`` ending in ``.zip`` writes the split folder into a zip archive.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
from insilico_core.data.nifti import encode_nifti
from PIL import Image

from mssg.csv_table import train_test_split_indices
from mssg.dataset_sources import SOURCE_TYPES, Request, infer_source_type

__all__ = ["SPLIT_FOLDERS", "convert_dataset", "dataset_tool", "make_transform", "train_test_split_indices"]

SPLIT_FOLDERS = {"train": "trainset", "val": "valset", "test": "testset"}
TRANSFORMS = ("center-crop", "center-crop-wide")
RGB_DATA_NAMES = ("retinal", "eyepacs", "rfmid")


def _resize(image: np.ndarray, size: tuple[int, int], resample: int | None = None) -> np.ndarray:
    pil = Image.fromarray(image)
    return np.array(pil.resize(size) if resample is None else pil.resize(size, resample))


def make_transform(
    transform: str | None, resolution: tuple[int, int] | None
) -> Callable[[np.ndarray], np.ndarray | None]:
    """Crop / resize one ``[H, W(, C)]`` uint8 image to ``resolution`` = (W, H); returning None drops it."""
    if transform is not None and transform not in TRANSFORMS:
        raise ValueError(f"--transform must be one of {TRANSFORMS}, got {transform!r}")
    if transform is not None and resolution is None:
        raise ValueError(f"--transform {transform} needs --resolution WxH")

    def scale(image: np.ndarray) -> np.ndarray:
        if resolution is None or image.shape[1::-1] == resolution:
            return image
        return _resize(image, resolution)

    def center_crop(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        side = min(h, w)
        image = image[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2]
        return _resize(image, resolution, Image.LANCZOS)

    def center_crop_wide(image: np.ndarray) -> np.ndarray | None:
        width, height = resolution
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"--transform center-crop-wide needs RGB images, got shape {image.shape}")
        band = int(np.round(width * image.shape[0] / image.shape[1]))
        if image.shape[1] < width or band < height:
            return None
        image = image[(image.shape[0] - band) // 2 : (image.shape[0] + band) // 2]
        canvas = np.zeros([width, width, 3], dtype=np.uint8)
        canvas[(width - height) // 2 : (width + height) // 2] = _resize(image, resolution, Image.LANCZOS)
        return canvas

    return {None: scale, "center-crop": center_crop, "center-crop-wide": center_crop_wide}[transform]


class _SplitWriter:
    """Writes ``{split}/...`` files into the folder ``dest`` or the zip archive ``dest``; refuses a split
    that already has files (the original's "--dest folder must be empty")."""

    def __init__(self, dest: Path, split: str) -> None:
        self.dest, self.split = dest, split
        self.zip: zipfile.ZipFile | None = None
        if dest.suffix.lower() == ".zip":
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.zip = zipfile.ZipFile(dest, "a", compression=zipfile.ZIP_STORED)
            if any(name.startswith(f"{split}/") for name in self.zip.namelist()):
                self.zip.close()
                raise ValueError(f"--dest {dest} already holds {split}/; write each split once")
        elif (dest / split).is_dir() and any((dest / split).iterdir()):
            raise ValueError(f"--dest {dest}: {dest / split} must be empty")

    def write(self, name: str, data: bytes) -> None:
        if self.zip is not None:
            self.zip.writestr(f"{self.split}/{name}", data)
            return
        path = self.dest / self.split / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _encode(pixels: np.ndarray, suffix: str, affine: np.ndarray | None) -> bytes:
    if suffix == ".nii.gz":
        return encode_nifti(pixels.reshape(*pixels.shape[:2], -1), affine, compress=True)
    buffer = io.BytesIO()
    image = Image.fromarray(pixels)
    if suffix == ".jpg":
        image.save(buffer, format="JPEG")
    else:
        image.save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def _check_shape(pixels: np.ndarray, first: tuple[int, ...] | None, where: object) -> tuple[int, ...]:
    if first is None:
        h, w = pixels.shape[:2]
        channels = pixels.shape[2] if pixels.ndim == 3 else 1
        if h != w or w & (w - 1) or channels not in (1, 3):
            raise ValueError(
                f"{where}: images must be square, a power of two wide, with 1 or 3 channels after crop / "
                f"resize; got {pixels.shape} (use --resolution / --transform)"
            )
        return pixels.shape
    if pixels.shape != first:
        raise ValueError(f"{where}: shape {pixels.shape} differs from the dataset's first image {first}")
    return first


def convert_dataset(
    source: Path,
    dest: Path,
    dataset_name: str,
    annotation_path: Path | None,
    which_dataset: str,
    max_images: int | None = None,
    resolution: tuple[int, int] | None = None,
    transform: str | None = None,
    image_format: str | None = None,
    source_type: str | None = None,
    seed: int = 0,
) -> int:
    """Write one split of ``source`` under ``dest``; returns the number of images written."""
    if which_dataset not in SPLIT_FOLDERS:
        raise ValueError(f"--which_dataset must be train, val or test, got {which_dataset!r}")
    if source.is_file():
        source, source_type = _idx_file_source(source, which_dataset, source_type)
    if source_type is None:
        source_type = infer_source_type(source, annotation_path)
        click.echo(f"--source_type not given: using {source_type!r} (from --source / --annotation_path)")
    if source_type not in SOURCE_TYPES:
        raise ValueError(f"--source_type must be one of {', '.join(SOURCE_TYPES)}, got {source_type!r}")
    spec = SOURCE_TYPES[source_type]
    if spec.suffix is not None and image_format is not None:
        raise ValueError(f"--format: source type {source_type} always writes {spec.suffix} images")
    transform_image = make_transform(transform, resolution)
    samples = spec.select(Request(source, annotation_path, which_dataset, dataset_name, seed))
    if max_images is not None:
        samples = samples[:max_images]
    suffix = spec.suffix or f".{image_format or ('jpg' if dataset_name in RGB_DATA_NAMES else 'png')}"
    writer = _SplitWriter(dest, SPLIT_FOLDERS[which_dataset])
    labels, first = [], None
    try:
        for sample in samples:
            if isinstance(sample.image, np.ndarray):
                pixels, affine, where = sample.image, None, f"{source} (item {len(labels)})"
            else:
                loaded = spec.read(sample.image)
                if loaded is None:
                    continue
                pixels, affine, where = loaded.pixels, loaded.affine, sample.image
            pixels = transform_image(pixels)
            if pixels is None:
                continue
            first = _check_shape(pixels, first, where)
            if spec.orient is not None:
                pixels = spec.orient(pixels, sample.image)
            idx = len(labels)
            name = f"{idx // 1000:05d}/img{idx:08d}{suffix}"
            writer.write(name, _encode(pixels, suffix, affine))
            labels.append([name, sample.label])
        writer.write("dataset.json", json.dumps({"labels": labels}).encode())
    finally:
        writer.close()
    return len(labels)


def _idx_file_source(path: Path, which_dataset: str, source_type: str | None) -> tuple[Path, str]:
    """The original's ``--source train-images-idx3-ubyte.gz`` (or ``t10k-...`` for test): its folder, as
    the ``mnist`` source type reads it. Any other file is refused."""
    expected = "t10k-images-idx3-ubyte.gz" if which_dataset == "test" else "train-images-idx3-ubyte.gz"
    if path.name not in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        raise ValueError(
            f"--source {path}: a file source must be Morpho-MNIST's train-/t10k-images-idx3-ubyte.gz; "
            "give the folder for the other sources"
        )
    if path.name != expected:
        raise ValueError(f"--source {path}: --which_dataset {which_dataset} reads {expected}")
    if source_type not in (None, "mnist"):
        raise ValueError(
            f"--source {path}: an idx file is a Morpho-MNIST source, not --source_type {source_type}"
        )
    return path.parent, "mnist"


def _parse_resolution(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        w, h = (int(v) for v in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise click.BadParameter(
            f"expected WxH, e.g. 32x32, got {value!r}", param_hint="--resolution"
        ) from None
    return w, h


@click.command()
@click.option(
    "--source",
    required=True,
    type=click.Path(exists=True),
    help="Input folder (or Morpho-MNIST's train-/t10k-images-idx3-ubyte.gz, as the original)",
)
@click.option("--dest", required=True, type=click.Path(), help="Output dataset ROOT folder (or .zip)")
@click.option("--dataset_name", default="adni", show_default=True, help="Data name (file suffix, CSV splits)")
@click.option(
    "--annotation_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="The source's label table (CSV, EyePACS also .zip) or JSON list of [path, labels] rows",
)
@click.option("--max-images", "max_images", type=click.IntRange(min=1), default=None, help="Output at most N")
@click.option("--which_dataset", type=click.Choice(list(SPLIT_FOLDERS)), default="train", show_default=True)
@click.option(
    "--transform", type=click.Choice(TRANSFORMS), default=None, help="Crop mode (needs --resolution)"
)
@click.option("--resolution", default=None, metavar="WxH", help="Output resolution, e.g. 256x256")
@click.option(
    "--source_type",
    type=click.Choice(list(SOURCE_TYPES)),
    default=None,
    help="Input source (default: guessed from the --source directory name, as the original)",
)
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["png", "jpg"]),
    default=None,
    help="Image format (2-D sources)",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the EyePACS re-balancing draw")
def dataset_tool(
    source,
    dest,
    dataset_name,
    annotation_path,
    max_images,
    which_dataset,
    transform,
    resolution,
    source_type,
    image_format,
    seed,
) -> None:
    """Write trainset/, valset/ or testset/ of an MSSG dataset root with dataset.json labels."""
    try:
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
            source_type,
            seed,
        )
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {count} images to {dest}/{SPLIT_FOLDERS[which_dataset]}")
