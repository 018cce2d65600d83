"""Image-size arithmetic shared by the BioGANs generators and discriminators (DCGAN sizing rules)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GeneratorGeometry:
    """Sizes of a DCGAN generator for one image size.

    ``start_size``: (h0, w0), the image size halved while both sides exceed 4; ``start_channels``: c0 =
    (ngf // 2)·2^halvings, the width of the first layer; ``num_pyramid``: number of stride-2 CT(4, 2, 1)
    layers between the first and the final layer (final layer doubles once more).
    """

    start_size: tuple[int, int]
    start_channels: int
    num_pyramid: int


def as_image_size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` from an int (square) or a pair; ValueError otherwise."""
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"image_size must be a positive int or (height, width), got {image_size!r}")
    return size  # type: ignore[return-value]


def generator_geometry(image_size: int | tuple[int, int], ngf: int) -> GeneratorGeometry:
    """DCGAN_G sizing: halve (H, W) while both > 4, doubling the width; pyramid until height H/2.

    Raises ValueError when a halving is not exact or the network would not produce ``image_size``
    (e.g. 36x36 or 4x4), instead of failing deep inside a forward pass.
    """
    height, width = as_image_size(image_size)
    h, w, channels, halvings = height, width, ngf // 2, 0
    while h > 4 and w > 4:
        if h % 2 or w % 2:
            raise ValueError(
                f"image size {height}x{width} cannot be halved evenly down to <= 4 pixels "
                f"(stuck at {h}x{w}); use sizes such as 48x80, 64x64 or 96x160"
            )
        h, w, channels, halvings = h // 2, w // 2, channels * 2, halvings + 1
    num_pyramid = 0
    current = h
    while current < height // 2:
        current, num_pyramid = current * 2, num_pyramid + 1
    out = (h * 2 ** (num_pyramid + 1), w * 2 ** (num_pyramid + 1))
    if out != (height, width):
        raise ValueError(
            f"a DCGAN generator cannot produce {height}x{width} images (it would produce {out[0]}x{out[1]})"
        )
    if channels < 2 ** (num_pyramid):
        raise ValueError(f"ngf={ngf} is too small for {height}x{width} images")
    return GeneratorGeometry((h, w), channels, num_pyramid)


def discriminator_final_size(image_size: int | tuple[int, int]) -> tuple[tuple[int, int], int]:
    """DCGAN_D sizing: ((h, w) of the last feature map, number of stride-2 pyramid layers)."""
    height, width = as_image_size(image_size)
    if height % 2 or width % 2 or height < 4 or width < 4:
        raise ValueError(f"a DCGAN discriminator needs even image sides >= 4, got {height}x{width}")
    h, w, num_pyramid = height // 2, width // 2, 0
    while h > 4 and w > 4:
        h, w, num_pyramid = h // 2, w // 2, num_pyramid + 1
    return (h, w), num_pyramid
