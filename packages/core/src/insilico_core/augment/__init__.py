"""Adaptive discriminator augmentation (StyleGAN2-ADA, as Multi-StyleGAN uses it).

- :class:`AdaAugmentPipeline`: the differentiable geometric augmentations, strength ``p``, one transform per
  sample shared by all its channels and frames.
- :class:`AdaptiveP`: the controller that moves ``p`` by the overfitting heuristic ``r_t = E[sign(D)]``.
- :func:`overfitting_heuristic`: ``r`` of one batch of discriminator outputs.
- :class:`AugmentPipe`: StyleGAN2-ADA's full pipeline (geometric, colour, filtering, corruption stages;
  NVlabs argument names and state-dict keys), with the ``--augpipe`` presets :data:`AUGPIPE_PRESETS`.
"""

from .controller import AdaptiveP, overfitting_heuristic
from .geometry import integer_translate, rotate90, rotate_scale, xflip
from .pipeline import MULTISTYLEGAN_SCALE_STD, STAGES, STYLEGAN2_ADA_SCALE_STD, AdaAugmentPipeline
from .stylegan2_ada import AUGPIPE_PRESETS, AugmentPipe

__all__ = [
    "AUGPIPE_PRESETS",
    "MULTISTYLEGAN_SCALE_STD",
    "STAGES",
    "STYLEGAN2_ADA_SCALE_STD",
    "AdaAugmentPipeline",
    "AdaptiveP",
    "AugmentPipe",
    "integer_translate",
    "overfitting_heuristic",
    "rotate90",
    "rotate_scale",
    "xflip",
]
