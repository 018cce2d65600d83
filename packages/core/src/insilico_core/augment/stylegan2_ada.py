"""StyleGAN2-ADA's full augmentation pipeline (``AugmentPipe`` of NVlabs stylegan2-ada-pytorch / stylegan3).

Karras et al., "Training Generative Adversarial Networks with Limited Data" (NeurIPS 2020). Every stage is
enabled by a probability multiplier; a sample gets the stage with probability ``multiplier * p``, where ``p``
(a buffer, moved by the ADA controller during training) is the overall strength. The stages, in order:

1. pixel blitting: ``xflip``, ``rotate90``, integer translation ``xint`` (up to ``xint_max`` of the size);
2. general geometry: isotropic ``scale`` (log2 std ``scale_std``), ``rotate`` (up to ``rotate_max`` of a
   full turn; applied before and after the anisotropic scaling, each with ``1 - sqrt(1 - rotate * p)`` so
   that one of the two happens with ``rotate * p``), ``aniso`` (log2 std ``aniso_std``), fractional
   translation ``xfrac`` (std ``xfrac_std`` of the size);
3. colour: ``brightness`` (std ``brightness_std``), ``contrast`` (log2 std ``contrast_std``), ``lumaflip``,
   ``hue`` rotation (up to ``hue_max`` of a turn), ``saturation`` (log2 std ``saturation_std``);
4. image-space filtering ``imgfilter``: the gains of four frequency bands (multipliers ``imgfilter_bands``)
   drawn with log2 std ``imgfilter_std``, then renormalised to keep the expected power;
5. corruptions: additive Gaussian ``noise`` (``|N(0, noise_std)|`` sigma per sample) and ``cutout`` (a
   zeroed square of ``cutout_size`` of the image at a uniform random centre).

The stages 1-2 compose into one inverse homogeneous 2-D matrix per sample (output pixel -> input pixel) and
resample once: reflect-pad by what the transform brings into view, upsample 2x with the orthogonal ``sym6``
wavelet low-pass, ``grid_sample`` bilinearly, filter and downsample 2x with the same wavelet. Colour stages
compose into one 4x4 matrix acting on RGB (a single-channel image uses its mean row). The random numbers
are drawn in the original's order and shapes, so with the same seed the output matches NVlabs' code.

Everything is differentiable with respect to the images, to the second order: the R1 penalty of a
discriminator that sees augmented reals back-propagates through ``grid_sample`` twice, which PyTorch (>=
1.11, checked on 2.13) supports natively for gradients with respect to the input, so no gradfix is needed.

A property of the original, kept: sym6 is not symmetric, so the 2x down-filter cancels the up-filter's
phase only for transforms that keep the axes' orientation. An x-flip or quarter turn passes the mirrored
axes through the even taps of ``sym6 * sym6`` (unit DC gain, centre tap 0.965, centroid 0.1 px off-centre),
and a general rotation leaves up to ~0.1 px of sub-pixel shift; integer translations and scalings stay
exact.

One deliberate difference: with ``p == 0`` the images are returned untouched (the original resamples them
with the identity transform, returning them to within ~1e-5, and draws random numbers it then ignores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from insilico_core.ops import downsample2d, setup_filter, upsample2d

# Low-pass filters of the Daubechies symlets (decomposition filters), as the original uses them.
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)
SYM6 = (
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
)  # fmt: skip

# Expected power of the four image-filter bands for a 1/f spectrum (low band first).
BAND_POWER = (10 / 13, 1 / 13, 1 / 13, 1 / 13)

# Stage groups of StyleGAN2-ADA's train.py --augpipe presets.
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
_PRESET_STAGES: dict[str, tuple[str, ...]] = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": _COLOR,
    "filter": ("imgfilter",),
    "noise": ("noise",),
    "cutout": ("cutout",),
    "bg": _BLIT + _GEOM,
    "bgc": _BLIT + _GEOM + _COLOR,
    "bgcf": _BLIT + _GEOM + _COLOR + ("imgfilter",),
    "bgcfn": _BLIT + _GEOM + _COLOR + ("imgfilter", "noise"),
    "bgcfnc": _BLIT + _GEOM + _COLOR + ("imgfilter", "noise", "cutout"),
}
# --augpipe name -> AugmentPipe kwargs (every stage of the preset with multiplier 1); 'bgc' is the default
# of stylegan2-ada-pytorch and the fixed choice of stylegan3's train.py.
AUGPIPE_PRESETS: dict[str, dict[str, float]] = {
    name: dict.fromkeys(stages, 1.0) for name, stages in _PRESET_STAGES.items()
}

Scalar = float | torch.Tensor


def homogeneous(rows: Sequence[Sequence[Scalar]], device: torch.device | str | None = None) -> torch.Tensor:
    """A batch of matrices from rows of scalars and equally shaped tensors: ``[*batch_shape, R, C]``.

    Python numbers are broadcast to the shape of the tensor entries; with no tensor entry the result is a
    single float32 ``[R, C]`` matrix on ``device``.
    """
    tensors = [x for row in rows for x in row if isinstance(x, torch.Tensor)]
    if not tensors:
        return torch.as_tensor(np.asarray(rows, dtype=np.float32), device=device)
    like = tensors[0]
    entries = [x if isinstance(x, torch.Tensor) else torch.full_like(like, x) for row in rows for x in row]
    return torch.stack(entries, dim=-1).reshape(*like.shape, len(rows), len(rows[0]))


def translate2d(tx: Scalar, ty: Scalar, device: torch.device | str | None = None) -> torch.Tensor:
    """``[..., 3, 3]`` translation by ``(tx, ty)`` pixels."""
    return homogeneous([[1, 0, tx], [0, 1, ty], [0, 0, 1]], device)


def scale2d(sx: Scalar, sy: Scalar, device: torch.device | str | None = None) -> torch.Tensor:
    """``[..., 3, 3]`` scaling of x by ``sx`` and y by ``sy``."""
    return homogeneous([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], device)


def rotate2d(theta: torch.Tensor) -> torch.Tensor:
    """``[..., 3, 3]`` rotation of (x, y) coordinates by ``theta`` radians, from the x towards the y axis."""
    cos, sin = torch.cos(theta), torch.sin(theta)
    return homogeneous([[cos, torch.sin(-theta), 0], [sin, cos, 0], [0, 0, 1]])


def translate3d(t: torch.Tensor) -> torch.Tensor:
    """``[..., 4, 4]`` colour offset by ``t`` on all three channels (brightness)."""
    return homogeneous([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]])


def scale3d(s: torch.Tensor) -> torch.Tensor:
    """``[..., 4, 4]`` colour scaling by ``s`` on all three channels (contrast)."""
    return homogeneous([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]])


def rotate3d(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """``[..., 4, 4]`` rotation of colour space by ``theta`` radians about the unit ``axis`` ``[3+]``
    (Rodrigues' formula; hue rotation about the luma axis)."""
    vx, vy, vz = axis[..., 0], axis[..., 1], axis[..., 2]
    s, c = torch.sin(theta), torch.cos(theta)
    cc = 1 - c
    return homogeneous(
        [
            [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
            [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
            [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
            [0, 0, 0, 1],
        ]
    )


def image_filter_bank(num_bands: int = 4) -> np.ndarray:
    """``[num_bands, taps]`` float64 band-pass filters that split an image into octave bands (low first).

    Built from the ``sym2`` wavelet: ``H(z)`` low-pass, ``H(-z)`` high-pass, their power responses
    ``H(z) H(1/z) / 2``; at each level the bank so far is dilated by 2 (zeros between taps) and low-passed,
    and the new band gets the high-pass response. The rows sum to a unit impulse, so unit gains give back
    the image. 4 bands: 43 taps.
    """
    low = np.asarray(SYM2)
    high = low * (-1.0) ** np.arange(low.size)
    low_power = np.convolve(low, low[::-1]) / 2
    high_power = np.convolve(high, high[::-1]) / 2
    bank = np.eye(num_bands, 1)
    for band in range(1, num_bands):
        dilated = np.zeros([num_bands, bank.shape[1] * 2 - 1])
        dilated[:, ::2] = bank
        bank = np.stack([np.convolve(row, low_power) for row in dilated])
        start = (bank.shape[1] - high_power.size) // 2
        bank[band, start : start + high_power.size] += high_power
    return bank


def apply_geometric(images: torch.Tensor, G_inv: torch.Tensor, Hz_geom: torch.Tensor) -> torch.Tensor:
    """Resample ``images`` ``[B, C, H, W]`` with the inverse transforms ``G_inv`` ``[B, 3, 3]``.

    ``G_inv`` maps output pixel coordinates (origin at the image centre, pixels as unit squares) to input
    coordinates. The image is reflect-padded by as much as the transformed corners reach outside it plus the
    filter support (at most ``size - 1``, the limit of reflection), upsampled 2x with the orthogonal
    low-pass ``Hz_geom`` (``[taps]``), sampled bilinearly (zeros outside), then low-passed and downsampled
    2x with the flipped filter, which also crops the padding. Returns ``[B, C, H, W]``.
    """
    batch_size, num_channels, height, width = images.shape
    device = images.device
    cx, cy = (width - 1) / 2, (height - 1) / 2
    corners = homogeneous([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], device)  # [4, xyz]
    corners = G_inv @ corners.t()  # [B, xyz, 4]
    filter_pad = Hz_geom.shape[0] // 4
    reach = corners[:, :2, :].permute(1, 0, 2).flatten(1)  # [xy, B * 4]
    margin = torch.cat([-reach, reach]).max(dim=1).values  # [x0, y0, x1, y1] furthest corner per side
    margin = margin + torch.tensor([filter_pad * 2 - cx, filter_pad * 2 - cy] * 2, device=device)
    margin = margin.clamp(min=0)
    margin = torch.minimum(
        margin, torch.tensor([width - 1, height - 1] * 2, device=device, dtype=margin.dtype)
    )
    mx0, my0, mx1, my1 = (int(m) for m in margin.ceil().tolist())

    images = F.pad(images, [mx0, mx1, my0, my1], mode="reflect")
    G_inv = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2, device) @ G_inv

    images = upsample2d(images, Hz_geom, up=2)
    G_inv = scale2d(2, 2, device) @ G_inv @ scale2d(1 / 2, 1 / 2, device)
    G_inv = translate2d(-0.5, -0.5, device) @ G_inv @ translate2d(0.5, 0.5, device)

    # affine_grid works in [-1, 1] normalised coordinates of the padded input / the output.
    shape = [batch_size, num_channels, (height + filter_pad * 2) * 2, (width + filter_pad * 2) * 2]
    to_input = scale2d(2 / images.shape[3], 2 / images.shape[2], device)
    from_output = scale2d(1 / (2 / shape[3]), 1 / (2 / shape[2]), device)
    G_inv = to_input @ G_inv @ from_output
    grid = F.affine_grid(G_inv[:, :2, :], shape, align_corners=False).to(images.dtype)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    return downsample2d(images, Hz_geom, down=2, padding=-filter_pad * 2, flip_filter=True)


def apply_color(images: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Apply colour matrices ``C`` ``[B, 4, 4]`` (homogeneous RGB) to ``images`` ``[B, C, H, W]``.

    RGB: ``rgb' = C[:3, :3] rgb + C[:3, 3]``. Single channel: the mean of the three RGB output rows, i.e.
    ``l' = l * mean_row_sum + mean_offset`` (a grey image seen as ``r = g = b = l``).

    Raises:
        ValueError: images with other than 1 or 3 channels.
    """
    batch_size, num_channels, height, width = images.shape
    flat = images.reshape(batch_size, num_channels, height * width)
    C = C.to(images.dtype)
    if num_channels == 3:
        flat = C[:, :3, :3] @ flat + C[:, :3, 3:]
    elif num_channels == 1:
        grey = C[:, :3, :].mean(dim=1, keepdim=True)  # [B, 1, 4]
        flat = flat * grey[:, :, :3].sum(dim=2, keepdim=True) + grey[:, :, 3:]
    else:
        raise ValueError(
            f"colour augmentation needs RGB (3 channels) or grey (1 channel) images, got {num_channels} "
            "channels; disable brightness/contrast/lumaflip/hue/saturation for these images"
        )
    return flat.reshape(batch_size, num_channels, height, width)


def apply_band_filter(images: torch.Tensor, gains: torch.Tensor, Hz_fbank: torch.Tensor) -> torch.Tensor:
    """Amplify the frequency bands of each sample: ``images`` ``[B, C, H, W]``, ``gains`` ``[B, bands]``.

    The per-sample filter ``gains @ Hz_fbank`` (``[B, taps]``) is applied separably (rows, then columns) to
    every channel after reflect padding by half its length. Returns ``[B, C, H, W]``.
    """
    batch_size, num_channels, height, width = images.shape
    pad = Hz_fbank.shape[1] // 2
    if min(height, width) <= pad:
        raise ValueError(
            f"image-space filtering (imgfilter) needs images larger than {pad} pixels per side for its "
            f"reflect padding, got {height}x{width}"
        )
    taps = (
        (gains @ Hz_fbank)
        .to(images.dtype)
        .unsqueeze(1)
        .repeat(1, num_channels, 1)
        .reshape(batch_size * num_channels, 1, -1)
    )
    planes = images.reshape(1, batch_size * num_channels, height, width)
    planes = F.pad(planes, [pad, pad, pad, pad], mode="reflect")
    planes = F.conv2d(planes, taps.unsqueeze(2), groups=batch_size * num_channels)
    planes = F.conv2d(planes, taps.unsqueeze(3), groups=batch_size * num_channels)
    return planes.reshape(batch_size, num_channels, height, width)


def cutout_mask(size: torch.Tensor, center: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[B, 1, H, W]`` float mask, 0 inside each sample's square and 1 elsewhere.

    ``size`` ``[B, 2, 1, 1, 1]`` and ``center`` ``[B, 2, 1, 1, 1]`` are (x, y) fractions of the image; pixels
    whose centres ``(i + 0.5) / width`` (and ``/ height``) lie within ``size / 2`` of the centre on both axes
    are cut out.
    """
    coord_x = torch.arange(width, device=size.device).reshape(1, 1, 1, -1)
    coord_y = torch.arange(height, device=size.device).reshape(1, 1, -1, 1)
    keep_x = ((coord_x + 0.5) / width - center[:, 0]).abs() >= size[:, 0] / 2
    keep_y = ((coord_y + 0.5) / height - center[:, 1]).abs() >= size[:, 1] / 2
    return torch.logical_or(keep_x, keep_y).to(torch.float32)


class AugmentPipe(nn.Module):
    """StyleGAN2-ADA's augmentation pipeline; argument names, defaults and state-dict keys as NVlabs'.

    Every stage is off by default (multiplier 0); enable one with multiplier 1 (see
    :data:`AUGPIPE_PRESETS`). The overall strength is the buffer ``p`` (initially 1). Buffers, in
    ``state_dict`` order: ``p`` (``[]``), ``Hz_geom`` (``[12]`` normalised ``sym6``), ``Hz_fbank``
    (``[4, 43]``, see :func:`image_filter_bank`).

    Args:
        xflip, rotate90, xint: multipliers of x-flip, quarter turns, integer translation.
        xint_max: largest integer translation, fraction of the image size.
        scale, rotate, aniso, xfrac: multipliers of isotropic scaling, rotation, anisotropic scaling,
            fractional translation.
        scale_std: log2 std of the isotropic scale.
        rotate_max: largest rotation, fraction of a full turn.
        aniso_std: log2 std of the anisotropic scale.
        xfrac_std: std of the fractional translation, fraction of the image size.
        brightness, contrast, lumaflip, hue, saturation: colour multipliers.
        brightness_std: std of the brightness offset; contrast_std: log2 std of the contrast factor;
        hue_max: largest hue rotation, fraction of a turn; saturation_std: log2 std of the saturation factor.
        imgfilter: multiplier of image-space filtering; imgfilter_bands: per-band multipliers (4 values);
        imgfilter_std: log2 std of a band's gain.
        noise, cutout: multipliers; noise_std: std of the noise sigma; cutout_size: side of the cutout square,
            fraction of the image.
    """

    def __init__(
        self,
        xflip: float = 0,
        rotate90: float = 0,
        xint: float = 0,
        xint_max: float = 0.125,
        scale: float = 0,
        rotate: float = 0,
        aniso: float = 0,
        xfrac: float = 0,
        scale_std: float = 0.2,
        rotate_max: float = 1,
        aniso_std: float = 0.2,
        xfrac_std: float = 0.125,
        brightness: float = 0,
        contrast: float = 0,
        lumaflip: float = 0,
        hue: float = 0,
        saturation: float = 0,
        brightness_std: float = 0.2,
        contrast_std: float = 0.5,
        hue_max: float = 1,
        saturation_std: float = 1,
        imgfilter: float = 0,
        imgfilter_bands: Sequence[float] = (1, 1, 1, 1),
        imgfilter_std: float = 1,
        noise: float = 0,
        cutout: float = 0,
        noise_std: float = 0.1,
        cutout_size: float = 0.5,
    ) -> None:
        arguments = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__()
        for name, value in arguments.items():
            values = value if name == "imgfilter_bands" else [value]
            if any(float(v) < 0 for v in values):
                raise ValueError(f"AugmentPipe: {name} must be >= 0, got {value}")
            setattr(self, name, [float(v) for v in values] if name == "imgfilter_bands" else float(value))
        if len(self.imgfilter_bands) != len(BAND_POWER):
            raise ValueError(
                f"AugmentPipe: imgfilter_bands needs {len(BAND_POWER)} values (one per band), got "
                f"{self.imgfilter_bands}"
            )
        self._constructor_arguments = {name: getattr(self, name) for name in arguments}
        self.register_buffer("p", torch.ones([]))  # overall strength, moved by the ADA controller
        self.register_buffer("Hz_geom", setup_filter(SYM6))
        self.register_buffer(
            "Hz_fbank", torch.as_tensor(image_filter_bank(len(BAND_POWER)), dtype=torch.float32)
        )

    @property
    def init_kwargs(self) -> dict[str, float | list[float]]:
        """The constructor arguments that rebuild this pipe, as plain numbers (for snapshots)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._constructor_arguments.items()}

    def forward(
        self,
        images: torch.Tensor,
        debug_percentile: float | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Augment a batch.

        Args:
            images: ``[B, C, H, W]`` float images (C must be 1 or 3 when a colour stage is enabled).
            debug_percentile: a number in ``[0, 1]``; every stage parameter of every sample is then that
                percentile of its distribution, regardless of the selection (the original's aid for
                visualising the stages).
            generator: the generator for every random draw (on ``images``' device); None: torch's global one.

        Returns:
            ``[B, C, H, W]`` augmented images, differentiable (twice) with respect to ``images``.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError(
                f"AugmentPipe: images must be a [B, C, H, W] tensor, got {getattr(images, 'shape', images)}"
            )
        if float(self.p) == 0:
            return images
        batch_size, num_channels, height, width = images.shape
        draw = _Draws(batch_size, images.device, generator, debug_percentile)

        G_inv = self._geometric_transform(draw, width, height)
        if G_inv is not None:
            images = apply_geometric(images, G_inv, self.Hz_geom)
        C = self._color_transform(draw, num_channels)
        if C is not None:
            images = apply_color(images, C)
        if self.imgfilter > 0:
            images = apply_band_filter(images, self._band_gains(draw), self.Hz_fbank)
        if self.noise > 0:
            sigma = draw.normal([batch_size, 1, 1, 1]).abs() * self.noise_std
            sigma = draw.select(sigma, self.noise * self.p, 0, lambda q: torch.erfinv(q) * self.noise_std)
            images = images + draw.normal([batch_size, num_channels, height, width]) * sigma
        if self.cutout > 0:
            size = torch.full([batch_size, 2, 1, 1, 1], self.cutout_size, device=images.device)
            size = draw.select(size, self.cutout * self.p, 0, lambda q: self.cutout_size)
            center = draw.select(draw.uniform([batch_size, 2, 1, 1, 1]), None, 0, lambda q: q)
            images = images * cutout_mask(size, center, height, width).to(images.dtype)
        return images

    def _geometric_transform(self, draw: _Draws, width: int, height: int) -> torch.Tensor | None:
        """``[B, 3, 3]`` inverse transform (output -> input pixel) of stages 1-2, or None if all are off.

        Each stage right-multiplies the inverse of its forward transform, so the forward transforms apply
        in stage order.
        """
        G_inv = None

        def then(inverse_step: torch.Tensor) -> None:
            nonlocal G_inv
            G_inv = inverse_step if G_inv is None else G_inv @ inverse_step

        p, batch = self.p, [draw.batch_size]
        if self.xflip > 0:
            flip = draw.select(draw.integers(2, batch), self.xflip * p, 0, lambda q: torch.floor(q * 2))
            then(scale2d(1 / (1 - 2 * flip), 1))
        if self.rotate90 > 0:
            turns = draw.select(draw.integers(4, batch), self.rotate90 * p, 0, lambda q: torch.floor(q * 4))
            then(rotate2d(np.pi / 2 * turns))
        if self.xint > 0:
            shift = draw.symmetric([draw.batch_size, 2]) * self.xint_max
            shift = draw.select(shift, self.xint * p, 0, lambda q: (q * 2 - 1) * self.xint_max)
            then(translate2d(-torch.round(shift[:, 0] * width), -torch.round(shift[:, 1] * height)))
        if self.scale > 0:
            s = draw.select(
                draw.log2_normal(self.scale_std, batch), self.scale * p, 1, _log2_normal_at(self.scale_std)
            )
            then(scale2d(1 / s, 1 / s))
        p_rotate = 1 - torch.sqrt((1 - self.rotate * p).clamp(0, 1))  # P(pre or post) = rotate * p
        if self.rotate > 0:
            theta = draw.symmetric(batch) * np.pi * self.rotate_max
            theta = draw.select(theta, p_rotate, 0, lambda q: (q * 2 - 1) * np.pi * self.rotate_max)
            then(rotate2d(theta))  # before the anisotropic scaling
        if self.aniso > 0:
            s = draw.select(
                draw.log2_normal(self.aniso_std, batch), self.aniso * p, 1, _log2_normal_at(self.aniso_std)
            )
            then(scale2d(1 / s, 1 / (1 / s)))
        if self.rotate > 0:
            theta = draw.symmetric(batch) * np.pi * self.rotate_max
            theta = draw.select(theta, p_rotate, 0, lambda q: 0.0)
            then(rotate2d(theta))  # after the anisotropic scaling
        if self.xfrac > 0:
            shift = draw.normal([draw.batch_size, 2]) * self.xfrac_std
            shift = draw.select(shift, self.xfrac * p, 0, lambda q: torch.erfinv(q * 2 - 1) * self.xfrac_std)
            then(translate2d(-(shift[:, 0] * width), -(shift[:, 1] * height)))
        return G_inv

    def _color_transform(self, draw: _Draws, num_channels: int) -> torch.Tensor | None:
        """``[B, 4, 4]`` colour transform of stage 3 (``C @ rgb1``), or None if all its stages are off.

        Each stage left-multiplies its matrix. Hue and saturation act only on multi-channel images.
        """
        C = None

        def then(step: torch.Tensor) -> None:
            nonlocal C
            C = step if C is None else step @ C

        p, batch = self.p, [draw.batch_size]
        identity = torch.eye(4, device=draw.device)
        luma = torch.as_tensor(np.asarray([1, 1, 1, 0]) / np.sqrt(3), dtype=torch.float32, device=draw.device)
        luma_projection = torch.outer(luma, luma)
        if self.brightness > 0:
            b = draw.normal(batch) * self.brightness_std
            b = draw.select(
                b, self.brightness * p, 0, lambda q: torch.erfinv(q * 2 - 1) * self.brightness_std
            )
            then(translate3d(b))
        if self.contrast > 0:
            c = draw.log2_normal(self.contrast_std, batch)
            c = draw.select(c, self.contrast * p, 1, _log2_normal_at(self.contrast_std))
            then(scale3d(c))
        if self.lumaflip > 0:
            flip = draw.integers(2, [draw.batch_size, 1, 1])
            flip = draw.select(flip, self.lumaflip * p, 0, lambda q: torch.floor(q * 2))
            then(identity - 2 * luma_projection * flip)  # Householder reflection across the luma plane
        if self.hue > 0 and num_channels > 1:
            theta = draw.symmetric(batch) * np.pi * self.hue_max
            theta = draw.select(theta, self.hue * p, 0, lambda q: (q * 2 - 1) * np.pi * self.hue_max)
            then(rotate3d(luma, theta))
        if self.saturation > 0 and num_channels > 1:
            s = draw.log2_normal(self.saturation_std, [draw.batch_size, 1, 1])
            s = draw.select(s, self.saturation * p, 1, _log2_normal_at(self.saturation_std))
            then(luma_projection + (identity - luma_projection) * s)
        return C

    def _band_gains(self, draw: _Draws) -> torch.Tensor:
        """``[B, 4]`` band gains of stage 4: each band amplified with its probability, power renormalised."""
        num_bands = len(BAND_POWER)
        expected_power = torch.tensor(BAND_POWER, dtype=torch.float32, device=draw.device)
        gains = torch.ones([draw.batch_size, num_bands], device=draw.device)
        for band, band_strength in enumerate(self.imgfilter_bands):
            gain = draw.log2_normal(self.imgfilter_std, [draw.batch_size])
            at = _log2_normal_at(self.imgfilter_std) if band_strength > 0 else (lambda q: 1.0)
            gain = draw.select(gain, self.imgfilter * self.p * band_strength, 1, at)
            step = torch.ones([draw.batch_size, num_bands], device=draw.device)
            step[:, band] = gain
            step = step / (expected_power * step.square()).sum(dim=-1, keepdim=True).sqrt()
            gains = gains * step
        return gains


def _log2_normal_at(log2_std: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """The quantile function of ``2 ** N(0, log2_std)``."""
    return lambda q: torch.exp2(torch.erfinv(q * 2 - 1) * log2_std)


class _Draws:
    """The random draws of one :meth:`AugmentPipe.forward` call, in the original's shapes and order.

    A stage draws its parameter, then (in :meth:`select`) one uniform number per sample that decides whether
    the sample gets the stage. With a debug percentile, :meth:`select` replaces the result by the parameter's
    quantile at that percentile (the random numbers are still consumed, as in the original).
    """

    def __init__(
        self,
        batch_size: int,
        device: torch.device,
        generator: torch.Generator | None,
        debug_percentile: float | None,
    ) -> None:
        self.batch_size = batch_size
        self.device = device
        self.uniform = partial(torch.rand, device=device, generator=generator)
        self.normal = partial(torch.randn, device=device, generator=generator)
        self.percentile = (
            None
            if debug_percentile is None
            else torch.as_tensor(debug_percentile, dtype=torch.float32, device=device)
        )

    def integers(self, count: int, shape: list[int]) -> torch.Tensor:
        """Uniform integers ``0 .. count - 1`` as floats."""
        return torch.floor(self.uniform(shape) * count)

    def symmetric(self, shape: list[int]) -> torch.Tensor:
        """Uniform numbers in ``[-1, 1)``."""
        return self.uniform(shape) * 2 - 1

    def log2_normal(self, log2_std: float, shape: list[int]) -> torch.Tensor:
        """Factors ``2 ** N(0, log2_std)``."""
        return torch.exp2(self.normal(shape) * log2_std)

    def select(
        self,
        value: torch.Tensor,
        probability: Scalar | None,
        neutral: float,
        quantile: Callable[[torch.Tensor], torch.Tensor | float],
    ) -> torch.Tensor:
        """``value`` for the samples chosen with ``probability`` (one uniform draw each, ``[B, 1, ...]``),
        ``neutral`` for the others; None keeps all. With a debug percentile ``q``: ``quantile(q)`` everywhere.
        """
        if probability is not None:
            chosen = self.uniform([self.batch_size] + [1] * (value.ndim - 1)) < probability
            value = torch.where(chosen, value, torch.full_like(value, neutral))
        if self.percentile is not None:
            value = torch.full_like(value, float(quantile(self.percentile)))
        return value
