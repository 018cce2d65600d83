"""ImageFolderDataset: sorted, extension-filtered, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from insilico_core.data import ImageFolderDataset, write_png, write_tiff


def test_folder_dataset_sorted_recursive_and_filtered(tmp_path):
    write_png(tmp_path / "b.png", np.full((4, 4), 2, np.uint8))
    write_tiff(tmp_path / "a.tif", np.full((4, 4), 1000, np.uint16))
    write_png(tmp_path / "sub" / "c.PNG", np.full((4, 4), 3, np.uint8))
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "notes.txt").write_text("not an image")
    dataset = ImageFolderDataset(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in dataset.files] == ["a.tif", "b.png", "sub/c.PNG"]
    assert dataset[0].dtype == np.uint16 and int(dataset[0][0, 0]) == 1000
    only_png = ImageFolderDataset(
        tmp_path, extensions=["png"], transform=lambda a: a.astype(np.float32) / 255
    )
    assert len(only_png) == 2
    assert only_png[1][0, 0] == pytest.approx(3 / 255)


def test_folder_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        ImageFolderDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty.*no image files"):
        ImageFolderDataset(tmp_path / "empty")
