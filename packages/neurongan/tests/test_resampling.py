"""The fast resampling steps against PyTorch's own kernels: values, gradients, and the second derivatives
the gradient penalty needs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from neurongan.models.resampling import Resample, average_pool_2x2, bilinear_resample


@pytest.mark.parametrize(("shape", "scale"), [((2, 3, 8, 8), 2.0), ((1, 2, 5, 7), 2.0), ((2, 3, 8, 6), 0.5)])
def test_bilinear_resample_matches_interpolate_values_and_gradients(shape, scale):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    expected = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    got = bilinear_resample(x, scale)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(expected)
    (grad_expected,) = torch.autograd.grad(expected, x, g)
    (grad_got,) = torch.autograd.grad(got, x, g)
    torch.testing.assert_close(grad_got, grad_expected, rtol=0, atol=1e-12)


def test_bilinear_resample_float32_within_rounding_other_layouts_and_sizes_exact():
    torch.manual_seed(1)
    x = torch.randn(2, 16, 8, 8)
    expected = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    torch.testing.assert_close(bilinear_resample(x, 2.0), expected, rtol=0, atol=1e-6)
    channels_last = bilinear_resample(x.contiguous(memory_format=torch.channels_last), 2.0)
    assert torch.equal(channels_last, expected)  # that layout goes to PyTorch's kernel
    large = torch.randn(1, 2, 64, 64)  # beyond the matrices' break-even size: PyTorch's kernel too
    expected = F.interpolate(large, scale_factor=2.0, mode="bilinear", align_corners=False)
    assert torch.equal(bilinear_resample(large, 2.0), expected)


def test_average_pool_is_bit_identical_to_avg_pool2d_to_second_order():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 8, 6, requires_grad=True)
    assert torch.equal(average_pool_2x2(x), F.avg_pool2d(x, 2))
    assert torch.equal(Resample(0.5)(x), F.avg_pool2d(x, 2))
    g = torch.randn(2, 3, 4, 3, requires_grad=True)
    (ours,) = torch.autograd.grad(average_pool_2x2(x), x, g, create_graph=True)
    (reference,) = torch.autograd.grad(F.avg_pool2d(x, 2), x, g, create_graph=True)
    assert torch.equal(ours, reference)
    h = torch.randn_like(ours)
    assert torch.equal(torch.autograd.grad(ours, g, h)[0], torch.autograd.grad(reference, g, h)[0])
    x64 = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(average_pool_2x2, (x64,))


def test_average_pool_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even H and W"):
        average_pool_2x2(torch.zeros(1, 1, 5, 4))
