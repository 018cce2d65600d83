"""neuron-gan's losses: WGAN critic loss with drift, WGAN-GP gradient penalty, generator loss, and the
(fixed) similarity loss.

:func:`critic_loss` (one critic step) and :func:`g_wasserstein_loss` (the generator step) take the latents
and interpolation weights explicitly; when they are ``None`` they are drawn as the original does, from
torch's global generator in the order z1 (critic loss), z2 then t (gradient penalty), z3 (generator loss).
:func:`wasserstein_critic_loss` and :func:`interpolated_gradient_penalty` are its two terms on given images;
:func:`d_wasserstein_loss` and :func:`gradient_penalty` are the same two terms drawing their generated images
from G (the separate calls of the original). All scores are at the networks' current resolution and fade.
"""

from __future__ import annotations

from typing import NamedTuple

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


def _check_finite(value: torch.Tensor, name: str) -> None:
    if torch.isnan(value):
        raise FloatingPointError(f"{name} is NaN; training has diverged")


class CriticLoss(NamedTuple):
    """One critic step's objective ``loss = L_D + GP`` and its monitored parts (0-d tensors)."""

    loss: torch.Tensor
    score_real: torch.Tensor
    score_fake: torch.Tensor
    penalty: torch.Tensor


def wasserstein_critic_loss(
    D: DiscriminatorPG, real: torch.Tensor, fake: torch.Tensor, drift_epsilon: float = 1e-3
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Critic loss ``-mean D(x) + mean D(G(z)) + drift_epsilon * mean D(x)^2`` (drift on real scores only).

    ``real``, ``fake``: ``[B, C, r, r]`` in [-1, 1] (``fake`` without a graph). Both batches are scored in one
    critic pass: the critic treats samples independently (no minibatch statistics), so that equals the
    original's two passes. Returns ``(loss, mean D(x), mean D(G(z)))``.
    """
    scores = D(torch.cat([real, fake]))
    real_scores, fake_scores = scores[: real.shape[0]], scores[real.shape[0] :]
    score_real, score_fake = real_scores.mean(), fake_scores.mean()
    _check_finite(score_real, "the critic's score of real images")
    _check_finite(score_fake, "the critic's score of generated images")
    loss = score_fake - score_real
    if drift_epsilon > 0:
        loss = loss + drift_epsilon * real_scores.square().mean()
    return loss, score_real, score_fake


def interpolated_gradient_penalty(
    D: DiscriminatorPG,
    real: torch.Tensor,
    fake: torch.Tensor,
    t: torch.Tensor | None = None,
    lam: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP: ``lam * mean_i (||grad_x D(x_hat_i)||_2 - 1)^2`` with ``x_hat = t x + (1 - t) fake``.

    ``t``: ``[B, 1, 1, 1]`` or ``[B]``, uniform in [0, 1) (drawn when None); the norm runs over (C, H, W).
    The graph is kept (``create_graph``) so the penalty trains D. ``lam <= 0`` returns 0.
    """
    if lam <= 0:
        return torch.zeros((), device=real.device)
    batch = real.shape[0]
    if t is None:
        t = torch.rand((batch, 1, 1, 1), device=real.device)
    t = t.to(real.device).reshape(batch, *([1] * (real.ndim - 1)))
    x_hat = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return lam * (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


def critic_loss(
    G: GeneratorPG,
    D: DiscriminatorPG,
    real: torch.Tensor,
    z: torch.Tensor | None = None,
    z_interp: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    drift_epsilon: float = 1e-3,
    lam: float = 10.0,
) -> CriticLoss:
    """One critic step's objective: :func:`wasserstein_critic_loss` on ``G(z)`` plus
    :func:`interpolated_gradient_penalty` between ``real`` and ``G(z_interp)``.

    ``z``, ``z_interp``: ``[B, latent_dim]``; ``t``: ``[B]`` or ``[B, 1, 1, 1]``. Missing ones are drawn in
    the original's order z, z_interp, t (the latter two only when ``lam > 0``, as the original). Both fake
    batches come from one generator pass without an autograd graph (G is not trained here, and it treats
    samples independently), with the same values as the original's two ``G(z).detach()`` calls.
    """
    batch, device = real.shape[0], real.device
    z = _latents(G, z, batch, device)
    if lam > 0:
        z_interp = _latents(G, z_interp, batch, device)
        if t is None:
            t = torch.rand((batch, 1, 1, 1), device=device)
        with torch.no_grad():
            fake, fake_interp = G(torch.cat([z, z_interp])).split(batch)
    else:
        with torch.no_grad():
            fake = G(z)
    loss, score_real, score_fake = wasserstein_critic_loss(D, real, fake, drift_epsilon)
    penalty = (
        interpolated_gradient_penalty(D, real, fake_interp, t, lam)
        if lam > 0
        else torch.zeros((), device=device)
    )
    return CriticLoss(loss + penalty, score_real, score_fake, penalty)


def _generated(G: GeneratorPG, z: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
    """``G(z)`` without an autograd graph (the original's ``G(z).detach()``); ``z`` drawn when None."""
    z = _latents(G, z, batch, device)
    with torch.no_grad():
        return G(z)


def d_wasserstein_loss(
    G: GeneratorPG,
    D: DiscriminatorPG,
    real: torch.Tensor,
    z: torch.Tensor | None = None,
    drift_epsilon: float = 1e-3,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The critic loss term alone on ``G(z)`` (``z`` ``[B, latent_dim]``, drawn when None): returns
    ``(loss, mean D(x), mean D(G(z)))`` as :func:`wasserstein_critic_loss`."""
    return wasserstein_critic_loss(D, real, _generated(G, z, real.shape[0], real.device), drift_epsilon)


def gradient_penalty(
    G: GeneratorPG,
    D: DiscriminatorPG,
    real: torch.Tensor,
    z: torch.Tensor | None = None,
    t: torch.Tensor | None = None,
    lam: float = 10.0,
) -> torch.Tensor:
    """The gradient penalty term alone between ``real`` and ``G(z)`` (``z`` drawn when None, then ``t``, as
    the original): :func:`interpolated_gradient_penalty`. ``lam <= 0`` returns 0 and draws nothing."""
    if lam <= 0:
        return torch.zeros((), device=real.device)
    return interpolated_gradient_penalty(D, real, _generated(G, z, real.shape[0], real.device), t, lam)


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
