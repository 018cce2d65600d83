"""The hand-written pixel-norm backward against autograd of the plain expression, to second order (the
gradient penalty differentiates the critic twice)."""

from __future__ import annotations

import torch
from insilico_core.nn import normalize_2nd_moment
from neurongan.models.pixel_norm import PixelNorm, pixel_norm


def test_forward_is_bit_identical_to_the_core_expression():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 5, 5)
    assert torch.equal(PixelNorm()(x), normalize_2nd_moment(x, dim=1, eps=1e-8))
    channels_last = pixel_norm(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(channels_last, pixel_norm(x), rtol=1e-6, atol=1e-7)


def test_first_and_second_derivatives_match_autograd_of_the_expression():
    torch.manual_seed(1)
    x = torch.randn(2, 6, 3, 4, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 6, 3, 4, dtype=torch.float64)

    def penalty(norm):
        (grad,) = torch.autograd.grad((norm(x) * weights).sum(), x, create_graph=True)
        return grad, torch.autograd.grad(grad.square().sum(), x)[0]

    grad, second = penalty(pixel_norm)
    grad_reference, second_reference = penalty(lambda v: normalize_2nd_moment(v, dim=1, eps=1e-8))
    torch.testing.assert_close(grad, grad_reference, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(second, second_reference, rtol=1e-10, atol=1e-12)


def test_gradcheck_to_second_order():
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pixel_norm, (x,))
    assert torch.autograd.gradgradcheck(pixel_norm, (x,))
