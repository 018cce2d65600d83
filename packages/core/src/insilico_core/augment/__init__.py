"""Adaptive discriminator augmentation (StyleGAN2-ADA, as Multi-StyleGAN uses it).

- :class:`AdaAugmentPipeline`: the differentiable geometric augmentations, strength ``p``, one transform per
  sample shared by all its channels and frames.
- :class:`AdaptiveP`: the controller that moves ``p`` by the overfitting heuristic ``r_t = E[sign(D)]``.
- :func:`overfitting_heuristic`: ``r`` of one batch of discriminator outputs.
"""

from .controller import AdaptiveP, overfitting_heuristic
from .geometry import integer_translate, rotate90, rotate_scale, xflip
from .pipeline import MULTISTYLEGAN_SCALE_STD, STAGES, STYLEGAN2_ADA_SCALE_STD, AdaAugmentPipeline

__all__ = [
    "MULTISTYLEGAN_SCALE_STD",
    "STAGES",
    "STYLEGAN2_ADA_SCALE_STD",
    "AdaAugmentPipeline",
    "AdaptiveP",
    "integer_translate",
    "overfitting_heuristic",
    "rotate90",
    "rotate_scale",
    "xflip",
]
