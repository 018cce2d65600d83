"""Multi-StyleGAN's ADA augmentation pipeline (StyleGAN2-ADA's geometric stages), differentiable.

Stages, in order; each selects the samples it transforms independently with the probability given:

1. x-flip, ``p``;
2. rotation by one multiple of 90 degrees drawn from {0, -90, 90, 180} (one draw shared by the selected
   samples), ``p``;
3. integer translation: circular shift by ``(int(H*u1), int(W*u2))``, ``u ~ U(-0.125, 0.125)`` (one draw
   shared by the selected samples), ``p``;
4. isotropic scaling by ``s ~ lognormal(0, scale_std)`` per sample, ``p``;
5. rotation by ``U(-180, 180)`` degrees per sample, ``1 - sqrt(1 - p)``;
6. anisotropic scaling, ``s_x, s_y ~ lognormal(0, scale_std)`` independently, ``p``;
7. rotation by ``U(-180, 180)`` degrees per sample, ``1 - sqrt(1 - p)``.

Stages 4-7 resample bilinearly with reflection padding (see :func:`rotate_scale`). A sample's transform acts
on all its planes: a ``[B, C, T, H, W]`` sequence batch is flattened to ``[B, C*T, H, W]`` first, so every
frame and channel of a sample moves together. Randomness comes only from the optional ``torch.Generator``.

Differences from the original, both harmless: augmentations are not written in place into the caller's tensor
(the original leaves the real batch augmented for the R1 and CutMix steps of the same iteration), and samples
are selected with ``rand < P`` instead of ``rand <= P`` (same probability; at ``p = 0`` nothing is touched).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from .geometry import integer_translate, rotate90, rotate_scale, xflip

# Multi-StyleGAN squares StyleGAN2-ADA's log-scale deviation 0.2*ln(2) by mistake, giving very mild scaling.
MULTISTYLEGAN_SCALE_STD = (0.2 * math.log(2)) ** 2
STYLEGAN2_ADA_SCALE_STD = 0.2 * math.log(2)

_QUARTER_TURNS = (0, -1, 1, 2)  # the angles {0, -90, 90, 180} in quarter turns
_TRANSLATION_MAX = 0.125  # largest integer shift as a fraction of the image size
_ROTATION_MAX_DEG = 180.0


# Stage names as StyleGAN2-ADA's AugmentPipe calls them; "rotate" runs twice (stages 5 and 7).
STAGES = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso")


class AdaAugmentPipeline(nn.Module):
    """Apply the ADA augmentations with strength ``p`` (the controller's current value).

    Args:
        scale_std: standard deviation of ``log(scale)``; :data:`MULTISTYLEGAN_SCALE_STD` (the original's
            squared value, the default) or :data:`STYLEGAN2_ADA_SCALE_STD` (the intended one).
        stages: the stages to run, a subset of :data:`STAGES` (all by default, as Multi-StyleGAN); the order
            of application is always the pipeline's.
    """

    def __init__(self, scale_std: float = MULTISTYLEGAN_SCALE_STD, stages: Sequence[str] = STAGES) -> None:
        super().__init__()
        if scale_std < 0:
            raise ValueError(f"scale_std must be >= 0, got {scale_std}")
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown augmentation stages {sorted(unknown)}; choose from {list(STAGES)}")
        self.scale_std = scale_std
        self.stages = frozenset(stages)

    def forward(
        self, images: torch.Tensor, p: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Augment a batch.

        Args:
            images: ``[B, C, H, W]`` or ``[B, C, T, H, W]`` (square ``H == W`` when ``p > 0``).
            p: augmentation probability in ``[0, 1]``.
            generator: CPU generator for the random draws (``None`` = torch's global one).

        Returns:
            The augmented batch, same shape and dtype; ``images`` itself is not modified.
        """
        if images.dim() not in (4, 5):
            raise ValueError(
                f"images must be [B, C, H, W] or [B, C, T, H, W], got shape {list(images.shape)}"
            )
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"augmentation probability p must be in [0, 1], got {p}")
        if p == 0.0:
            return images
        x = images.flatten(1, 2) if images.dim() == 5 else images
        if "rotate90" in self.stages and x.shape[-1] != x.shape[-2]:
            raise ValueError(
                f"the rotate90 stage needs square images, got height {x.shape[-2]}, width {x.shape[-1]}"
            )
        p_rotate = 1.0 - math.sqrt(1.0 - p)

        picked = self._pick(x, p, generator, "xflip")
        if picked.numel():
            x = x.index_put((picked,), xflip(x[picked]))

        picked = self._pick(x, p, generator, "rotate90")
        if picked.numel():
            turns = _QUARTER_TURNS[int(torch.randint(len(_QUARTER_TURNS), (1,), generator=generator))]
            x = x.index_put((picked,), rotate90(x[picked], turns))

        picked = self._pick(x, p, generator, "xint")
        if picked.numel():
            fraction = (torch.rand(2, generator=generator, dtype=torch.float64) * 2 - 1) * _TRANSLATION_MAX
            shift_y, shift_x = int(x.shape[-2] * float(fraction[0])), int(x.shape[-1] * float(fraction[1]))
            x = x.index_put((picked,), integer_translate(x[picked], shift_y, shift_x))

        x = self._resampling_stage(x, p, generator, "scale")
        x = self._resampling_stage(x, p_rotate, generator, "rotate")
        x = self._resampling_stage(x, p, generator, "aniso")
        x = self._resampling_stage(x, p_rotate, generator, "rotate")
        return x.reshape(images.shape)

    def _pick(
        self, x: torch.Tensor, probability: float, generator: torch.Generator | None, stage: str
    ) -> torch.Tensor:
        """Indices (on ``x``'s device) of the samples ``stage`` transforms, each chosen with ``probability``.

        Empty, without drawing random numbers, when the stage is switched off.
        """
        if stage not in self.stages:
            return torch.empty(0, dtype=torch.long, device=x.device)
        chosen = torch.rand(x.shape[0], generator=generator) < probability
        return chosen.nonzero().flatten().to(x.device)

    def _resampling_stage(
        self,
        x: torch.Tensor,
        probability: float,
        generator: torch.Generator | None,
        stage: Literal["scale", "rotate", "aniso"],
    ) -> torch.Tensor:
        """One bilinear stage: a random rotation, or a random isotropic or anisotropic scaling, per sample."""
        picked = self._pick(x, probability, generator, stage)
        n = picked.numel()
        if n == 0:
            return x
        if stage == "rotate":
            angle = (torch.rand(n, generator=generator) * 2 - 1) * _ROTATION_MAX_DEG
            scale = torch.ones(n, 2)
        else:
            angle = torch.zeros(n)
            axes = 1 if stage == "scale" else 2
            scale = (torch.randn(n, axes, generator=generator) * self.scale_std).exp().expand(n, 2)
        return x.index_put((picked,), rotate_scale(x[picked], angle.to(x.device), scale.to(x.device)))
