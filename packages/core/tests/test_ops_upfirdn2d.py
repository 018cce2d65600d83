"""upfirdn2d and its wrappers on every backend of this machine against a direct-summation numpy oracle."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from insilico_core import ops
from insilico_core.ops import _build


def oracle(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1.0) -> np.ndarray:
    """Direct summation: out[o] = gain * sum_t w[t] * u[o * down + t - pad0], u = x with zeros inserted.

    ``w`` is the filter flipped (a true convolution) unless ``flip_filter``; a 1-D filter is ``outer(f, f)``.
    """
    x = x.detach().double().cpu().numpy()
    f = f.detach().double().cpu().numpy()
    upx, upy = (up, up) if isinstance(up, int) else up
    downx, downy = (down, down) if isinstance(down, int) else down
    if isinstance(padding, int):
        padding = [padding] * 4
    elif len(padding) == 2:
        padding = [padding[0], padding[0], padding[1], padding[1]]
    px0, px1, py0, py1 = padding
    if f.ndim == 1:
        f = np.outer(f, f)
    w = f if flip_filter else f[::-1, ::-1]
    n, c, h, wd = x.shape
    fh, fw = w.shape
    oh = (h * upy + py0 + py1 - fh) // downy + 1
    ow = (wd * upx + px0 + px1 - fw) // downx + 1
    out = np.zeros((n, c, oh, ow))
    oy, ox = np.arange(oh)[:, None], np.arange(ow)[None, :]
    for ty in range(fh):
        ky = oy * downy + ty - py0  # position on the zero-inserted row axis
        valid_y = (ky >= 0) & (ky < h * upy) & (ky % upy == 0)
        iy = np.clip(ky // upy, 0, h - 1)
        for tx in range(fw):
            kx = ox * downx + tx - px0
            valid = valid_y & (kx >= 0) & (kx < wd * upx) & (kx % upx == 0)
            ix = np.clip(kx // upx, 0, wd - 1)
            out += w[ty, tx] * np.where(valid, x[:, :, iy, ix], 0.0)
    return out * gain


TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 1e-2}


def assert_close(actual: torch.Tensor, expected: np.ndarray, dtype: torch.dtype) -> None:
    a = actual.detach().double().cpu().numpy()
    assert a.shape == expected.shape, (a.shape, expected.shape)
    if expected.size == 0:
        return
    error = np.abs(a - expected).max() / max(np.abs(expected).max(), 1e-30)
    assert error <= TOLERANCE[dtype], f"relative error {error:.3g} > {TOLERANCE[dtype]:g} for {dtype}"


@pytest.fixture(scope="module", params=["ref", "cpu", "cuda"])
def impl(request) -> str:
    """Each backend available here (the C++ build happens once, cached across processes)."""
    if request.param != "ref" and _build.kernels(request.param) is None:
        pytest.skip(f"{request.param} backend unavailable: {_build.backend_status(request.param).reason}")
    return request.param


def device_of(impl: str) -> str:
    return "cuda" if impl == "cuda" else "cpu"


def low_precision(impl: str) -> torch.dtype:
    return torch.float16 if impl == "cuda" else torch.bfloat16


def make_input(shape, layout: str, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if layout == "strided":  # a non-contiguous view: every other column of a wider tensor
        return torch.randn([*shape[:-1], shape[-1] * 2], generator=g, dtype=torch.float64)[..., ::2]
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(memory_format=torch.channels_last) if layout == "channels_last" else x


def make_filter(kind: str, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "1d":
        return torch.rand(size, generator=g) + 0.1
    return torch.rand(size, max(1, size - 1), generator=g) + 0.1  # non-square 2-D filter


def _case_grid() -> list[tuple]:
    ups = [1, 2, 3, 4, (2, 1), (1, 3)]
    downs = [1, 2, 3, 4, (1, 2), (4, 3)]
    paddings = [0, 2, (1, 3), (3, 0, 1, 2), (-1, 2, 2, -2), (4, -1, -1, 5)]
    filters = [(k, s) for k in ("1d", "2d") for s in range(1, 9)]
    shapes = [(2, 3, 7, 5), (1, 1, 6, 9), (0, 2, 5, 5), (4, 2, 3, 4)]
    layouts = ["contiguous", "channels_last", "strided"]
    flips = [False, True]
    gains = [1.0, 0.5]
    grid = itertools.product(ups, downs, paddings, filters, shapes, layouts, flips, gains)
    cases = []
    for up, down, padding, (kind, size), shape, layout, flip, gain in grid:
        upx, upy = (up, up) if isinstance(up, int) else up
        p = (
            [padding] * 4
            if isinstance(padding, int)
            else ([padding[0], padding[0], padding[1], padding[1]] if len(padding) == 2 else list(padding))
        )
        fw = size if kind == "1d" else max(1, size - 1)
        if shape[3] * upx + p[0] + p[1] >= fw and shape[2] * upy + p[2] + p[3] >= size:
            cases.append((up, down, padding, kind, size, shape, layout, flip, gain))
    return cases


CASES = random.Random(0).sample(_case_grid(), 40)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_oracle_and_ref(impl, case):
    up, down, padding, kind, size, shape, layout, flip, gain = case
    f = make_filter(kind, size, seed=size)
    x64 = make_input(shape, layout, seed=size + 1).to(device_of(impl))
    for dtype in (torch.float64, torch.float32, low_precision(impl)):
        x = x64.to(dtype)
        y = ops.upfirdn2d(x, f, up=up, down=down, padding=padding, flip_filter=flip, gain=gain, impl=impl)
        assert y.dtype == dtype
        assert_close(y, oracle(x, f, up, down, padding, flip, gain), dtype)
        if impl != "ref":
            reference = ops.upfirdn2d(
                x, f, up=up, down=down, padding=padding, flip_filter=flip, gain=gain, impl="ref"
            )
            assert_close(y, reference.double().cpu().numpy(), dtype)


GRAD_CASES = [
    dict(up=2, down=1, padding=(2, 1, 2, 1), f=[1, 3, 3, 1]),
    dict(up=1, down=2, padding=1, f=[1, 2, 1]),
    dict(up=(3, 1), down=(1, 2), padding=(1, -1, 0, 2), f=[[1, 2], [3, 4], [5, 6]]),
    dict(up=2, down=3, padding=(-1, 3, 2, 0), f=[1, 2, 3, 4, 5, 6, 7, 8]),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=str)
@pytest.mark.parametrize("flip", [False, True])
def test_gradcheck_and_gradgradcheck(impl, case, flip):
    case = dict(case)
    f = torch.tensor(case.pop("f"), dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 4, 5, generator=g, dtype=torch.float64).to(device_of(impl)).requires_grad_(True)

    def op(x):
        return ops.upfirdn2d(x, f, flip_filter=flip, gain=1.5, impl=impl, **case)

    assert torch.autograd.gradcheck(op, (x,))
    assert torch.autograd.gradgradcheck(op, (x,))


def test_setup_filter_conventions():
    f = ops.setup_filter([1, 3, 3, 1])
    assert f.dtype == torch.float32 and f.shape == (4, 4)
    np.testing.assert_allclose(f.numpy(), np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64)
    assert ops.setup_filter([1] * 8).shape == (8,)  # >= 8 taps stays separable
    assert ops.setup_filter([1, 2], separable=True).tolist() == pytest.approx([1 / 3, 2 / 3])
    assert ops.setup_filter([1, 2], flip_filter=True, separable=True).tolist() == pytest.approx(
        [2 / 3, 1 / 3]
    )
    assert ops.setup_filter([1, 1], gain=4).sum().item() == pytest.approx(4)
    assert ops.setup_filter([1, 1], gain=4, separable=True).sum().item() == pytest.approx(2)
    assert ops.setup_filter(None).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="2-D"):
        ops.setup_filter(np.ones((2, 2, 2)))


@pytest.mark.parametrize("up", [2, 3, (2, 1)])
def test_upsample2d_nearest_is_repeat(impl, up):
    """With a box filter of the factor's width, upsample2d is nearest-neighbour upsampling."""
    upx, upy = (up, up) if isinstance(up, int) else up
    x = make_input((2, 3, 4, 5), "contiguous", seed=0).to(device_of(impl))
    f = torch.outer(torch.ones(upy), torch.ones(upx)).double() / (upx * upy)
    y = ops.upsample2d(x, f, up=up, impl=impl)
    expected = x.repeat_interleave(upy, dim=2).repeat_interleave(upx, dim=3)
    assert_close(y, expected.cpu().numpy(), torch.float64)


