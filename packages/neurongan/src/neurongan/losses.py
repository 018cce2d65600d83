"""neuron-gan's losses: WGAN critic loss with drift, WGAN-GP gradient penalty, generator loss, and the
(fixed) similarity loss.

Each function takes the latents (and interpolation weights) explicitly; when they are ``None`` they are
drawn as the original does, from torch's global generator in the order z1 (critic loss), z2 then t
(gradient penalty), z3 (generator loss). All scores are at the networks' current resolution and fade.
"""

from __future__ import annotations

import torch

from .models import DiscriminatorPG, GeneratorPG
from .sampling import sample_latent


def _latents(
    G: GeneratorPG, z: torch.Tensor | None, batch_size: int | None, device: torch.device
) -> torch.Tensor:
    if z is not None:
        return z.to(device)
    if batch_size is None:
        raise ValueError("pass the latents z or a batch_size to draw them")
    return sample_latent(batch_size, G.latent_dim, device=device)


def _generate_detached(G: GeneratorPG, z: torch.Tensor) -> torch.Tensor:
    """``G(z)`` without an autograd graph: the same values as the original's ``G(z).detach()``, without
    recording what would never be differentiated."""
    with torch.no_grad():
        return G(z)


def _check_finite(value: torch.Tensor, name: str) -> None:
    if torch.isnan(value):
        raise FloatingPointError(f"{name} is NaN; training has diverged")


def d_wasserstein_loss(
    G: GeneratorPG,
    D: DiscriminatorPG,
    real: torch.Tensor,
    z: torch.Tensor | None = None,
    drift_epsilon: float = 1e-3,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Critic loss ``-mean D(x) + mean D(G(z)) + drift_epsilon * mean D(x)^2`` (drift on real scores only).

    ``real``: ``[B, C, r, r]`` in [-1, 1]; ``z``: ``[B, latent_dim]`` (drawn when None). G is not
    differentiated (its images are detached). Returns ``(loss, mean D(x), mean D(G(z)))``.
    """
    real_scores = D(real)
    score_real = real_scores.mean()
    fake = _generate_detached(G, _latents(G, z, real.shape[0], real.device))
    score_fake = D(fake).mean()
    _check_finite(score_real, "the critic's score of real images")
    _check_finite(score_fake, "the critic's score of generated images")
    loss = score_fake - score_real
    if drift_epsilon > 0:
        loss = loss + drift_epsilon * real_scores.square().mean()
    return loss, score_real, score_fake


def gradient_penalty(
    G: GeneratorPG,
    D: DiscriminatorPG,
    real: torch.Tensor,
    z: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    lam: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP: ``lam * mean_i (||grad_x D(x_hat_i)||_2 - 1)^2`` with ``x_hat = t x + (1 - t) G(z)``.

    ``t``: ``[B, 1, 1, 1]`` uniform in [0, 1) (drawn when None, after z); the norm runs over (C, H, W). The
    graph is kept (``create_graph``) so the penalty trains D. ``lam <= 0`` returns 0.
    """
    if lam <= 0:
        return torch.zeros((), device=real.device)
    batch = real.shape[0]
    fake = _generate_detached(G, _latents(G, z, batch, real.device))
    if t is None:
        t = torch.rand((batch, 1, 1, 1), device=real.device)
    t = t.reshape(batch, *([1] * (real.ndim - 1)))  # accept [B] as well as [B, 1, 1, 1]
    t = t.to(real.device)
    x_hat = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return lam * (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


def g_wasserstein_loss(
    G: GeneratorPG, D: DiscriminatorPG, z: torch.Tensor | None = None, batch_size: int | None = None
) -> torch.Tensor:
    """Generator loss ``-mean D(G(z))``; ``z`` ``[B, latent_dim]`` or ``batch_size`` latents drawn."""
    device = next(G.parameters()).device
    loss = -D(G(_latents(G, z, batch_size, device))).mean()
    _check_finite(loss, "the generator loss")
    return loss


def similarity_loss(images: torch.Tensor, z: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Mode-collapse penalty: ``lam * sum_{i != j} (cos(z_i, z_j) - cos(x_i, x_j))^2 / (B (B - 1))``.

    The original applied it to the *real* batch, where it has no gradient; pass the generated images
    ``G(z)`` so that it acts on the generator.
    """
    batch = images.shape[0]
    if batch < 2:
        return torch.zeros((), device=images.device)
    x = torch.nn.functional.normalize(images.reshape(batch, -1), dim=1)
    w = torch.nn.functional.normalize(z.reshape(batch, -1), dim=1)
    return lam * (w @ w.t() - x @ x.t()).square().sum() / (batch * (batch - 1))
