"""Reconstruction errors of held-out images (BioGANs, Osokin et al., ``--mode reconstruction[-separable]``).

How well can the generator reproduce test images? For a batch of targets in [-1, 1], ``trials`` (5) times:
draw z0 ~ N(0, I), optimise z with L-BFGS (lr 0.05, max_iter 20, tolerance_grad 1e-5 as in torch 0.2,
tolerance_change 1e-9, history 100, no line search) for ``steps`` (50) ``step()`` calls on the mean squared
error over the whole batch and all channels (the batch's codes are optimised jointly, coupled through the
L-BFGS history, as in the original). The separable variant first optimises only z[:, :split] on the first
(red) channel's error, then, with a new L-BFGS, z[:, split:] on the second (green) channel's error.
Per image the trial with the smallest L2 = sqrt(mean over all pixels and channels of (x01 − r01)²), with
x01 = x · 0.5 + 0.5, is kept, and the Gaussian negative log-likelihood −log N(z; 0, I) = ½‖z‖² + (nz/2) log 2π
of its optimised and of its initial code is recorded. The paper's Table 3 reports median ± MAD of both.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch


@dataclass
class ReconstructionResult:
    """Per target image ``[N]``: ``l2`` (best trial, [0, 1] units), ``nll`` and ``nll_init`` (of its
    optimised and initial code); ``reconstructions`` ``[N, C, H, W]`` (generator range), ``codes``
    ``[N, nz, 1, 1]``."""

    l2: torch.Tensor
    nll: torch.Tensor
    nll_init: torch.Tensor
    reconstructions: torch.Tensor
    codes: torch.Tensor


def gaussian_nll(z: torch.Tensor) -> torch.Tensor:
    """−log N(z; 0, I) per sample: ½‖z‖² + (nz / 2) log 2π, for codes ``[N, nz, ...]``."""
    flat = z.flatten(start_dim=1)
    return 0.5 * flat.square().sum(dim=1) + 0.5 * flat.shape[1] * math.log(2 * math.pi)


def rmse01(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image root mean squared error of two [-1, 1] batches measured on the [0, 1] scale."""
    return ((x - y) * 0.5).square().flatten(start_dim=1).mean(dim=1).sqrt()


@contextlib.contextmanager
def _frozen(generator) -> Iterator[None]:
    """Switch off ``requires_grad`` of a module's parameters for the duration, then restore the flags."""
    parameters = list(generator.parameters()) if isinstance(generator, torch.nn.Module) else []
    flags = [p.requires_grad for p in parameters]
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(parameters, flags, strict=True):
            p.requires_grad_(flag)


def _lbfgs_fit(
    generator, z_parts, trainable: int, targets, channel: int | None, steps: int, lr: float
) -> None:
    """Optimise ``z_parts[trainable]`` in place; loss on all channels or on ``channel`` only."""
    parameter = z_parts[trainable].requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [parameter], lr=lr, max_iter=20, tolerance_grad=1e-5, tolerance_change=1e-9, history_size=100
    )
    wanted = targets if channel is None else targets[:, channel]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        images = generator(torch.cat(z_parts, dim=1))
        loss = (wanted - (images if channel is None else images[:, channel])).square().mean()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    parameter.requires_grad_(False)


def reconstruct(
    generator: Callable[[torch.Tensor], torch.Tensor],
    targets: torch.Tensor,
    nz: int,
    *,
    trials: int = 5,
    steps: int = 50,
    lr: float = 0.05,
    separable_split: int | None = None,
    seed: int = 0,
) -> ReconstructionResult:
    """Fit codes z ``[N, nz, 1, 1]`` so that ``generator(z)`` reproduces ``targets`` ``[N, C, H, W]``.

    Targets are in the generator's range [-1, 1].

    ``generator`` should be in eval mode (BioGANs: G.eval()); its parameters are neither changed nor given
    gradients (a module's ``requires_grad`` flags are switched off during the fit and restored). With
    ``separable_split`` = int(nz · red_portion), the separable two-phase fit is used (red code first).
    The global RNG is seeded with ``seed`` for the draws and restored afterwards.
    """
    if targets.dim() != 4:
        raise ValueError(f"targets: expected images [N, C, H, W], got {tuple(targets.shape)}")
    if separable_split is not None and not (0 < separable_split < nz and targets.shape[1] >= 2):
        raise ValueError(
            f"separable_split: expected 0 < split < nz ({nz}) and 2 channels, got {separable_split}"
        )
    targets = targets.detach()
    best = None
    with torch.random.fork_rng(devices=[]), _frozen(generator):
        torch.manual_seed(seed)
        for _ in range(trials):
            z0 = torch.randn(targets.shape[0], nz, 1, 1).to(targets)
            if separable_split is None:
                parts = [z0.clone()]
                _lbfgs_fit(generator, parts, 0, targets, None, steps, lr)
            else:
                parts = [z0[:, :separable_split].clone(), z0[:, separable_split:].clone()]
                _lbfgs_fit(generator, parts, 0, targets, 0, steps, lr)
                _lbfgs_fit(generator, parts, 1, targets, 1, steps, lr)
            z = torch.cat(parts, dim=1).detach()
            with torch.no_grad():
                images = generator(z)
            trial = (rmse01(images, targets), z, z0, images)
            if best is None:
                best = trial
            else:
                better = trial[0] < best[0]
                best = tuple(
                    torch.where(better.view(-1, *([1] * (new.dim() - 1))), new, old)
                    for new, old in zip(trial, best, strict=True)
                )
    l2, z, z0, images = best
    return ReconstructionResult(
        l2=l2, nll=gaussian_nll(z), nll_init=gaussian_nll(z0), reconstructions=images, codes=z
    )


def nearest_neighbour_distance(
    targets: torch.Tensor, references: torch.Tensor, batch_size: int = 256
) -> torch.Tensor:
    """Per target, the smallest :func:`rmse01` to any reference image (BioGANs' nearest-neighbour baseline).

    Both ``[N, C, H, W]`` in [-1, 1] (BioGANs compares the [0, 1] test image with the same class's training
    images, which is the same number).
    """
    flat_targets = targets.flatten(start_dim=1).double() * 0.5
    best = torch.full((targets.shape[0],), float("inf"), dtype=torch.float64)
    for chunk in references.split(batch_size):
        distances = torch.cdist(flat_targets, chunk.flatten(start_dim=1).double() * 0.5)
        best = torch.minimum(best, distances.min(dim=1).values.cpu())
    return best / math.sqrt(flat_targets.shape[1])
