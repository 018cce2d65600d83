"""Losses against hand-computed values (linear and quadratic critics), the original's order of random draws,
and latent sampling."""

from __future__ import annotations

import math

import pytest
import torch
from neurongan import sample_latent
from neurongan.losses import (
    critic_loss,
    d_wasserstein_loss,
    g_wasserstein_loss,
    gradient_penalty,
    interpolated_gradient_penalty,
    similarity_loss,
    wasserstein_critic_loss,
)
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
    loss, score_real, score_fake, penalty = critic_loss(G, D, real, z=z, drift_epsilon=1e-3, lam=0.0)
    assert score_real.item() == pytest.approx(5.5)
    assert score_fake.item() == pytest.approx(-0.5)
    assert penalty.item() == 0.0
    assert loss.item() == pytest.approx(-5.5 - 0.5 + 1e-3 * (8.5**2 + 2.5**2) / 2)
    loss.backward()
    assert G.A.grad is None  # generated images are detached
    no_drift, _, _ = wasserstein_critic_loss(D, real, G(z).detach(), drift_epsilon=0.0)
    assert no_drift.item() == pytest.approx(-6.0)


def test_gradient_penalty_by_hand():
    G = LinearGenerator()
    w = [3.0, 0.0, 4.0, 0.0]  # ||w|| = 5 -> every sample's penalty is (5 - 1)^2
    real = torch.randn(3, 1, 2, 2)
    fake = G(torch.randn(3, 2)).detach()
    assert interpolated_gradient_penalty(LinearCritic(w), real, fake, lam=10.0).item() == pytest.approx(160.0)
    # quadratic critic: gradient = x_hat = t x + (1 - t) G(z)
    t = torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1, 1)
    x_hat = t * real + (1 - t) * fake
    expected = sum((math.sqrt(float(x_hat[i].square().sum())) - 1) ** 2 for i in range(3)) / 3
    got = interpolated_gradient_penalty(QuadraticCritic(), real, fake, t=t, lam=2.0)
    assert got.item() == pytest.approx(2.0 * expected, rel=1e-5)
    assert interpolated_gradient_penalty(QuadraticCritic(), real, fake, t=t, lam=0.0).item() == 0.0
    flat_t = interpolated_gradient_penalty(QuadraticCritic(), real, fake, t=t.flatten(), lam=2.0)
    assert flat_t.item() == got.item()


def test_critic_loss_adds_the_penalty_at_the_second_latents():
    G, D = LinearGenerator(), QuadraticCritic()
    real = torch.randn(3, 1, 2, 2)
    z, z_interp, t = torch.randn(3, 2), torch.randn(3, 2), torch.rand(3)
    parts = critic_loss(G, D, real, z=z, z_interp=z_interp, t=t, drift_epsilon=1e-3, lam=2.0)
    wasserstein, score_real, score_fake = wasserstein_critic_loss(D, real, G(z).detach(), 1e-3)
    penalty = interpolated_gradient_penalty(D, real, G(z_interp).detach(), t=t, lam=2.0)
    assert parts.penalty.item() == pytest.approx(penalty.item(), rel=1e-6)
    assert parts.loss.item() == pytest.approx((wasserstein + penalty).item(), rel=1e-6)
    assert (parts.score_real.item(), parts.score_fake.item()) == (score_real.item(), score_fake.item())


def test_separate_terms_draw_as_the_original_and_equal_the_critic_step():
    G, D = LinearGenerator(), QuadraticCritic()
    real = torch.randn(3, 1, 2, 2)
    torch.manual_seed(5)
    z1, z2, t = sample_latent(3, 2), sample_latent(3, 2), torch.rand(3, 1, 1, 1)
    torch.manual_seed(5)
    loss, score_real, score_fake = d_wasserstein_loss(G, D, real, drift_epsilon=1e-3)
    penalty = gradient_penalty(G, D, real, lam=2.0)  # draws z2, then t
    parts = critic_loss(G, D, real, z=z1, z_interp=z2, t=t, drift_epsilon=1e-3, lam=2.0)
    assert (score_real.item(), score_fake.item()) == (parts.score_real.item(), parts.score_fake.item())
    assert penalty.item() == pytest.approx(parts.penalty.item(), rel=1e-6)
    assert (loss + penalty).item() == pytest.approx(parts.loss.item(), rel=1e-6)
    assert gradient_penalty(G, D, real, z=z2, t=t, lam=0.0).item() == 0.0


def test_gradient_penalty_trains_the_critic():
    G, D = LinearGenerator(), LinearCritic([3.0, 0.0, 4.0, 0.0])
    interpolated_gradient_penalty(D, torch.randn(2, 1, 2, 2), G(torch.randn(2, 2)).detach()).backward()
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
    implicit = [*critic_loss(G, D, real), g_wasserstein_loss(G, D, batch_size=3)]
    torch.manual_seed(11)
    z1 = sample_latent(3, 6)
    z2 = sample_latent(3, 6)
    t = torch.rand(3, 1, 1, 1)
    z3 = sample_latent(3, 6)
    explicit = [*critic_loss(G, D, real, z=z1, z_interp=z2, t=t), g_wasserstein_loss(G, D, z=z3)]
    for a, b in zip(implicit, explicit, strict=True):
        assert a.item() == b.item()
    # without a penalty the original draws neither z2 nor t: z3 directly follows z1
    torch.manual_seed(11)
    no_penalty = critic_loss(G, D, real, lam=0.0).loss
    assert no_penalty.item() == critic_loss(G, D, real, z=z1, lam=0.0).loss.item()
    assert g_wasserstein_loss(G, D, batch_size=3).item() == g_wasserstein_loss(G, D, z=z2).item()


def test_batched_passes_equal_the_originals_separate_passes():
    """One generator pass for both fake batches and one critic pass for real + fake give the values of the
    original's separate passes (no batch coupling in either network); float64, so that only the order of
    float rounding could differ."""
    torch.manual_seed(5)
    G = GeneratorPG([8, 4], image_size_init=4, latent_dim=6).double()
    D = DiscriminatorPG([4, 8], image_size_init=4).double()
    G.set_resolution(8)
    D.set_resolution(8)
    real = torch.rand(3, 1, 8, 8, dtype=torch.float64) * 2 - 1
    z1, z2 = sample_latent(3, 6).double(), sample_latent(3, 6).double()
    t = torch.rand(3, 1, 1, 1, dtype=torch.float64)
    parts = critic_loss(G, D, real, z=z1, z_interp=z2, t=t)
    with torch.no_grad():
        fake1, fake2 = G(z1), G(z2)
    real_scores, fake_scores = D(real), D(fake1)
    x_hat = (t * real + (1 - t) * fake2).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    penalty = 10 * (grad.flatten(1).norm(2, dim=1) - 1).square().mean()
    expected = fake_scores.mean() - real_scores.mean() + 1e-3 * real_scores.square().mean() + penalty
    torch.testing.assert_close(parts.score_real, real_scores.mean(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(parts.score_fake, fake_scores.mean(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(parts.loss, expected, rtol=1e-12, atol=1e-14)
    ours = torch.autograd.grad(parts.loss, list(D.parameters()))
    reference = torch.autograd.grad(expected, list(D.parameters()))
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


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
