"""The original TA-GAN preprocessing pipeline (``data/base_dataset.py``), channel by channel.

One set of random parameters is drawn per sample (python ``random``, in the original order: crop x, crop y,
horizontal flip, vertical flip, rotation angle) and shared by all channels of the sample. Each channel then
goes through, in this order:

1. (grayscale loaders) the 8-bit conversion of PIL's ``convert('L')``: integers clipped to [0, 255], floats
   clipped to [0, 255] and truncated, booleans to 0 / 255. Values above 255 saturate: this is the data
   contract of the released networks. ``--keep_bit_depth`` replaces it by a division by the dtype's full
   range (uint16: 65535), which keeps every level of 16-bit data.
2. ``resize`` (nearest, to load_size x load_size) or ``scale_width`` (width to load_size);
3. ``crop``: crop_size window at the drawn position, only when the image is larger;
4. ``center``: torchvision's centre crop (zero-padded when the image is smaller);
5. ``tophalf`` / ``bottomhalf``: rows [0, h//2) / [h//2, 2 (h//2));
6. always: crop or zero-pad to multiples of 16 (``round(size / 16) * 16``, Python rounding);
7. unless ``--no_flip``: the drawn left-right and top-bottom flips;
8. ``rotation``: the drawn multiple of 90 degrees, counter-clockwise (PIL ``rotate``, same size);
9. to a ``(1, H, W)`` float32 tensor: grayscale loaders give ``2 * v / 255 - 1`` in [-1, 1]; the others keep
   float values as they are and scale 8-bit ones to [0, 1].
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

POWER_OF_TWO_BASE = 16
_size_notice_printed = False


@dataclass(frozen=True)
class TransformParams:
    """Random choices of one sample: crop corner (x, y), flips, rotation angle in degrees."""

    crop_x: int = 0
    crop_y: int = 0
    flip_h: bool = False
    flip_v: bool = False
    angle: int = 0


def draw_params(opt: argparse.Namespace, width: int, height: int) -> TransformParams:
    """Draw the sample's parameters with python ``random`` exactly as the original ``get_params``."""
    new_w, new_h = width, height
    if opt.preprocess == "resize_and_crop":
        new_w = new_h = opt.load_size
    elif opt.preprocess == "scale_width_and_crop":
        new_w, new_h = opt.load_size, opt.load_size * height // width
    x = random.randint(0, max(0, new_w - opt.crop_size))
    y = random.randint(0, max(0, new_h - opt.crop_size))
    flip_h = random.random() > 0.5
    flip_v = random.random() > 0.5
    angle = random.choice([0, 90, 180, 270])
    return TransformParams(x, y, flip_h, flip_v, angle)


def to_8bit(channel: np.ndarray) -> np.ndarray:
    """PIL ``convert('L')`` of a 2-D array: uint8 as is, integers clipped to [0, 255], floats clipped and
    truncated toward zero, booleans to 0 / 255."""
    if channel.dtype == np.uint8:
        return channel
    if channel.dtype == np.bool_:
        return channel.astype(np.uint8) * 255
    if np.issubdtype(channel.dtype, np.integer):
        return np.clip(channel, 0, 255).astype(np.uint8)
    return np.trunc(np.clip(np.nan_to_num(channel.astype(np.float64)), 0, 255)).astype(np.uint8)


def to_unit_range(channel: np.ndarray) -> np.ndarray:
    """``--keep_bit_depth``: integers divided by their dtype's maximum (uint16 by 65535), booleans 0 / 1,
    floats unchanged (taken to be in [0, 1]); float32 result."""
    if channel.dtype == np.bool_:
        return channel.astype(np.float32)
    if np.issubdtype(channel.dtype, np.integer):
        return (channel.astype(np.float64) / np.iinfo(channel.dtype).max).astype(np.float32)
    return channel.astype(np.float32)


def padded_crop(image: np.ndarray, left: int, top: int, width: int, height: int) -> np.ndarray:
    """PIL ``crop((left, top, left + width, top + height))``: regions outside the image are zeros."""
    out = np.zeros((height, width), dtype=image.dtype)
    src_top, src_left = max(top, 0), max(left, 0)
    src_bottom, src_right = min(top + height, image.shape[0]), min(left + width, image.shape[1])
    if src_bottom > src_top and src_right > src_left:
        out[src_top - top : src_bottom - top, src_left - left : src_right - left] = image[
            src_top:src_bottom, src_left:src_right
        ]
    return out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """torchvision ``CenterCrop(size)``: zero-pad to at least ``size`` (extra pixel right / bottom), then crop
    at ``round((h - size) / 2)``, ``round((w - size) / 2)``."""
    height, width = image.shape
    if size > width or size > height:
        pad_left, pad_top = max(size - width, 0) // 2, max(size - height, 0) // 2
        pad_right, pad_bottom = (max(size - width, 0) + 1) // 2, (max(size - height, 0) + 1) // 2
        image = np.pad(image, ((pad_top, pad_bottom), (pad_left, pad_right)))
        height, width = image.shape
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return image[top : top + size, left : left + size]


