"""Image outputs as the original writes them: TIFF files of whole visual tensors and an index.html.

A visual tensor ``(N, C, H, W)`` in [-1, 1] is written whole (batch dimension kept) as
``uint16(rint((t + 1) / 2 * 255))`` (the original ``tensor2im``: 8-bit inputs come back as their values,
tanh outputs map to 0..255), or unquantised as float32 with ``--output_dtype float32``.
"""

from __future__ import annotations

import html
import ntpath
import os
from pathlib import Path

import numpy as np
import torch
from insilico_core.data import write_tiff
from PIL import Image


def tensor_to_uint16(tensor: torch.Tensor) -> np.ndarray:
    """The original mapping ``uint16(rint((t + 1) / 2 * 255))`` of the whole tensor (negative results wrap
    as numpy's cast does, as in the original)."""
    values = np.rint((tensor.detach().cpu().float().numpy() + 1.0) / 2.0 * 255.0)
    return values.astype(np.int64).astype(np.uint16)


def visual_array(tensor: torch.Tensor, output_dtype: str = "uint16") -> np.ndarray:
    """Array written for a visual: the uint16 mapping or float32 values."""
    if output_dtype == "uint16":
        return tensor_to_uint16(tensor)
    if output_dtype == "float32":
        return tensor.detach().cpu().float().numpy()
    raise ValueError(f"--output_dtype {output_dtype!r} is unknown; expected uint16 or float32")


def resize_for_aspect_ratio(array: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """``--aspect_ratio``: bicubic resize of every plane to width * ratio (ratio > 1) or height / ratio
    (ratio < 1); the original crashed on this (scipy's imresize is gone)."""
    if aspect_ratio == 1.0:
        return array
    if aspect_ratio <= 0:
        raise ValueError(f"--aspect_ratio must be positive, got {aspect_ratio}")
    height, width = array.shape[-2:]
    if aspect_ratio > 1.0:
        size = (int(width * aspect_ratio), height)
    else:
        size = (width, int(height / aspect_ratio))
    planes = array.reshape(-1, height, width).astype(np.float32)
    resized = np.stack([np.asarray(Image.fromarray(p).resize(size, Image.BICUBIC)) for p in planes])
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        resized = np.clip(np.rint(resized), info.min, info.max)
    return resized.astype(array.dtype).reshape(*array.shape[:-2], size[1], size[0])


def output_stem(image_path: str, generation: int, legacy_names: bool = False) -> str:
    """File-name stem of one input's outputs: ``<input stem>_gen<k>``; with ``legacy_names`` the original's
    (the first character of the path, so every input overwrote the previous one)."""
    if legacy_names:
        return os.path.splitext(ntpath.basename(image_path[0]))[0]
    return f"{Path(image_path).stem}_gen{generation}"


class HTMLPage:
    """``index.html`` listing the saved images: one ``<h3>`` header and one table row per input, as the
    original's dominate page (browsers do not display TIFF; the page lists and links the files)."""

    def __init__(self, web_dir: str | Path, title: str, refresh: int = 0):
        self.web_dir = Path(web_dir)
        self.image_dir = self.web_dir / "images"
        self.image_dir.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.refresh = refresh
        self.body: list[str] = []

    def add_header(self, text: str) -> None:
        self.body.append(f"<h3>{html.escape(text)}</h3>")

    def add_images(self, names: list[str], labels: list[str], width: int = 256) -> None:
        cells = "".join(
            f'<td style="word-wrap: break-word;" halign="center" valign="top"><p>'
            f'<a href="images/{html.escape(name)}">'
            f'<img style="width:{width}px" src="images/{html.escape(name)}"></a>'
            f"<br><p>{html.escape(label)}</p></p></td>"
            for name, label in zip(names, labels, strict=True)
        )
        self.body.append(f'<table border="1" style="table-layout: fixed;"><tr>{cells}</tr></table>')

    def save(self) -> Path:
        refresh = f'<meta http-equiv="refresh" content="{self.refresh}">' if self.refresh > 0 else ""
        page = (
            f"<!DOCTYPE html>\n<html>\n<head>\n<title>{html.escape(self.title)}</title>\n{refresh}</head>\n"
            f"<body>\n" + "\n".join(self.body) + "\n</body>\n</html>\n"
        )
        path = self.web_dir / "index.html"
        path.write_text(page)
        return path


def save_visuals(
    page: HTMLPage,
    visuals: dict[str, torch.Tensor],
    stem: str,
    output_dtype: str = "uint16",
    aspect_ratio: float = 1.0,
    width: int = 256,
) -> list[Path]:
    """Write every visual as ``<stem>_<label>.tif`` into the page's image folder and add its row."""
    page.add_header(stem)
    names, paths = [], []
    for label, tensor in visuals.items():
        name = f"{stem}_{label}.tif"
        array = resize_for_aspect_ratio(visual_array(tensor, output_dtype), aspect_ratio)
        paths.append(write_tiff(page.image_dir / name, array))
        names.append(name)
    page.add_images(names, list(visuals), width)
    return paths
