"""The rosinality-convention ops against a hand-written reference of their semantics (multistylegan §4.6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from insilico_core import ops
from scipy.signal import convolve2d


def rosinality_upfirdn2d_reference(x: np.ndarray, kernel: np.ndarray, up: int, down: int, pad) -> np.ndarray:
    """Per plane: zero insertion, pad (p0, p1) on both axes (negative crops), true valid convolution, step."""
    p0, p1 = pad
    n, c, h, w = x.shape
    u = np.zeros((n, c, h * up, w * up))
    u[:, :, ::up, ::up] = x
    u = np.pad(u, [(0, 0), (0, 0), (max(p0, 0), max(p1, 0)), (max(p0, 0), max(p1, 0))])
    u = u[:, :, max(-p0, 0) : u.shape[2] - max(-p1, 0), max(-p0, 0) : u.shape[3] - max(-p1, 0)]
    out = np.stack([np.stack([convolve2d(plane, kernel, mode="valid") for plane in sample]) for sample in u])
    return out[:, :, ::down, ::down]


CASES = [
    # the three calls Multi-StyleGAN makes
    dict(up=1, down=1, pad=(2, 1), kernel_sum=4),
    dict(up=2, down=1, pad=(2, 1), kernel_sum=1),
    dict(up=1, down=1, pad=(2, 2), kernel_sum=1),
    # and the general case the original CUDA kernel could not do
    dict(up=3, down=2, pad=(1, -1), kernel_sum=1),
    dict(up=1, down=2, pad=(1, 1), kernel_sum=1),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_upfirdn2d_rosinality_matches_reference(case):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64)
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = torch.outer(k, k * torch.tensor([1.0, 1.1, 1.2, 1.3]))  # not symmetric: catches a missing flip
    kernel = kernel / kernel.sum() * case["kernel_sum"]
    y = ops.upfirdn2d_rosinality(x, kernel, up=case["up"], down=case["down"], pad=case["pad"])
    expected = rosinality_upfirdn2d_reference(
        x.numpy(), kernel.numpy(), case["up"], case["down"], case["pad"]
    )
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)
    h = x.shape[2]
    assert y.shape[2] == (h * case["up"] + sum(case["pad"]) - 4) // case["down"] + 1


@pytest.mark.parametrize("shape", [(2, 5), (2, 5, 3), (2, 5, 3, 4)])
@pytest.mark.parametrize("scale", [2**0.5, 1.0])
def test_fused_leaky_relu_formula(shape, scale):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    bias = torch.randn(shape[1], generator=g, dtype=torch.float64)
    v = x.numpy() + bias.numpy().reshape([1, -1] + [1] * (len(shape) - 2))
    expected = scale * np.where(v > 0, v, 0.2 * v)
    np.testing.assert_allclose(ops.fused_leaky_relu(x, bias, scale=scale).numpy(), expected, rtol=1e-12)


def test_fused_leaky_relu_slope_at_zero_is_negative_slope():
    x = torch.zeros(1, 1, requires_grad=True, dtype=torch.float64)
    ops.fused_leaky_relu(
        x, torch.zeros(1, dtype=torch.float64), negative_slope=0.1, scale=2.0
    ).sum().backward()
    assert x.grad.item() == pytest.approx(0.2)


def test_fused_leaky_relu_module():
    module = ops.FusedLeakyReLU(3, scale=1.0)
    assert [name for name, _ in module.named_parameters()] == ["bias"]
    assert module.bias.shape == (3,) and torch.all(module.bias == 0)
    with torch.no_grad():
        module.bias.copy_(torch.tensor([1.0, -1.0, 0.0]))
    x = torch.tensor([[0.5, 0.5, -1.0]])
    assert module(x)[0].tolist() == pytest.approx([1.5, -0.1, -0.2])
    assert "bias" not in dict(ops.FusedLeakyReLU(3, bias=False).named_parameters())


def test_rosinality_bad_arguments():
    with pytest.raises(ValueError, match="pair"):
        ops.upfirdn2d_rosinality(torch.zeros(1, 1, 4, 4), torch.ones(2, 2), pad=(1, 1, 1))
    with pytest.raises(ValueError, match="2-D"):
        ops.upfirdn2d_rosinality(torch.zeros(1, 1, 4, 4), torch.ones(2))
    with pytest.raises(ValueError, match="rank"):
        ops.fused_leaky_relu(torch.zeros(3), torch.zeros(3))
