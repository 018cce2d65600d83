"""StyleGAN2-ADA AugmentPipe: each stage against an independent computation, gradients, presets, state dict.

Stage parameters are pinned with ``debug_percentile`` (every sample gets the parameter's quantile at that
percentile, as in the original) or recovered by trying every candidate (random draws). The geometric stages
resample (reflect pad, 2x wavelet upsampling, bilinear grid_sample, 2x downsampling); for transforms that
map pixel centres onto pixel centres this is the identity up to float32 rounding: ~100 multiply-adds per
output sample on unit-variance values (measured max 1.6e-5), hence ``atol=5e-5`` there.

The original fuses the pixel blits (x-flip, quarter turns) into that resampling, and sym6 is not symmetric:
along an axis the transform mirrors, the image passes the filter ``k`` = even taps of ``sym6 * sym6`` (unit
DC gain, centre tap 0.965, centroid 0.098 px off-centre) instead of the identity. :func:`_blit` is that oracle
(numpy); on smooth images the blits equal ``torch.flip`` / ``torch.rot90`` up to that ~0.1 px shift.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from insilico_core.augment import AUGPIPE_PRESETS, AugmentPipe
from insilico_core.augment.stylegan2_ada import SYM6, image_filter_bank

scipy_ndimage = pytest.importorskip("scipy.ndimage")
scipy_special = pytest.importorskip("scipy.special")
scipy_rotation = pytest.importorskip("scipy.spatial.transform")

EXACT = dict(rtol=0, atol=5e-5)  # resampling on the pixel grid: identity up to float32 rounding
# 0.1 px shift (see above) x max gradient ~0.2 / px of the smooth test images, with margin
SMOOTH = dict(rtol=0, atol=3e-2)


def _pipe(p: float = 1.0, **kwargs) -> AugmentPipe:
    pipe = AugmentPipe(**kwargs)
    pipe.p.fill_(p)
    return pipe


def _images(batch: int = 6, channels: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, channels, size, size, generator=torch.Generator().manual_seed(seed))


def _reflect_shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``out[y, x] = image[y - dy, x - dx]`` with reflect (mirror, no edge repeat) outside: np.pad + crop."""
    m = max(abs(dx), abs(dy))
    padded = np.pad(image, [(0, 0), (m, m), (m, m)], mode="reflect")
    h, w = image.shape[-2:]
    return padded[:, m - dy : m - dy + h, m - dx : m - dx + w]


MIRROR_TAPS = np.convolve(SYM6, SYM6)[0::2]  # 12 taps, centre index 5


def _mirror_filtered(image: np.ndarray, axis: int) -> np.ndarray:
    """``image`` filtered along ``axis`` with :data:`MIRROR_TAPS` (tap 5 at the sample), reflect padded."""
    pad = [(0, 0)] * image.ndim
    pad[axis] = (6, 6)
    padded = np.pad(image.astype(np.float64), pad, mode="reflect")
    filtered = np.apply_along_axis(lambda row: np.convolve(row, MIRROR_TAPS, mode="valid"), axis, padded)
    return np.take(filtered, np.arange(image.shape[axis]), axis=axis)


def _blit(images: torch.Tensor, quarter_turns: int = 0, flip: bool = False) -> torch.Tensor:
    """The original's x-flip / quarter turns of ``[..., H, W]``: mirrored axes filtered, then flipped."""
    x = images.numpy()
    if flip:
        return torch.from_numpy(_mirror_filtered(x, -1)).float().flip(-1)
    reversed_axes = {0: [], 1: [-1], 2: [-1, -2], 3: [-2]}[quarter_turns]  # input axes rot90 reverses
    for axis in reversed_axes:
        x = _mirror_filtered(x, axis)
    return torch.rot90(torch.from_numpy(np.ascontiguousarray(x)).float(), quarter_turns, dims=(-2, -1))


