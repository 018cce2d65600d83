"""The fused filtered_lrelu kernels (impl='cpu', and 'cuda' where a GPU is present) against the PyTorch
composition (impl='ref').

Values over a seeded grid of geometries (up/down 1, 2, 4; StyleGAN3's Kaiser-windowed low-pass filters and
a 2-D jinc filter as StyleGAN3-R's radial ones; symmetric, asymmetric and cropping padding; slope; clamp;
gain; flip_filter), input layouts, first derivatives (gradcheck in float64, agreement with the reference in
float32), second derivatives, the choice impl=None makes, and the errors of bad arguments.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from insilico_core.ops import _build, filtered_lrelu

signal = pytest.importorskip("scipy.signal")
special = pytest.importorskip("scipy.special")

if _build.kernels("cpu") is None:
    pytest.skip(f"cpu backend unavailable: {_build.backend_status('cpu').reason}", allow_module_level=True)


def lowpass(taps: int, up: int) -> torch.Tensor:
    """StyleGAN3's separable up/down filter: a Kaiser-windowed sinc low-pass designed at the temporary
    sampling rate ``2 * up`` (cutoff at the original rate's Nyquist frequency 0.5, transition band 0.5 wide),
    normalised to unit sum as setup_filter does."""
    fs = 2.0 * up
    f = signal.firwin(numtaps=taps, cutoff=0.5, width=0.5, fs=fs) if taps > 1 else np.ones(1)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def jinc(taps: int, up: int) -> torch.Tensor:
    """StyleGAN3-R's radially symmetric 2-D filter: a Kaiser-windowed jinc, normalised."""
    fs = 2.0 * up
    cutoff, width = 0.5, 0.5
    t = (np.arange(taps) - (taps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(t, t))
    f = special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r + (r == 0))
    f[r == 0] = cutoff
    beta = signal.kaiser_beta(signal.kaiser_atten(taps, width / (fs / 2)))
    w = np.kaiser(taps, beta)
    f = f * np.outer(w, w)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def require(backend: str) -> torch.device:
    """The device of ``backend``; skips the test where that backend cannot run."""
    if backend == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if _build.kernels(backend) is None:
        pytest.skip(f"{backend} backend unavailable: {_build.backend_status(backend).reason}")
    return torch.device(backend)


def make_filter(kind: str, taps: int, factor: int) -> torch.Tensor | None:
    if kind == "none":
        return None
    if kind == "jinc":
        return jinc(taps, factor)
    if kind == "random2d":
        g = torch.Generator().manual_seed(taps)
        return torch.rand([taps, taps + 1], generator=g) + 0.1
    return lowpass(taps, factor)


# (up, down, fu kind and taps, fd kind and taps, padding)
GEOMETRIES = [
    (1, 1, ("none", 1), ("none", 1), [0, 0, 0, 0]),
    (2, 2, ("sinc", 12), ("sinc", 12), [11, 10, 11, 10]),  # StyleGAN3-T hidden layer
    (4, 2, ("sinc", 24), ("sinc", 12), [21, 20, 21, 20]),  # rate-doubling layer
    (2, 1, ("sinc", 12), ("sinc", 1), [6, 5, 7, 4]),
    (1, 2, ("sinc", 1), ("sinc", 12), [3, 2, 5, 8]),
    (1, 4, ("none", 1), ("sinc", 8), [0, 1, 2, 3]),
    (4, 4, ("sinc", 16), ("sinc", 16), [-2, 9, 7, 0]),  # cropping on one side
    (2, 4, ("sinc", 6), ("sinc", 5), [1, 2, 3, 4]),
    (4, 1, ("sinc", 8), ("none", 1), [3, 4, 4, 3]),
    (2, 2, ("jinc", 6), ("jinc", 6), [5, 5, 5, 5]),  # StyleGAN3-R radial filters (2-D)
    (2, 2, ("random2d", 3), ("sinc", 4), [2, 3, 1, 4]),  # 2-D non-square up, separable down
]

ACTIVATIONS = [
    dict(gain=math.sqrt(2), slope=0.2, clamp=None, flip_filter=False),
    dict(gain=math.sqrt(2), slope=0.2, clamp=256.0, flip_filter=True),
    dict(gain=1.0, slope=1.0, clamp=None, flip_filter=False),  # ToRGB: linear
    dict(gain=0.7, slope=0.05, clamp=0.3, flip_filter=True),  # a clamp that bites
]


def call(x, fu, fd, b, up, down, padding, impl, **act):
    return filtered_lrelu(x, fu, fd, b, up=up, down=down, padding=padding, impl=impl, **act)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"up{g[0]}-down{g[1]}-{g[2][0]}{g[2][1]}")
