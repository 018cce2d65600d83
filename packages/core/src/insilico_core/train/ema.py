"""Exponential moving average (EMA) of a model's weights, the "G_ema" generator every paper here samples from.

Two ways to say how fast the average forgets, covering the five papers:

* a fixed decay ``beta`` per update (Multi-StyleGAN: ``θ_ema ← 0.999·θ_ema + 0.001·θ``);
* a half-life in images, as StyleGAN2-ADA / StyleGAN3 / MSSG: after ``half_life_images`` training images the
  old weights count half. With a batch of ``B`` images per update, ``beta = 0.5 ** (B / half_life_images)``
  (``ema_kimg · 1000`` images in their notation). The optional ramp-up shortens the half-life early in
  training, ``half_life = min(half_life_images, images_seen · rampup)`` (their ``ema_rampup``, 0.05 by default
  and ``None`` when resuming), where ``images_seen`` counts the images of all previous updates.

Each update sets ``p_ema = lerp(p, p_ema, beta)`` for parameters and (by default) copies buffers, exactly as
StyleGAN2-ADA does, so running statistics such as StyleGAN3's ``magnitude_ema`` follow the trained model.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .distributed import unwrap_model


def beta_from_half_life(batch_size: int, half_life_images: float) -> float:
    """Per-update decay for a half-life of ``half_life_images`` images when each update sees ``batch_size``.

    ``0.5 ** (batch_size / max(half_life_images, 1e-8))``; a half-life of 0 gives ``beta = 0`` (plain copy).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if half_life_images < 0:
        raise ValueError(f"half_life_images must be >= 0, got {half_life_images}")
    return 0.5 ** (batch_size / max(half_life_images, 1e-8))


class EMA:
    """Moving average of ``model``'s parameters, kept in :attr:`module` (a frozen copy in eval mode).

    Give exactly one of ``beta`` (fixed decay per update, in [0, 1]) or ``half_life_images`` (StyleGAN2-ADA
    form, optionally with ``rampup``). ``model`` may be wrapped in ``DistributedDataParallel`` or
    ``DataParallel``; the average is kept of the inner module. ``copy_buffers=False`` leaves the copy's
    buffers as they were at construction (Multi-StyleGAN averages parameters only).
    """

    def __init__(
        self,
        model: nn.Module,
        beta: float | None = None,
        half_life_images: float | None = None,
        rampup: float | None = None,
        copy_buffers: bool = True,
    ):
        if (beta is None) == (half_life_images is None):
            raise ValueError(
                "give exactly one of beta (fixed decay) or half_life_images (StyleGAN2-ADA half-life)"
            )
        if beta is not None and not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        if half_life_images is not None and half_life_images < 0:
            raise ValueError(f"half_life_images must be >= 0, got {half_life_images}")
        if rampup is not None and (half_life_images is None or rampup < 0):
            raise ValueError("rampup needs half_life_images and must be >= 0")
        self.beta = beta
        self.half_life_images = half_life_images
        self.rampup = rampup
        self.copy_buffers = copy_buffers
        self.images_seen = 0
        self.module = copy.deepcopy(unwrap_model(model)).eval().requires_grad_(False)

    def current_beta(self, batch_size: int | None) -> float:
        """The decay the next :meth:`update` with ``batch_size`` images will use."""
        if self.beta is not None:
            return self.beta
        if batch_size is None:
            raise ValueError("this EMA is defined by a half-life in images: update() needs the batch_size")
        half_life = self.half_life_images
        if self.rampup is not None:
            half_life = min(half_life, self.images_seen * self.rampup)
        return beta_from_half_life(batch_size, half_life)

    @torch.no_grad()
    def update(self, model: nn.Module, batch_size: int | None = None) -> float:
        """Fold ``model``'s current weights into the average; returns the ``beta`` used.

        ``batch_size`` is the number of images of this training step over ALL processes (StyleGAN's global
        ``batch``); it advances :attr:`images_seen` and is required in half-life mode.
        """
        beta = self.current_beta(batch_size)
        source = unwrap_model(model)
        for p_ema, p in zip(self.module.parameters(), source.parameters(), strict=True):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        if self.copy_buffers:
            for b_ema, b in zip(self.module.buffers(), source.buffers(), strict=True):
                b_ema.copy_(b)
        if batch_size is not None:
            self.images_seen += int(batch_size)
        return beta

    def state_dict(self) -> dict[str, Any]:
        """The averaged weights plus the counters needed to continue exactly (weights_only-safe)."""
        return {
            "module": self.module.state_dict(),
            "images_seen": self.images_seen,
            "beta": self.beta,
            "half_life_images": self.half_life_images,
            "rampup": self.rampup,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the averaged weights and :attr:`images_seen`; decay settings stay those of this object."""
        self.module.load_state_dict(state["module"])
        self.images_seen = int(state["images_seen"])
