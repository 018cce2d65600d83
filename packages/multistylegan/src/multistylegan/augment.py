"""Adaptive discriminator augmentation as Multi-StyleGAN wires it: a wrapper around the discriminator.

The augmentations and the ``p`` controller are the core's (``insilico_core.augment``, the Multi-StyleGAN
pipeline and parameters). The wrapper keeps the original's attribute name ``discriminator`` (so its state
dict has the ``discriminator.`` prefix of the released checkpoints) and its call convention
``forward(images, is_real=False, is_cut_mix=False)``.
"""

from __future__ import annotations

from typing import Literal

import torch
from insilico_core.augment import (
    MULTISTYLEGAN_SCALE_STD,
    AdaAugmentPipeline,
    AdaptiveP,
    overfitting_heuristic,
)
from torch import nn

__all__ = ["AdaptiveDiscriminatorAugmentation"]


class AdaptiveDiscriminatorAugmentation(nn.Module):
    """Augment the discriminator's input with probability ``p`` and adapt ``p`` to the overfitting heuristic.

    ``forward(images [B, C, T, H, W], is_real, is_cut_mix)`` -> the discriminator's (scalar, pixel) logits.
    CutMix calls (and R1, which the original routes the same way) skip augmentation and the heuristic.
    ``heuristic_on='fake'`` (the original) feeds ``r = (mean sign D_s + mean sign mean_HW D_pix) / 2`` of the
    FAKE predictions of every D and G step into the controller; ``'real'`` uses the real predictions, as
    the ADA paper does. Every ``r_update`` values ``p`` moves by ``p_step`` towards ``r_target``, within
    ``[0, p_max]``; it starts at 0.05.
    """

    def __init__(
        self,
        discriminator: nn.Module,
        r_target: float = 0.6,
        p_step: float = 5e-3,
        r_update: int = 8,
        p_max: float = 0.8,
        heuristic_on: Literal["fake", "real"] = "fake",
        scale_std: float = MULTISTYLEGAN_SCALE_STD,
    ) -> None:
        super().__init__()
        if heuristic_on not in ("fake", "real"):
            raise ValueError(f"heuristic_on must be 'fake' or 'real', got {heuristic_on!r}")
        self.discriminator = discriminator
        self.heuristic_on = heuristic_on
        self.controller = AdaptiveP(target=r_target, interval=r_update, step=p_step, p=0.05, p_max=p_max)
        self.augmentation_pipeline = AdaAugmentPipeline(scale_std=scale_std)

    @property
    def p(self) -> float:
        """Current augmentation probability."""
        return self.controller.p

    def forward(
        self, images: torch.Tensor, is_real: bool = False, is_cut_mix: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if is_cut_mix:
            return self.discriminator(images)
        scalar, pixel = self.discriminator(self.augmentation_pipeline(images, self.controller.p))
        if is_real == (self.heuristic_on == "real"):
            self.controller.update(overfitting_heuristic(scalar.detach(), pixel.detach()))
        return scalar, pixel
