"""One training iteration of BioGANs (``GAN_base.train_one_step`` with its GAN / WGAN / WGAN-GP parts).

Kept separate from the training loop so that the update rule can be checked on given batches, latent codes
and interpolation weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from insilico_core.train import autocast
from torch import nn

from .losses import canonical_algorithm, discriminator_loss, generator_loss


def critic_steps(algorithm: str, iteration: int, num_disc_iters: int) -> int:
    """Critic steps at generator iteration ``iteration`` (0-based): WGAN uses 100 for the first 25
    iterations and every 500th, else ``num_disc_iters``; GAN and WGAN-GP always ``num_disc_iters``."""
    if canonical_algorithm(algorithm) == "WGAN" and (iteration < 25 or iteration % 500 == 0):
        return 100
    return num_disc_iters


def latent_noise(batch_size: int, nz: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """z ~ N(0, 1) of shape ``[batch_size, nz, 1, 1]``, drawn as the original (``normal_(0, 1)``)."""
    return torch.empty(batch_size, nz, 1, 1, device=device).normal_(0, 1)


def _clamp_range(clamp: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(clamp, (tuple, list)):
        return float(clamp[0]), float(clamp[1])
    return -float(clamp), float(clamp)


def train_iteration(
    G: nn.Module,
    D: nn.Module,
    optG: torch.optim.Optimizer,
    optD: torch.optim.Optimizer,
    real_batches: Iterable[torch.Tensor],
    z_batches: Sequence[torch.Tensor] | None,
    algorithm: str,
    eps: Sequence[torch.Tensor] | None = None,
    clamp: float | tuple[float, float] = 0.01,
    wgangp_lambda: float = 10.0,
    precision: str = "fp32",
) -> tuple[float, float]:
    """One generator iteration: ``len(real_batches)`` critic steps, then one generator step.

    Critic step k: D.zero_grad(); fake = G(z_k) with G in train mode (its BatchNorm statistics update);
    errD = :func:`discriminator_loss` on (real_k, fake.detach()) (ε_k for WGAN-GP; its mean over classes for
    conditional data); backward; optD.step(); for WGAN every D parameter (BatchNorm ones included) is
    clamped to [-clamp, clamp] (or to the pair ``clamp``).
    Generator step: G.zero_grad(); D frozen; errG = :func:`generator_loss` on the fake batch of the LAST
    critic step (same z, its graph kept; D in train mode, so its BatchNorm statistics update once more);
    backward; optG.step(). D's parameters require grad again afterwards.

    Args:
        real_batches: one real batch per critic step, ``[B, C, H, W]`` or ``[K, B, C, H, W]``, in [-1, 1].
        z_batches: one latent batch ``[B, nz, 1, 1]`` per critic step, or None to draw them as the original
            (``normal_(0, 1)`` of the real batch's size, at the same point of the random stream).
        eps: one ε (``[B]`` or ``[K, B]``) per critic step for WGAN-GP, or None to draw with ``torch.rand``.
        precision: ``'fp32'`` (the reference) or ``'bf16'`` / ``'fp16'`` autocast of the forward passes.

    Returns:
        (errD of the last critic step, errG) as floats.
    """
    algorithm = canonical_algorithm(algorithm)
    low, high = _clamp_range(clamp)
    if isinstance(real_batches, Sequence):
        for name, given in (("z_batches", z_batches), ("eps", eps)):
            if given is not None and len(given) != len(real_batches):
                raise ValueError(
                    f"{name} must hold one entry per real batch ({len(real_batches)}), got {len(given)}"
                )
    G.train()
    D.train()
    fake, err_d, steps = None, torch.zeros(()), 0
    for step, real in enumerate(real_batches):
        if z_batches is not None and step >= len(z_batches):
            raise ValueError(f"z_batches has {len(z_batches)} batches, fewer than the critic steps")
        if eps is not None and step >= len(eps):
            raise ValueError(f"eps has {len(eps)} tensors, fewer than the critic steps")
        D.zero_grad()
        D.requires_grad_(True)
        if z_batches is not None:
            z = z_batches[step].to(real.device)
        else:
            z = latent_noise(real.shape[-4], G.nz, real.device)
        with autocast(real.device, precision):
            fake = G(z)
            err_d = discriminator_loss(
                algorithm, D, real.detach(), fake.detach(), None if eps is None else eps[step], wgangp_lambda
            ).mean()
        err_d.backward()
        optD.step()
        if algorithm == "WGAN":
            with torch.no_grad():
                for parameter in D.parameters():
                    parameter.clamp_(low, high)
        steps += 1
    if steps == 0:
        raise ValueError("real_batches must hold at least one batch (one per critic step)")
    if z_batches is not None and len(z_batches) != steps:
        raise ValueError(f"z_batches must hold one batch per critic step ({steps}), got {len(z_batches)}")
    G.zero_grad()
    D.requires_grad_(False)
    with autocast(fake.device, precision):
        err_g = generator_loss(algorithm, D, fake)
    err_g.backward()
    optG.step()
    D.requires_grad_(True)
    return float(err_d.detach()), float(err_g.detach())