@pytest.mark.parametrize("down", [2, 4, (2, 1)])
def test_downsample2d_box_is_average_pooling(impl, down):
    downx, downy = (down, down) if isinstance(down, int) else down
    x = make_input((2, 3, 8, 8), "channels_last", seed=1).to(device_of(impl))
    f = torch.outer(torch.ones(downy), torch.ones(downx)).double() / (downx * downy)
    y = ops.downsample2d(x, f, down=down, impl=impl)
    assert_close(y, F.avg_pool2d(x, (downy, downx)).cpu().numpy(), torch.float64)


def test_wrappers_pad_as_stylegan(impl):
    """upsample2d / downsample2d / filter2d = upfirdn2d with StyleGAN's centring padding and gain."""
    x = make_input((1, 2, 6, 7), "contiguous", seed=2).to(device_of(impl))
    f = ops.setup_filter([1, 3, 3, 1])
    assert_close(
        ops.upsample2d(x, f, impl=impl), oracle(x, f, up=2, padding=[2, 1, 2, 1], gain=4), torch.float64
    )
    assert_close(
        ops.upsample2d(x, f, padding=[1, 0, -1, 2], impl=impl),
        oracle(x, f, up=2, padding=[3, 1, 1, 3], gain=4),
        torch.float64,
    )
    assert_close(ops.downsample2d(x, f, impl=impl), oracle(x, f, down=2, padding=[1, 1, 1, 1]), torch.float64)
    assert_close(
        ops.filter2d(x, f, gain=2, impl=impl), oracle(x, f, padding=[2, 1, 2, 1], gain=2), torch.float64
    )
    f5 = ops.setup_filter([1, 4, 6, 4, 1])
    assert ops.filter2d(x, f5, impl=impl).shape == x.shape
    assert ops.upsample2d(x, f5, impl=impl).shape == (1, 2, 12, 14)
    delta = torch.zeros(3, 3)
    delta[1, 1] = 1
    assert_close(ops.filter2d(x, delta, impl=impl), x.cpu().numpy(), torch.float64)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=torch.zeros(2, 3, 4)), r"\[N, C, H, W\]"),
        (dict(f=torch.ones(2, 2, 2)), "1-D"),
        (dict(up=0), "up"),
        (dict(down=[1, 0]), "down"),
        (dict(padding=[1, 2, 3]), "padding"),
        (dict(f=torch.ones(9, 9)), "smaller than the filter"),
        (dict(f=torch.ones(2, 2, requires_grad=True)), "grad"),
        (dict(impl="fast"), "impl"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    args = dict(x=torch.zeros(1, 1, 4, 4), f=torch.ones(2, 2))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ops.upfirdn2d(**args)
