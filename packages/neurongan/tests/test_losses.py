"""Losses against hand-computed values (linear and quadratic critics), the original's order of random draws,
and latent sampling."""

from __future__ import annotations

import math

import pytest
import torch
from neurongan import sample_latent
from neurongan.losses import d_wasserstein_loss, g_wasserstein_loss, gradient_penalty, similarity_loss
from neurongan.models import DiscriminatorPG, GeneratorPG
from torch import nn


class LinearGenerator(nn.Module):
    """G(z) = reshape(A z), a 2x2 image from a 2-d latent."""

    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.A = nn.Parameter(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-1.0, 0.5]]))

    def forward(self, z):
        return (z @ self.A.t()).view(-1, 1, 2, 2)


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w).view(1, 1, 2, 2))

    def forward(self, x):
        return (x * self.w).sum(dim=(1, 2, 3)).view(-1, 1)


class QuadraticCritic(nn.Module):
    """D(x) = 0.5 * ||x||^2: its input gradient is x."""

    def forward(self, x):
        return 0.5 * x.square().sum(dim=(1, 2, 3)).view(-1, 1)


def test_critic_loss_with_drift_by_hand():
    G, D = LinearGenerator(), LinearCritic([1.0, -1.0, 0.5, 2.0])
    real = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 1.0, 0.5]]).view(2, 1, 2, 2)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # D(real) = [1 - 2 + 1.5 + 8, 0 + 1 + 0.5 + 1] = [8.5, 2.5]
    # G(z) = [[1, 0, 1, -1], [0, 2, 1, 0.5]] -> D = [1 + 0.5 - 2, -2 + 0.5 + 1] = [-0.5, -0.5]
    loss, score_real, score_fake = d_wasserstein_loss(G, D, real, z=z, drift_epsilon=1e-3)
    assert score_real.item() == pytest.approx(5.5)
    assert score_fake.item() == pytest.approx(-0.5)
    assert loss.item() == pytest.approx(-5.5 - 0.5 + 1e-3 * (8.5**2 + 2.5**2) / 2)
    loss.backward()
    assert G.A.grad is None  # generated images are detached
    no_drift, _, _ = d_wasserstein_loss(G, D, real, z=z, drift_epsilon=0.0)
    assert no_drift.item() == pytest.approx(-6.0)


def test_gradient_penalty_by_hand():
    G = LinearGenerator()
    w = [3.0, 0.0, 4.0, 0.0]  # ||w|| = 5 -> every sample's penalty is (5 - 1)^2
    real = torch.randn(3, 1, 2, 2)
    z = torch.randn(3, 2)
    assert gradient_penalty(G, LinearCritic(w), real, z=z, lam=10.0).item() == pytest.approx(160.0)
    # quadratic critic: gradient = x_hat = t x + (1 - t) G(z)
    t = torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1, 1)
    fake = G(z).detach()
    x_hat = t * real + (1 - t) * fake
    expected = sum((math.sqrt(float(x_hat[i].square().sum())) - 1) ** 2 for i in range(3)) / 3
    got = gradient_penalty(G, QuadraticCritic(), real, z=z, t=t, lam=2.0)
    assert got.item() == pytest.approx(2.0 * expected, rel=1e-5)
    assert gradient_penalty(G, QuadraticCritic(), real, z=z, t=t, lam=0.0).item() == 0.0
    flat_t = gradient_penalty(G, QuadraticCritic(), real, z=z, t=t.flatten(), lam=2.0)
    assert flat_t.item() == got.item()


def test_gradient_penalty_trains_the_critic():
    G, D = LinearGenerator(), LinearCritic([3.0, 0.0, 4.0, 0.0])
    gradient_penalty(G, D, torch.randn(2, 1, 2, 2), z=torch.randn(2, 2)).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w|| = 16 w
    torch.testing.assert_close(D.w.grad.flatten(), 16 * torch.tensor([3.0, 0.0, 4.0, 0.0]))


def test_generator_loss_by_hand():
    G, D = LinearGenerator(), LinearCritic([1.0, -1.0, 0.5, 2.0])
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = g_wasserstein_loss(G, D, z=z)
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert G.A.grad is not None
    with pytest.raises(ValueError, match="batch_size"):
        g_wasserstein_loss(G, D)


def test_draws_follow_the_original_order_z1_z2_t_z3():
    torch.manual_seed(0)
    G = GeneratorPG([8, 4], image_size_init=4, latent_dim=6)
    D = DiscriminatorPG([4, 8], image_size_init=4)
    real = torch.rand(3, 1, 4, 4) * 2 - 1
    torch.manual_seed(11)
    implicit = [
        d_wasserstein_loss(G, D, real)[0],
        gradient_penalty(G, D, real),
        g_wasserstein_loss(G, D, batch_size=3),
    ]
    torch.manual_seed(11)
    z1 = sample_latent(3, 6)
    z2 = sample_latent(3, 6)
    t = torch.rand(3, 1, 1, 1)
    z3 = sample_latent(3, 6)
    explicit = [
        d_wasserstein_loss(G, D, real, z=z1)[0],
        gradient_penalty(G, D, real, z=z2, t=t),
        g_wasserstein_loss(G, D, z=z3),
    ]
    for a, b in zip(implicit, explicit, strict=True):
        assert a.item() == b.item()


def test_sample_latent_is_unit_norm_clamped_and_seeded_privately():
    torch.manual_seed(0)
    expected = torch.randn(16, 512).clamp(-5, 5)
    expected = expected / expected.norm(dim=1, keepdim=True)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    z = sample_latent(16, 512, seed=0)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is untouched
    assert torch.equal(z, expected)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(16))
    big = sample_latent(4000, 2, seed=1)
    assert big.abs().max() <= 1


def test_similarity_loss_by_hand():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    images = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    # cos(z) off-diagonal 0, cos(images) off-diagonal 1 -> two pairs of (0 - 1)^2 over B(B-1) = 2
    assert similarity_loss(images, z, lam=3.0).item() == pytest.approx(3.0)
