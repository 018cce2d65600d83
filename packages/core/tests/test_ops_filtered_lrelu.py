"""filtered_lrelu (the reference composition and the fused CPU kernel) against a numpy/scipy oracle written
from StyleGAN3's documented sequence of operations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from insilico_core.ops import _build
from insilico_core.ops.filtered_lrelu import filtered_lrelu

signal = pytest.importorskip("scipy.signal")


def _oracle(x, fu, fd, b, up, down, padding, gain, slope, clamp):
    """Per plane: bias, zero-insert, pad/crop, 'valid' convolution with fu * up**2, gain, lrelu, clamp,
    'valid' convolution with fd, keep every down-th sample (float64 numpy)."""
    px0, px1, py0, py1 = padding
    fu2 = np.outer(fu, fu) * up**2 if fu.ndim == 1 else fu * up**2
    fd2 = np.outer(fd, fd) if fd.ndim == 1 else fd
    n, c, h, w = x.shape
    out = []
    for i in range(n):
        planes = []
        for j in range(c):
            p = x[i, j] + b[j]
            z = np.zeros((h * up, w * up))
            z[::up, ::up] = p
            z = np.pad(z, ((max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
            z = z[max(-py0, 0) : z.shape[0] - max(-py1, 0), max(-px0, 0) : z.shape[1] - max(-px1, 0)]
            z = signal.convolve2d(z, fu2, mode="valid") * gain
            z = np.where(z >= 0, z, z * slope)
            if clamp is not None:
                z = np.clip(z, -clamp, clamp)
            z = signal.convolve2d(z, fd2, mode="valid")[::down, ::down]
            planes.append(z)
        out.append(planes)
    return np.asarray(out)


@pytest.mark.parametrize(
    ("up", "down", "padding", "taps_u", "taps_d", "clamp"),
    [
        (2, 2, [5, 5, 5, 5], 12, 12, 256.0),
        (1, 2, [3, 2, 3, 2], 1, 12, None),
        (2, 1, [6, 4, 5, 7], 12, 1, 0.5),
        (4, 2, [-1, 9, 9, -1], 24, 12, None),
    ],
)
@pytest.mark.parametrize("impl", ["ref", "cpu"])
def test_matches_numpy_oracle(up, down, padding, taps_u, taps_d, clamp, impl):
    if impl == "cpu" and _build.kernels("cpu") is None:
        pytest.skip(f"cpu backend unavailable: {_build.backend_status('cpu').reason}")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn([2, 3, 9, 8], generator=gen, dtype=torch.float64)
    b = torch.randn([3], generator=gen, dtype=torch.float64)
    fu = torch.rand([taps_u], generator=gen, dtype=torch.float64) if taps_u > 1 else None
    fd = torch.rand([taps_d], generator=gen, dtype=torch.float64) if taps_d > 1 else None
    fu = fu / fu.sum() if fu is not None else None
    fd = fd / fd.sum() if fd is not None else None
    y = filtered_lrelu(
        x, fu, fd, b, up=up, down=down, padding=padding, gain=1.7, slope=0.3, clamp=clamp, impl=impl
    )
    ref = _oracle(
        x.numpy(),
        fu.numpy() if fu is not None else np.ones(1),
        fd.numpy() if fd is not None else np.ones(1),
        b.numpy(),
        up,
        down,
        padding,
        1.7,
        0.3,
        clamp,
    )
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-10)


def test_second_derivative_exists():
    x = torch.randn([1, 2, 6, 6], dtype=torch.float64, requires_grad=True)
    f = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    y = filtered_lrelu(x, f, f, up=2, down=2, padding=2, impl="ref")
    (g,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert torch.isfinite(h).all()


def test_bad_arguments_are_named():
    x = torch.zeros([1, 2, 4, 4])
    with pytest.raises(ValueError, match="b must be"):
        filtered_lrelu(x, b=torch.zeros([3]))
    with pytest.raises(ValueError, match="empty output"):
        filtered_lrelu(x, padding=-4)