@pytest.mark.parametrize("act", range(len(ACTIVATIONS)))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_forward_matches_reference(geometry, act, dtype, backend):
    device = require(backend)
    up, down, (ku, tu), (kd, td), padding = geometry
    g = torch.Generator().manual_seed(up * 100 + down * 10 + act)
    x = torch.randn([2, 3, 9, 11], generator=g, dtype=dtype).to(device)
    b = torch.randn([3], generator=g, dtype=dtype).to(device)
    fu, fd = (
        f.to(device) if f is not None else None for f in (make_filter(ku, tu, up), make_filter(kd, td, down))
    )
    ref = call(x, fu, fd, b, up, down, padding, "ref", **ACTIVATIONS[act])
    out = call(x, fu, fd, b, up, down, padding, backend, **ACTIVATIONS[act])
    assert out.shape == ref.shape and out.dtype == dtype
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)


def test_bfloat16_matches_float64_reference():
    g = torch.Generator().manual_seed(3)
    x = torch.randn([2, 4, 12, 12], generator=g).to(torch.bfloat16)
    b = torch.randn([4], generator=g).to(torch.bfloat16)
    f = lowpass(12, 2)
    out = filtered_lrelu(x, f, f, b, up=2, down=2, padding=[11, 10, 11, 10], clamp=1.0, impl="cpu")
    ref = filtered_lrelu(x.double(), f, f, b.double(), up=2, down=2, padding=[11, 10, 11, 10], clamp=1.0)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.double(), ref, rtol=0, atol=2e-2)


@pytest.mark.parametrize("layout", ["channels_last", "sliced", "transposed"])
def test_strided_inputs(layout):
    g = torch.Generator().manual_seed(5)
    base = torch.randn([2, 4, 14, 16], generator=g, dtype=torch.float64)
    if layout == "channels_last":
        x = base.to(memory_format=torch.channels_last)
    elif layout == "sliced":
        x = base[:, ::2, 1:13, 1:15]
    else:
        x = base.transpose(2, 3)
    assert not x.is_contiguous()
    b = torch.randn([x.shape[1]], generator=g, dtype=torch.float64)
    f = lowpass(12, 2)
    kwargs = dict(up=2, down=2, padding=[11, 10, 11, 10], clamp=0.8)
    out = filtered_lrelu(x, f, f, b, impl="cpu", **kwargs)
    ref = filtered_lrelu(x.contiguous(), f, f, b, impl="ref", **kwargs)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


