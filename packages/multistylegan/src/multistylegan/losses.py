"""Losses, regularisers and schedules of Multi-StyleGAN training (spec section 5).

Logits are the U-Net discriminator's two outputs: scalar ``[B, 1]`` and pixel-wise ``[B, 1, 1, H, W]``.
Every function keeps the original's reductions (means over all elements), so logged values compare with
the original's logs.
"""

from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import autograd, nn

__all__ = [
    "PathLengthRegularization",
    "TopK",
    "cut_mix_logistic_loss",
    "cut_mix_map",
    "discriminator_logistic_loss",
    "generator_logistic_loss",
    "latent_noise",
    "r1_penalty",
    "wrong_order_permutation",
]


def latent_noise(
    batch_size: int, latent_dimensions: int, p_mixed_noise: float, device: torch.device | str
) -> torch.Tensor | list[torch.Tensor]:
    """Generator input: with probability ``p_mixed_noise`` (drawn with ``random``) a list of two
    ``[B, D]`` N(0, 1) tensors (style mixing), else one tensor."""
    if p_mixed_noise > 0 and random.random() < p_mixed_noise:
        return list(torch.randn(2, batch_size, latent_dimensions, device=device).unbind(0))
    return torch.randn(batch_size, latent_dimensions, device=device)


def discriminator_logistic_loss(
    prediction_real: torch.Tensor, prediction_fake: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-saturating logistic loss of the discriminator, its (real, fake) parts:
    ``mean(softplus(-D(real)))``, ``mean(softplus(D(fake)))``."""
    return torch.mean(F.softplus(-prediction_real)), torch.mean(F.softplus(prediction_fake))


def generator_logistic_loss(prediction_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss of the generator: ``mean(softplus(-D(fake)))``."""
    return torch.mean(F.softplus(-prediction_fake))


def cut_mix_logistic_loss(
    prediction: torch.Tensor, real_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-wise logistic loss on a CutMix image, its (real, fake) parts:
    ``mean(softplus(-p) * M)``, ``mean(softplus(p) * (1 - M))`` with M = 1 where the pixel is real."""
    return torch.mean(F.softplus(-prediction) * real_mask), torch.mean(
        F.softplus(prediction) * (1.0 - real_mask)
    )


def cut_mix_map(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A random binary map ``[1, 1, 1, H, W]`` with two rectangular regions (CutMix, Schönfeld et al.).

    Cut point ``(r, c)`` with ``r`` in ``[int(0.1 H), int(0.9 H))`` (``torch.randint``), the same for ``c``;
    with probability 1/2 the lower-right block is 1, else the upper-left one; then with probability 1/2 the
    map is inverted (both coin flips with ``random``, as the original).
    """
    mask = torch.zeros(1, 1, 1, height, width, device=device)
    row = int(torch.randint(int(0.1 * height), int(0.9 * height), size=(1,)))
    column = int(torch.randint(int(0.1 * width), int(0.9 * width), size=(1,)))
    if random.random() > 0.5:
        mask[..., row:, column:] = 1.0
    else:
        mask[..., :row, :column] = 1.0
    if random.random() > 0.5:
        mask = 1.0 - mask
    return mask


def r1_penalty(
    prediction: torch.Tensor, prediction_pixel: torch.Tensor, images: torch.Tensor
) -> torch.Tensor:
    """``0.5 * mean_b ||d(sum D_scalar + sum D_pixel) / d images_b||^2`` (graph kept for the backward)."""
    (gradient,) = autograd.grad(
        outputs=(prediction.sum(), prediction_pixel.sum()), inputs=images, create_graph=True
    )
    return 0.5 * gradient.pow(2).reshape(gradient.shape[0], -1).sum(1).mean()


class PathLengthRegularization(nn.Module):
    """StyleGAN2 path-length penalty with a running mean ``a`` of the path length (buffer
    ``mean_path_length``, saved in checkpoints; the original kept it in a plain attribute, lost on resume).

    ``forward(grads [B, layers, D])`` -> ``(penalty, path_length)``: ``pl = mean_b sqrt(mean_layers sum_D
    g^2 + 1e-8)`` (one batch mean, as the original), ``a <- a + decay (pl - a)``, ``penalty = (pl - a)^2``
    with the updated ``a`` still depending on ``pl`` (the original's gradient, 0.99^2 of the textbook one).
    """

    def __init__(self, decay: float = 0.01) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("mean_path_length", torch.zeros(1))

    def forward(self, grads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        path_length = torch.sqrt(grads.pow(2).sum(2).mean(1) + 1e-8).mean()
        previous = self.mean_path_length.to(path_length.device)
        mean = previous + self.decay * (path_length - previous)
        self.mean_path_length.copy_(mean.detach())
        return torch.mean((path_length - mean) ** 2), path_length

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # The original saves an empty state dict here: start from a = 0 then, as the original does
        state_dict.setdefault(prefix + "mean_path_length", torch.zeros(1))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class TopK:
    """Top-k generator training (Sinha et al. 2020): keep the ``max(1, int(B v))`` best-scored fakes.

    ``v`` is 1 for the first ``starting_iteration`` calls, 0.5 from ``final_iteration`` on, linear in
    between; ``iterations`` counts the calls (set it when resuming).
    """

    def __init__(self, starting_iteration: int, final_iteration: int, iterations: int = 0) -> None:
        self.starting_iteration = starting_iteration
        self.final_iteration = final_iteration
        self.iterations = iterations

    def fraction(self) -> float:
        """Advance the call counter and return the current ``v``."""
        self.iterations += 1
        if self.iterations <= self.starting_iteration:
            return 1.0
        if self.iterations >= self.final_iteration:
            return 0.5
        progress = (self.iterations - self.starting_iteration) / (
            self.final_iteration - self.starting_iteration
        )
        return 0.5 * (1.0 - progress) + 0.5

    def __call__(self, prediction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values, indices)`` of the largest scalar logits ``[B, 1]``."""
        flat = prediction.view(-1)
        return torch.topk(flat, k=max(1, int(flat.shape[0] * self.fraction())))


def wrong_order_permutation(length: int, with_replacement: bool = True) -> torch.Tensor:
    """Frame order for a "wrong-order" real sequence, never the identity.

    The original draws ``length`` indices WITH replacement (``numpy.random.choice``), so frames may repeat,
    and uses the reversed order when the draw is the identity; ``with_replacement=False`` draws a true
    permutation instead (same identity rule).
    """
    order = torch.from_numpy(np.random.choice(range(length), size=length, replace=with_replacement))
    if torch.equal(order, torch.arange(length)):
        order = torch.arange(length - 1, -1, -1)
    return order
