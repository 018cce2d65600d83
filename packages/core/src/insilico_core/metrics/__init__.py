"""Metrics of the five papers: FID, KID, FVD, IS, LPIPS, SSIM, PSNR, C2ST and the strata prediction score.

Functional forms compute a value from tensors; streaming objects (``update(real=..., fake=...)`` then
``compute()``) keep only what the metric needs, so 50k samples never sit in memory. Feature networks
(Inception-v3, I3D, LPIPS backbones) are built here; their weights are read from files (see ``weights``).
"""

from .c2st import CLASSIFIER_OPTIMIZERS, C2STResult, c2st, classifier_loss, gradient_penalty
from .frechet import FrechetDistance, frechet_distance, frechet_distance_from_features, trace_sqrt_product
from .kid import KernelDistance, kid, kid_subset_estimates
from .paired import PairedImageMetric
from .psnr import psnr
from .ssim import gaussian_window, ssim, ssim_map
from .streaming import RunningMoments

__all__ = [
    "CLASSIFIER_OPTIMIZERS",
    "C2STResult",
    "FrechetDistance",
    "KernelDistance",
    "PairedImageMetric",
    "RunningMoments",
    "c2st",
    "classifier_loss",
    "frechet_distance",
    "frechet_distance_from_features",
    "gaussian_window",
    "gradient_penalty",
    "kid",
    "kid_subset_estimates",
    "psnr",
    "ssim",
    "ssim_map",
    "trace_sqrt_product",
]
