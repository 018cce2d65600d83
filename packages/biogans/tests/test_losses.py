"""Losses against hand-computed values, with critics whose outputs and gradients are known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from biogans.losses import discriminator_loss, generator_loss, gradient_penalty
from torch import nn


class LinearCritic(nn.Module):
    """D(x) = <w, x> per sample (joint ``[B, C, H, W]`` -> ``[B]``, conditional ``[K, B, ...]`` -> ``[K, B]``
    with one w per class); ∇x D = w everywhere, so the penalty is (‖w‖ - 1)²."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = nn.Parameter(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            return (x * self.weights).flatten(1).sum(1)
        return (x * self.weights[:, None]).flatten(2).sum(2)


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_gan_losses_by_hand():
    w = torch.zeros(1, 1, 2)
    w[0, 0] = torch.tensor([1.0, -2.0])
    D = LinearCritic(w)
    real = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])  # scores 1, -2
    fake = torch.tensor([[[[0.5, 0.5]]], [[[2.0, 0.0]]]])  # scores -0.5, 2
    # BCE(s, 1) = softplus(-s), BCE(s, 0) = softplus(s)
    expected_d = (softplus(-1) + softplus(2)) / 2 + (softplus(-0.5) + softplus(2)) / 2
    assert discriminator_loss("GAN", D, real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    expected_g = (softplus(0.5) + softplus(-2)) / 2
    assert generator_loss("gan", D, fake).item() == pytest.approx(expected_g, rel=1e-6)


def test_wgan_losses_by_hand_and_the_critic_sign():
    D = LinearCritic(torch.ones(1, 1, 1))
    real, fake = torch.full((4, 1, 1, 1), 3.0), torch.full((4, 1, 1, 1), -1.0)
    # the critic is trained to score real data LOW: errD = mean D(real) - mean D(fake)
    assert discriminator_loss("WGAN", D, real, fake).item() == pytest.approx(4.0)
    assert generator_loss("WGAN", D, fake).item() == pytest.approx(-1.0)


def test_gradient_penalty_by_hand():
    w = torch.tensor([[[3.0, 4.0]]])  # ‖w‖ = 5 -> penalty (5 - 1)² = 16 for every interpolate
    D = LinearCritic(w)
    real, fake = torch.randn(3, 1, 1, 2), torch.randn(5, 1, 1, 2)
    penalties = gradient_penalty(D, real, fake, eps=torch.tensor([0.1, 0.5, 0.9]))
    assert penalties.shape == (3,)  # batches cut to the smaller size
    assert torch.allclose(penalties, torch.full((3,), 16.0))
    scores = (real[:3] * w).flatten(1).sum(1).mean() - (fake[:3] * w).flatten(1).sum(1).mean()
    loss = discriminator_loss("WGAN-GP", D, real[:3], fake[:3], eps=torch.rand(3), wgangp_lambda=2.0)
    assert loss.item() == pytest.approx(scores.item() + 2.0 * 16.0, rel=1e-5)


def test_gradient_penalty_uses_the_interpolate():
    # D(x) = ½‖x‖² has ∇ = x, so the penalty at x̂ = ε real + (1 - ε) fake is (‖x̂‖ - 1)²
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * (x**2).flatten(1).sum(1)

    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    eps = torch.tensor([0.0, 0.25, 0.5, 1.0])
    interpolate = eps[:, None, None, None] * real + (1 - eps[:, None, None, None]) * fake
    expected = (interpolate.flatten(1).norm(dim=1) - 1) ** 2
    assert torch.allclose(gradient_penalty(Quadratic(), real, fake, eps), expected, atol=1e-5)


def test_conditional_losses_are_per_class():
    w = torch.stack([torch.full((1, 1, 1), 1.0), torch.full((1, 1, 1), -1.0)])  # one critic per class
    D = LinearCritic(w)
    real = torch.tensor([[1.0, 3.0], [5.0, 7.0]]).reshape(2, 2, 1, 1, 1)
    fake = torch.zeros(2, 2, 1, 1, 1)
    wgan = discriminator_loss("WGAN", D, real, fake)
    assert torch.allclose(wgan, torch.tensor([2.0, -6.0]))
    gp = gradient_penalty(D, real, fake, eps=torch.rand(2, 2))
    assert gp.shape == (2, 2) and torch.allclose(gp, torch.zeros(2, 2))  # ‖w_k‖ = 1
    gan = discriminator_loss("GAN", D, real, fake)
    expected = [
        (softplus(-1) + softplus(-3)) / 2 + softplus(0),
        (softplus(5) + softplus(7)) / 2 + softplus(0),
    ]
    assert torch.allclose(gan, torch.tensor(expected))
    assert generator_loss("WGAN-GP", D, real).item() == pytest.approx((1 + 3 - 5 - 7) / 4)


def test_bad_arguments():
    D = LinearCritic(torch.ones(1, 1, 1))
    x = torch.zeros(2, 1, 1, 1)
    with pytest.raises(ValueError, match="unknown GAN algorithm"):
        discriminator_loss("LSGAN", D, x, x)
    with pytest.raises(ValueError, match="eps must have"):
        gradient_penalty(D, x, x, eps=torch.rand(3))
