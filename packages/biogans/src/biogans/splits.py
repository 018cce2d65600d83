"""Random halves of class folders for the classifier two-sample tests (the ``make_splits_*`` scripts).

For every class and split k: ``random.seed(k + 1)``; the sorted names of the regular files of the class
folder are shuffled with Python's ``random.shuffle``; the first ``len // 2`` go to ``test``, the rest to
``train``. Python's shuffle is unchanged since 3.6, so the splits equal the original's for the same files.
Files are linked with relative symlinks (``ln -rs``) or copied.

Layouts: ``joint``: ``<target>/split{k}/{train,test}/<Class>/<file>`` (joint models, 8-class real vs real);
``conditional``: ``<target>/split{k}/{train,test}/<Class>/<Class>/<file>`` (conditional models, and every
``--dataroot``/``--test_data`` of the real-vs-real jobs, where each class is read as a one-class dataset).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from .data import class_folders

LAYOUTS = ("joint", "conditional")


def split_files(files: Sequence[str], split: int) -> tuple[list[str], list[str]]:
    """(train, test) halves of ``files`` for split number ``split`` exactly as the original scripts."""
    names = sorted(files)
    random.seed(split + 1)
    random.shuffle(names)
    half = len(names) // 2
    return names[half:], names[:half]


def make_splits(
    source: str | Path,
    target: str | Path,
    num_splits: int = 10,
    classes: Sequence[str] | None = None,
    layout: str = "joint",
    copy: bool = False,
) -> Path:
    """Write ``num_splits`` splits of every class folder of ``source`` under ``target``; returns ``target``.

    ValueError for an unknown layout, a missing class or a class with fewer than 2 files; FileExistsError if
    ``target`` already holds splits (the original refused too).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if num_splits < 1:
        raise ValueError(f"num_splits must be >= 1, got {num_splits}")
    source, target = Path(source), Path(target)
    available = class_folders(source)
    classes = list(classes) if classes else available
    missing = [c for c in classes if c not in available]
    if missing:
        raise ValueError(f"{source} has no class folder {', '.join(missing)} (found {', '.join(available)})")
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} already exists and is not empty; remove it or choose another target")
    for name in classes:
        folder = source / name
        files = [f.name for f in folder.iterdir() if f.is_file()]
        if len(files) < 2:
            raise ValueError(f"class folder {folder} has {len(files)} files; a split needs at least 2")
        for k in range(num_splits):
            for role, names in zip(("train", "test"), split_files(files, k), strict=True):
                destination = target / f"split{k}" / role / name
                if layout == "conditional":
                    destination = destination / name
                destination.mkdir(parents=True, exist_ok=True)
                for file_name in names:
                    _place(folder / file_name, destination / file_name, copy)
    return target


def _place(source: Path, destination: Path, copy: bool) -> None:
    if copy:
        shutil.copy2(source, destination)
    else:
        destination.symlink_to(os.path.relpath(source.resolve(), destination.parent.resolve()))