GRAD_CASES = [
    (2, 2, ("sinc", 12), ("sinc", 12), [11, 10, 11, 10], dict(clamp=0.6)),
    (4, 2, ("sinc", 8), ("sinc", 6), [7, 5, 6, 8], dict(flip_filter=True)),
    (1, 4, ("sinc", 3), ("sinc", 8), [2, 9, 0, 4], dict(slope=0.5, gain=0.8, clamp=0.4)),
    (2, 1, ("jinc", 5), ("random2d", 2), [-1, 6, 3, 1], dict(flip_filter=True, clamp=1.0)),
    (4, 4, ("sinc", 4), ("none", 1), [0, 3, 3, 0], dict()),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: f"up{c[0]}-down{c[1]}-{c[2][0]}")
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_gradcheck_float64(case, backend):
    device = require(backend)
    up, down, (ku, tu), (kd, td), padding, act = case
    g = torch.Generator().manual_seed(up + 7 * down)
    x = torch.randn([1, 2, 6, 7], generator=g, dtype=torch.float64).to(device).requires_grad_()
    b = torch.randn([2], generator=g, dtype=torch.float64).to(device).requires_grad_()
    fu, fd = (
        f.to(device) if f is not None else None for f in (make_filter(ku, tu, up), make_filter(kd, td, down))
    )

    def fn(x, b):
        return filtered_lrelu(x, fu, fd, b, up=up, down=down, padding=padding, impl=backend, **act)

    assert torch.autograd.gradcheck(fn, (x, b))
    assert torch.autograd.gradgradcheck(fn, (x, b))


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: f"up{c[0]}-down{c[1]}-{c[2][0]}")
@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_gradients_match_reference(case, backend):
    """First and second derivatives of a non-linear loss, float32, against autograd through the reference."""
    device = require(backend)
    up, down, (ku, tu), (kd, td), padding, act = case
    g = torch.Generator().manual_seed(11 * up + down)
    x0 = torch.randn([2, 3, 8, 9], generator=g).to(device)
    b0 = torch.randn([3], generator=g).to(device)
    v = None
    fu, fd = (
        f.to(device) if f is not None else None for f in (make_filter(ku, tu, up), make_filter(kd, td, down))
    )
    results = {}
    for impl in ("ref", backend):
        x, b = x0.clone().requires_grad_(), b0.clone().requires_grad_()
        y = filtered_lrelu(x, fu, fd, b, up=up, down=down, padding=padding, impl=impl, **act)
        if v is None:
            v = torch.randn(y.shape, generator=g).to(device)
        dx, db = torch.autograd.grad((y.square() * v).sum(), (x, b), create_graph=True)
        (ddx,) = torch.autograd.grad(dx.square().sum() + db.sum(), x)
        results[impl] = (y, dx, db, ddx)
    # float32 sums of many terms: 1e-5 of the scale
    for ref, out in zip(results["ref"], results[backend], strict=True):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())


def test_no_grad_and_grad_forward_agree():
    """The forward that keeps the sign bytes gives the same values as the one that does not."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn([2, 3, 10, 10], generator=g)
    f = lowpass(12, 2)
    with torch.no_grad():
        plain = filtered_lrelu(x, f, f, up=2, down=2, padding=[11, 10, 11, 10], clamp=0.5, impl="cpu")
    tracked = filtered_lrelu(
        x.requires_grad_(), f, f, up=2, down=2, padding=[11, 10, 11, 10], clamp=0.5, impl="cpu"
    )
    assert torch.equal(plain, tracked.detach())


def test_default_impl_uses_the_fused_kernel_on_cpu():
    module = importlib.import_module("insilico_core.ops.filtered_lrelu")
    x = torch.randn([1, 2, 8, 8], requires_grad=True)
    f = lowpass(6, 2)
    y = filtered_lrelu(x, f, f, up=2, down=2, padding=[5, 4, 5, 4])
    assert ("cpu" in module.FUSED_AUTO_BACKENDS) == (type(y.grad_fn).__name__ == "_FilteredLReluBackward")
    y_ref = filtered_lrelu(x, f, f, up=2, down=2, padding=[5, 4, 5, 4], impl="ref")
    assert type(y_ref.grad_fn).__name__ != "_FilteredLReluBackward"


def test_bad_arguments_raise_value_errors():
    x = torch.zeros([1, 2, 8, 8])
    f = lowpass(4, 2)
    with pytest.raises(ValueError, match="b must have the dtype of x"):
        filtered_lrelu(x, f, f, torch.zeros([2], dtype=torch.float64), up=2, padding=3, impl="cpu")
    with pytest.raises(ValueError, match="must not require grad"):
        filtered_lrelu(x, f.clone().requires_grad_(), f, up=2, padding=3, impl="cpu")
    with pytest.raises(ValueError, match="fd must be None or a non-empty 1-D or 2-D"):
        filtered_lrelu(x, f, torch.ones([2, 2, 2]), impl="cpu")
    with pytest.raises(ValueError, match="impl must be None or one of"):
        filtered_lrelu(x, f, f, impl="fast")
    with pytest.raises(ValueError, match="runs on cuda tensors"):
        filtered_lrelu(x, f, f, padding=3, impl="cuda")
    with pytest.raises(ValueError, match="supports dtypes"):
        filtered_lrelu(x.half(), f, f, padding=3, impl="cpu")
    with pytest.raises(ValueError, match="empty output"):
        filtered_lrelu(x, f, f, up=1, down=2, padding=-3, impl="cpu")