def resize_nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """PIL nearest-neighbour resize (the original's NEAREST for ``resize`` and ``scale_width``)."""
    if image.shape == (height, width):
        return image
    resized = Image.fromarray(image.astype(np.float32)).resize((width, height), Image.NEAREST)
    return np.asarray(resized).astype(image.dtype)


def rotate(image: np.ndarray, angle: int) -> np.ndarray:
    """PIL ``rotate(angle)``: counter-clockwise about the centre, same size, nearest, zero fill (an exact
    ``rot90`` for square images)."""
    if angle % 360 == 0:
        return image
    if image.shape[0] == image.shape[1] or angle % 180 == 0:
        return np.rot90(image, k=angle // 90).copy()
    rotated = Image.fromarray(image.astype(np.float32)).rotate(angle)
    return np.asarray(rotated).astype(image.dtype)


def make_multiple_of(image: np.ndarray, base: int = POWER_OF_TWO_BASE) -> np.ndarray:
    """Crop or zero-pad (bottom / right) to ``round(size / base) * base`` as the original; notices once."""
    global _size_notice_printed
    height, width = image.shape
    target_h, target_w = int(round(height / base) * base), int(round(width / base) * base)
    if (target_h, target_w) == (height, width):
        return image
    if not _size_notice_printed:
        print(
            f"tagan: image size {width}x{height} is not a multiple of {base}; "
            f"adjusted to {target_w}x{target_h} "
            f"(cropped or zero-padded at the bottom / right), as the original loader does"
        )
        _size_notice_printed = True
    return padded_crop(image, 0, 0, target_w, target_h)


def apply_geometry(image: np.ndarray, opt: argparse.Namespace, params: TransformParams) -> np.ndarray:
    """Steps 2-8 of the module docstring on a 2-D array."""
    preprocess = opt.preprocess
    if "resize" in preprocess:
        image = resize_nearest(image, opt.load_size, opt.load_size)
    elif "scale_width" in preprocess and image.shape[1] != opt.load_size:
        height, width = image.shape
        image = resize_nearest(image, opt.load_size, int(opt.load_size * height / width))
    if "crop" in preprocess:
        height, width = image.shape
        if width > opt.crop_size or height > opt.crop_size:
            image = padded_crop(image, params.crop_x, params.crop_y, opt.crop_size, opt.crop_size)
    if "center" in preprocess:
        image = center_crop(image, opt.crop_size)
    if "tophalf" in preprocess:
        image = image[: image.shape[0] // 2]
    if "bottomhalf" in preprocess:
        half = image.shape[0] // 2
        image = image[half : 2 * half]
    image = make_multiple_of(image)
    if not opt.no_flip:
        if params.flip_h:
            image = image[:, ::-1]
        if params.flip_v:
            image = image[::-1, :]
    if "rotation" in preprocess and params.angle:
        image = rotate(image, params.angle)
    return np.ascontiguousarray(image)


def transform_channel(
    channel: np.ndarray, opt: argparse.Namespace, params: TransformParams, grayscale: bool
) -> torch.Tensor:
    """One 2-D channel through the whole pipeline -> ``(1, H, W)`` float32 tensor.

    grayscale=True: [-1, 1] after the 8-bit conversion (or ``--keep_bit_depth`` scaling);
    grayscale=False: floats as they are, 8-bit and boolean values scaled to [0, 1].
    """
    if channel.ndim != 2:
        raise ValueError(f"expected a 2-D image channel, got shape {channel.shape}")
    if grayscale:
        channel = to_unit_range(channel) if getattr(opt, "keep_bit_depth", False) else to_8bit(channel)
    elif channel.dtype == np.bool_:
        channel = channel.astype(np.uint8) * 255
    image = apply_geometry(channel, opt, params)
    tensor = torch.from_numpy(image).unsqueeze(0)
    if tensor.dtype == torch.uint8:
        tensor = tensor.float().div(255)
    else:
        tensor = tensor.float()
    if grayscale:
        tensor = tensor.sub(0.5).div(0.5)
    return tensor


def block_means(image: np.ndarray, block: int) -> np.ndarray:
    """Means of ``block`` x ``block`` tiles, the last row / column of tiles zero-padded (as skimage's
    ``block_reduce(image, (block, block), np.mean)``)."""
    height, width = image.shape
    padded_h, padded_w = -(-height // block) * block, -(-width // block) * block
    padded = np.zeros((padded_h, padded_w), dtype=np.float64)
    padded[:height, :width] = image
    return padded.reshape(padded_h // block, block, padded_w // block, block).mean(axis=(1, 3))


def decision_map(image: torch.Tensor, block: int, n_selected: int) -> torch.Tensor:
    """TAGAN_live's map of the sub-regions where real STED is given to G: the tiles whose mean exceeds the
    ``n_selected``-th largest tile mean of ``image`` (``(1, H, W)``), upsampled (nearest) to ``(1, H, W)``
    with values {0, 1}. ``n_selected`` 1 selects no tile, 2 the brightest one."""
    means = block_means(image.numpy()[0], block)
    ranked = np.sort(means.ravel())
    threshold = ranked[-min(n_selected, ranked.size)]
    selected = Image.fromarray(means > threshold).resize((image.shape[2], image.shape[1]))
    return torch.from_numpy(np.array(selected, dtype=np.float32)).unsqueeze(0)