def _smooth_images(batch: int, size: int) -> torch.Tensor:
    """Band-limited test images: a few Gaussian blobs (sigma >= 3 px) on a slow ramp, 1 channel."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = []
    for _ in range(batch):
        image = 0.01 * (xx - yy)
        for _ in range(4):
            cy, cx = rng.uniform(0, size, 2)
            sigma = rng.uniform(3, 5)
            image += rng.uniform(-1, 1) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        images.append(image)
    return torch.tensor(np.stack(images)[:, None], dtype=torch.float32)


def _matches(out: torch.Tensor, candidates: list[torch.Tensor]) -> int:
    """Index of the candidate ``out`` equals to resampling precision (exactly one must match)."""
    hits = [i for i, c in enumerate(candidates) if torch.allclose(out, c, **EXACT)]
    assert len(hits) == 1, f"matched candidates {hits}"
    return hits[0]


def test_p_zero_is_exactly_identity():
    pipe = _pipe(0.0, **AUGPIPE_PRESETS["bgcfnc"])
    images = _images()
    assert torch.equal(pipe(images), images)


def test_all_stages_off_is_exactly_identity():
    images = _images()
    assert torch.equal(_pipe(1.0)(images), images)


def test_xflip_is_a_mirror_with_the_resampling_filter():
    images = _images(batch=16)
    torch.manual_seed(1)
    out = _pipe(xflip=1)(images)
    chosen = [_matches(out[i], [_blit(images[i]), _blit(images[i], flip=True)]) for i in range(len(images))]
    assert set(chosen) == {0, 1}  # p = 1: each sample flipped with probability 1/2
    out = _pipe(xflip=1)(images, debug_percentile=0.75)  # floor(2 * 0.75) = 1: all flipped
    torch.testing.assert_close(out, _blit(images, flip=True), **EXACT)
    smooth = _smooth_images(2, 32)
    torch.testing.assert_close(_pipe(xflip=1)(smooth, debug_percentile=0.75), smooth.flip(-1), **SMOOTH)


def test_rotate90_is_a_quarter_turn_with_the_resampling_filter():
    images = _images(batch=24)
    torch.manual_seed(2)
    out = _pipe(rotate90=1)(images)
    chosen = [_matches(out[i], [_blit(images[i], k) for k in range(4)]) for i in range(len(images))]
    assert set(chosen) == {0, 1, 2, 3}
    out = _pipe(rotate90=1)(images, debug_percentile=0.3)  # floor(4 * 0.3) = 1 counter-clockwise turn
    torch.testing.assert_close(out, _blit(images, 1), **EXACT)
    smooth = _smooth_images(2, 32)
    expected = torch.rot90(smooth, 1, dims=(2, 3))
    torch.testing.assert_close(_pipe(rotate90=1)(smooth, debug_percentile=0.3), expected, **SMOOTH)


def test_integer_translation_is_a_shift_with_reflect_padding():
    images = _images(batch=12)
    torch.manual_seed(3)
    out = _pipe(xint=1)(images)
    shifts = list(itertools.product(range(-4, 5), repeat=2))  # |shift| <= round(0.125 * 32) = 4
    found = []
    for i in range(len(images)):
        candidates = [torch.from_numpy(_reflect_shift(images[i].numpy(), dx, dy)) for dx, dy in shifts]
        found.append(shifts[_matches(out[i], candidates)])
    assert len(set(found)) > 3
    # percentile 0.9: t = (2 * 0.9 - 1) * 0.125 of the size on both axes -> round(3.2) = 3 pixels
    out = _pipe(xint=1)(images, debug_percentile=0.9)
    expected = np.stack([_reflect_shift(im, 3, 3) for im in images.numpy()])
    torch.testing.assert_close(out, torch.from_numpy(expected), **EXACT)


@pytest.mark.parametrize(
    ("stage", "percentile", "tolerance"),
    [("scale", 0.9, 1e-2), ("scale", 0.2, 1e-2), ("rotate", 0.6, 3e-2), ("rotate", 0.15, 3e-2)],
)
def test_scale_and_rotation_match_scipy_affine_transform(stage, percentile, tolerance):
    """Away from the borders, our resampling equals scipy's cubic-spline ``affine_transform``.

    Tolerance: both interpolate smooth images (Gaussian blobs, sigma >= 3 px, amplitude <= 1); ours is
    bilinear on the 2x upsampled grid, error <= 2 * h^2/8 * max|f''| = 2 * (1/2)^2/8 / 3^2 ~ 7e-3 (scipy's
    cubic spline is far more accurate), hence 1e-2. A rotation additionally turns the sub-pixel phase of the
    asymmetric sym6 filter that the downsampling no longer cancels (the original's behaviour, see the module
    docstring): up to ~0.1 px shift x max gradient ~0.2 / px = 2e-2 more, hence 3e-2. A wrong transform
    (angle or scale sign, centre, axis order) gives errors of order 1.
    """
    size = 48
    images = _smooth_images(3, size)
    q = scipy_special.erfinv(2 * percentile - 1)
    centre = np.array([(size - 1) / 2] * 2)
    if stage == "scale":
        s = 2 ** (q * 0.2)  # log2 std scale_std = 0.2; magnify by s
        matrix = np.eye(2) / s
    else:
        theta = (2 * percentile - 1) * np.pi  # rotate_max = 1: a full turn; the post-rotation is 0
        # output (x, y) -> input (cos x - sin y, sin x + cos y), written in scipy's (row, col) = (y, x)
        matrix = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    offset = centre - matrix @ centre
    expected = np.stack(
        [scipy_ndimage.affine_transform(im[0].double().numpy(), matrix, offset, order=3) for im in images]
    )
    out = _pipe(**{stage: 1})(images, debug_percentile=percentile)[:, 0].numpy()
    inside = np.hypot(*(np.mgrid[0:size, 0:size] - centre[:, None, None])) < size / 2 - 6
    error = np.abs(out - expected)[:, inside]
    assert error.max() < tolerance
    moved = np.abs(images[:, 0].numpy() - expected)[:, inside].max()
    assert moved > 0.1  # the transform is not a near-identity that would pass trivially


def _colour(stage: str, images: torch.Tensor, percentile: float, **kwargs) -> np.ndarray:
    return _pipe(**{stage: 1}, **kwargs)(images, debug_percentile=percentile).numpy()


def _rgb_pixels() -> torch.Tensor:
    return torch.tensor([[0.2, -0.5, 0.9], [1.0, 0.0, -1.0], [0.3, 0.3, 0.3], [-0.7, 0.1, 0.4]]).T.reshape(
        1, 3, 2, 2
    )


def test_brightness_and_contrast_formulas():
    rgb = _rgb_pixels()
    x = rgb.numpy()
    b = scipy_special.erfinv(2 * 0.8 - 1) * 0.2  # N(0, brightness_std) at the 80th percentile
    np.testing.assert_allclose(_colour("brightness", rgb, 0.8), x + b, atol=1e-6)
    c = 2 ** (scipy_special.erfinv(2 * 0.3 - 1) * 0.5)  # 2^N(0, contrast_std) at the 30th percentile
    np.testing.assert_allclose(_colour("contrast", rgb, 0.3), x * c, atol=1e-6)
    grey = rgb[:, :1]
    np.testing.assert_allclose(_colour("brightness", grey, 0.8), grey.numpy() + b, atol=1e-6)
    np.testing.assert_allclose(_colour("contrast", grey, 0.3), grey.numpy() * c, atol=1e-6)


def test_lumaflip_reflects_across_the_grey_plane():
    rgb = _rgb_pixels()
    x = rgb.numpy()
    mean = x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(_colour("lumaflip", rgb, 0.75), x - 2 * mean, atol=1e-6)  # floor(2*0.75)=1
    np.testing.assert_allclose(_colour("lumaflip", rgb, 0.25), x, atol=1e-6)  # floor(2*0.25)=0: no flip
    grey = rgb[:, :1]
    np.testing.assert_allclose(_colour("lumaflip", grey, 0.75), -grey.numpy(), atol=1e-6)


def test_hue_is_a_rotation_about_the_grey_axis():
    rgb = _rgb_pixels()
    theta = (2 * 0.7 - 1) * np.pi * 0.5  # hue_max 0.5
    rotation = scipy_rotation.Rotation.from_rotvec(np.ones(3) / np.sqrt(3) * theta).as_matrix()
    expected = np.einsum("ij,njhw->nihw", rotation, rgb.numpy())
    np.testing.assert_allclose(_colour("hue", rgb, 0.7, hue_max=0.5), expected, atol=1e-6)
    grey = rgb[:, :1]
    np.testing.assert_array_equal(_colour("hue", grey, 0.7), grey.numpy())  # grey images have no hue


def test_saturation_scales_the_distance_from_grey():
    rgb = _rgb_pixels()
    x = rgb.numpy()
    s = 2 ** (scipy_special.erfinv(2 * 0.9 - 1) * 1.0)
    mean = x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(_colour("saturation", rgb, 0.9), mean + (x - mean) * s, atol=1e-6)


def test_noise_std_matches_the_drawn_sigma():
    zeros = torch.zeros(4, 3, 96, 96)
    out = _pipe(noise=1)(zeros, debug_percentile=0.6)
    sigma = scipy_special.erfinv(0.6) * 0.1  # |N(0, noise_std)| at the 60th percentile
    np.testing.assert_allclose(out.std(dim=(1, 2, 3)).numpy(), sigma, rtol=0.03)  # 27648 samples: ~0.4%
    # random draws: sigma = |N(0, 0.1)| per sample, the first draw of the stage (then the selection, p=1)
    generator = torch.Generator().manual_seed(5)
    drawn = torch.randn(4, generator=torch.Generator().manual_seed(5)).abs() * 0.1
    out = _pipe(noise=1)(zeros, generator=generator)
    np.testing.assert_allclose(out.std(dim=(1, 2, 3)).numpy(), drawn.numpy(), rtol=0.03)


def test_cutout_zeroes_one_square_of_the_right_size():
    ones = torch.ones(64, 1, 32, 32)
    torch.manual_seed(6)
    out = _pipe(cutout=1, cutout_size=0.25)(ones)[:, 0]
    full = 0
    for sample in out:
        zero = sample == 0
        rows, cols = zero.any(dim=1), zero.any(dim=0)
        assert torch.equal(zero, rows[:, None] & cols[None, :])  # a rectangle
        assert 0 < rows.sum() <= 8 and 0 < cols.sum() <= 8  # 0.25 * 32 = 8 pixels, clipped at the border
        assert torch.equal(sample[~zero], torch.ones(int((~zero).sum())))
        full += int(rows.sum() == 8 and cols.sum() == 8)
    assert full > 10
    centred = _pipe(cutout=1, cutout_size=0.25)(ones, debug_percentile=0.5)[0, 0]
    expected = torch.ones(32, 32)
    expected[12:20, 12:20] = 0  # pixel centres within 4 px of the image centre 16
    assert torch.equal(centred, expected)


def test_image_filter_with_unit_gains_is_identity_and_bank_is_a_partition():
    bank = image_filter_bank()
    assert bank.shape == (4, 43)
    impulse = np.zeros(43)
    impulse[21] = 1
    np.testing.assert_allclose(bank.sum(axis=0), impulse, atol=1e-12)  # bands add up to the signal
    # percentile 0.5: every band gain is 2^0 = 1, renormalised by sqrt(sum(power * 1)) = 1
    images = _images(batch=2, size=32)
    torch.testing.assert_close(_pipe(imgfilter=1)(images, debug_percentile=0.5), images, rtol=0, atol=1e-5)
    boosted = _pipe(imgfilter=1, imgfilter_bands=[0, 0, 0, 1])(images, debug_percentile=0.9)
    highpass = images - torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1)
    boosted_high = boosted - torch.nn.functional.avg_pool2d(boosted, 3, stride=1, padding=1)
    assert boosted_high.std() > 1.2 * highpass.std()  # only the highest band amplified


def test_gradients_reach_the_input_and_r1_double_backward_works():
    torch.manual_seed(8)
    pipe = _pipe(0.7, **AUGPIPE_PRESETS["bgcfnc"])
    D = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.Linear(4 * 30 * 30, 1)
    )
    real = _images(batch=4).requires_grad_()
    logits = D(pipe(real))
    (r1_grads,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    assert r1_grads.shape == real.shape and r1_grads.abs().sum() > 0
    penalty = r1_grads.square().sum([1, 2, 3]).mean()
    penalty.backward()
    conv_grad = D[0].weight.grad
    assert conv_grad is not None and torch.isfinite(conv_grad).all() and conv_grad.abs().sum() > 0


def test_second_derivatives_are_exact_through_the_geometric_and_colour_stages():
    """Numerical check of the Hessian of ``sum(softplus(pipe(x)))``: what R1 differentiates, in float64."""
    pipe = _pipe(**AUGPIPE_PRESETS["bgc"]).double()
    images = torch.randn(1, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(9))

    def loss(x):
        # percentile 0.35: a non-trivial rotation, scale, translation and colour transform for the sample
        return torch.nn.functional.softplus(pipe(x, debug_percentile=0.35)).sum()

    assert torch.autograd.gradgradcheck(loss, (images.requires_grad_(),), fast_mode=True)


def test_loads_a_state_dict_with_the_nvlabs_keys():
    reference = AugmentPipe(xflip=1, rotate90=1)
    sym6 = reference.Hz_geom.double().numpy() * np.sqrt(2)
    for shift in range(1, 6):  # orthonormal wavelet: sum_k h[k] h[k + 2n] = delta(n)
        assert abs(np.dot(sym6[: -2 * shift], sym6[2 * shift :])) < 1e-6
    assert np.dot(sym6, sym6) == pytest.approx(1.0, abs=1e-6)
    state = {
        "p": torch.tensor(0.37),
        "Hz_geom": reference.Hz_geom.clone(),
        "Hz_fbank": reference.Hz_fbank.clone(),
    }
    pipe = AugmentPipe(xflip=1, rotate90=1)
    pipe.load_state_dict(state)  # strict: exactly these keys
    assert list(pipe.state_dict()) == ["p", "Hz_geom", "Hz_fbank"]
    assert float(pipe.p) == pytest.approx(0.37)


def test_presets_and_init_kwargs():
    assert AUGPIPE_PRESETS["bgc"] == {
        **dict.fromkeys(["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac"], 1.0),
        **dict.fromkeys(["brightness", "contrast", "lumaflip", "hue", "saturation"], 1.0),
    }
    assert set(AUGPIPE_PRESETS) == {
        "blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc"
    }  # fmt: skip
    assert set(AUGPIPE_PRESETS["bgcfnc"]) - set(AUGPIPE_PRESETS["bgc"]) == {"imgfilter", "noise", "cutout"}
    pipe = AugmentPipe(**AUGPIPE_PRESETS["bgcf"], scale_std=0.3, imgfilter_bands=[1, 0, 1, 1])
    rebuilt = AugmentPipe(**pipe.init_kwargs)
    assert rebuilt.init_kwargs == pipe.init_kwargs
    assert pipe.init_kwargs["scale_std"] == 0.3 and pipe.init_kwargs["imgfilter_bands"] == [
        1.0,
        0.0,
        1.0,
        1.0,
    ]


def test_same_generator_seed_same_output():
    pipe = _pipe(0.8, **AUGPIPE_PRESETS["bgcfnc"])
    images = _images()
    a = pipe(images, generator=torch.Generator().manual_seed(11))
    b = pipe(images, generator=torch.Generator().manual_seed(11))
    assert torch.equal(a, b) and not torch.equal(a, images)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="xflip"):
        AugmentPipe(xflip=-1)
    with pytest.raises(ValueError, match="imgfilter_bands"):
        AugmentPipe(imgfilter_bands=[1, 1])
    with pytest.raises(ValueError, match="3 channels"):
        _pipe(brightness=1)(torch.zeros(2, 2, 8, 8))
    with pytest.raises(ValueError, match="imgfilter"):
        _pipe(imgfilter=1)(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        _pipe(xflip=1)(torch.zeros(2, 8, 8))
