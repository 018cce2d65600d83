"""The three objectives of BioGANs (``code/gan.py``, ``code/wgan.py``), for joint and conditional data.

Scores are raw discriminator outputs. Joint data: images ``[B, C, H, W]``, scores ``[B]``, losses are
scalars. Conditional data (star-shaped discriminator): images ``[K, B, C, H, W]``, scores ``[K, B]``;
the discriminator loss is a vector over the K classes (the optimiser minimises its mean), the generator
loss a scalar over all K·B scores.

- GAN: errD = BCE(D(real), 1) + BCE(D(fake), 0) (two forward passes, so BatchNorm sees two batches);
  errG = BCE(D(fake), 1) (non-saturating).
- WGAN: errD = mean D(real) - mean D(fake) (the critic scores real data LOW); errG = mean D(fake).
- WGAN-GP: the WGAN loss + λ·mean_b (‖∇_x̂ D(x̂_b)‖₂ - 1)², x̂ = ε·real + (1-ε)·fake, ε ~ U[0, 1) per sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .choices import canonical_choice

#: canonical spelling of the ``--GAN_algorithm`` choices
ALGORITHMS = ("GAN", "WGAN", "WGAN-GP")


def canonical_algorithm(algorithm: str) -> str:
    """``'GAN'``, ``'WGAN'`` or ``'WGAN-GP'`` from any capitalisation; ValueError otherwise."""
    return canonical_choice(algorithm, ALGORITHMS, "GAN algorithm")


def _bce_with_logits(scores: torch.Tensor, label: float) -> torch.Tensor:
    """Mean BCE of logits ``[B]`` against a constant label; per class (``[K]``) for ``[K, B]`` scores."""
    if scores.dim() == 1:
        return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, label))
    return torch.stack(
        [F.binary_cross_entropy_with_logits(row, torch.full_like(row, label)) for row in scores], 0
    )


def gradient_penalty(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None
) -> torch.Tensor:
    """WGAN-GP penalties (‖∇_x̂ D(x̂)‖₂ - 1)² per sample: ``[B]`` (joint) or ``[K, B]`` (conditional).

    Both batches are cut to the smaller batch size B. ``eps``: ``[B]`` or ``[K, B]`` (any shape with that
    many elements), values in [0, 1); drawn with ``torch.rand`` on the CPU generator when None (as the
    original). The gradient graph is kept (``create_graph=True``) so the penalty trains D.
    """
    if real.dim() != fake.dim() or real.dim() not in (4, 5):
        raise ValueError(
            f"expected two [B, C, H, W] or [K, B, C, H, W] batches, got {real.shape} and {fake.shape}"
        )
    if real.dim() == 4:
        batch = min(real.shape[0], fake.shape[0])
        real, fake = real[:batch], fake[:batch]
        eps_shape: tuple[int, ...] = (batch,)
    else:
        if real.shape[0] != fake.shape[0]:
            raise ValueError(
                f"real and fake have different numbers of classes: {real.shape[0]} and {fake.shape[0]}"
            )
        batch = min(real.shape[1], fake.shape[1])
        real, fake = real[:, :batch], fake[:, :batch]
        eps_shape = (real.shape[0], batch)
    if eps is None:
        eps = torch.rand(eps_shape)
    elif eps.numel() != torch.Size(eps_shape).numel():
        raise ValueError(f"eps must have {eps_shape} values (one per sample), got shape {tuple(eps.shape)}")
    eps = eps.reshape(eps_shape + (1, 1, 1)).to(device=real.device, dtype=real.dtype)
    interpolates = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    with torch.enable_grad():
        scores = D(interpolates)
        (gradients,) = torch.autograd.grad(
            scores, interpolates, grad_outputs=torch.ones_like(scores), create_graph=True
        )
    norms = gradients.reshape(torch.Size(eps_shape).numel(), -1).norm(2, dim=1)
    return ((norms - 1) ** 2).view(eps_shape)


def discriminator_loss(
    algorithm: str,
    D: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    eps: torch.Tensor | None = None,
    wgangp_lambda: float = 10.0,
) -> torch.Tensor:
    """errD of the original: a scalar (joint) or a per-class vector ``[K]`` (conditional).

    D is applied to ``real`` then to ``fake`` (then, for WGAN-GP, to the interpolates), as in the original;
    pass detached fakes when training D. ``eps`` and ``wgangp_lambda`` are used by WGAN-GP only.
    """
    algorithm = canonical_algorithm(algorithm)
    scores_real = D(real)
    scores_fake = D(fake)
    if algorithm == "GAN":
        return _bce_with_logits(scores_real, 1.0) + _bce_with_logits(scores_fake, 0.0)
    mean_dim = 0 if scores_real.dim() == 1 else 1
    loss = scores_real.mean(mean_dim) - scores_fake.mean(mean_dim)
    if algorithm == "WGAN-GP":
        loss = loss + wgangp_lambda * gradient_penalty(D, real, fake, eps).mean(mean_dim)
    return loss


def generator_loss(algorithm: str, D: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """errG of the original (a scalar): BCE(D(fake), 1) over all scores for GAN, mean D(fake) otherwise."""
    algorithm = canonical_algorithm(algorithm)
    scores = D(fake)
    if algorithm == "GAN":
        return F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
    return scores.mean()
