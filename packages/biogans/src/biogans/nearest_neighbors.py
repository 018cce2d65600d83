"""Nearest neighbours in pixel space (``code/nearest_neighbors.py``), on CPU or GPU, in chunks.

Images are compared in [0, 1] (``ToTensor``) by squared L2 distance over the chosen channels. Used for
(1) the red-channel neighbour file of the multi-channel models: for every image of the query folders and
every class, the 5 nearest train images of that class by the RED channel only
(``{query basename: {class: [5 basenames]}}``, written with ``torch.save``, loadable with
``weights_only=True``); (2) the nearest-neighbour baseline of test-set reconstruction (both channels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from insilico_core.train import atomic_save, progress

from .data import class_folders, list_images, read_rgb_uint8


def class_image_folder(root: str | Path, class_name: str) -> Path:
    """``<root>/<class>`` holding images directly, or the conditional layout's ``<root>/<class>/<class>``."""
    folder = Path(root) / class_name
    if not folder.is_dir():
        raise FileNotFoundError(f"class folder {folder} does not exist")
    if any(p.is_file() for p in folder.iterdir()):
        return folder
    nested = folder / class_name
    if nested.is_dir() and any(p.is_file() for p in nested.iterdir()):
        return nested
    raise ValueError(f"class folder {folder} holds no images (also not in {nested})")


def read_class_images(
    root: str | Path, classes: Sequence[str], num_channels: int | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """Per class: images ``[N, C, H, W]`` in [0, 1] (first ``num_channels`` channels) and their basenames,
    sorted by name."""
    images, names = {}, {}
    for name in classes:
        files = list_images(class_image_folder(root, name))
        if not files:
            raise ValueError(f"no images for class {name} under {root}")
        stack = torch.stack([torch.from_numpy(read_rgb_uint8(f)) for f in files]).float() / 255.0
        images[name] = stack[:, :num_channels] if num_channels else stack
        names[name] = [f.name for f in files]
    return images, names


def nearest(queries: torch.Tensor, candidates: torch.Tensor, k: int = 1, chunk: int = 256):
    """(squared distances ``[Q, k]``, indices ``[Q, k]``) of the k nearest candidates of every query, ties
    broken by index (stable sort, as the original's ascending sort)."""
    if queries.shape[1:] != candidates.shape[1:]:
        raise ValueError(f"query images {tuple(queries.shape[1:])} differ from {tuple(candidates.shape[1:])}")
    flat = candidates.reshape(len(candidates), -1)
    k = min(k, len(candidates))
    distances, indices = [], []
    for start in range(0, len(queries), chunk):
        query = queries[start : start + chunk].reshape(-1, flat.shape[1])
        d = ((query[:, None, :] - flat[None, :, :]) ** 2).sum(-1)
        values, order = torch.sort(d, dim=1, stable=True)
        distances.append(values[:, :k])
        indices.append(order[:, :k])
    return torch.cat(distances), torch.cat(indices)


def build_neighbour_file(
    query_roots: Sequence[str | Path],
    search_root: str | Path,
    out: str | Path,
    classes: Sequence[str] | None = None,
    num_neighbors: int = 5,
    device: str | torch.device = "cpu",
) -> Path:
    """Write the red-channel neighbour file ``{query basename: {class: [num_neighbors basenames]}}``."""
    classes = list(classes) if classes else class_folders(search_root)
    search, search_names = read_class_images(search_root, classes, num_channels=1)
    search = {c: t.to(device) for c, t in search.items()}
    table: dict[str, dict[str, list[str]]] = {}
    for root in query_roots:
        queries, query_names = read_class_images(root, classes, num_channels=1)
        for query_class in progress(classes, desc=f"neighbours of {Path(root).name}"):
            for name in query_names[query_class]:
                if name in table:
                    raise ValueError(
                        f"image basename {name} occurs twice; the neighbour file needs unique names"
                    )
            batch = queries[query_class].to(device)
            per_class = {c: nearest(batch, search[c], num_neighbors)[1].cpu() for c in classes}
            for row, name in enumerate(query_names[query_class]):
                table[name] = {c: [search_names[c][int(i)] for i in per_class[c][row]] for c in classes}
    return atomic_save(table, out)
