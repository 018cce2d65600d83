"""Metrics of the five papers: FID, KID, FVD, IS, LPIPS, SSIM, PSNR, C2ST, reconstruction errors and the
strata prediction score.

Functional forms compute a value from tensors; streaming objects (``update(real=..., fake=...)`` then
``compute()``) keep only what the metric needs, so 50k samples never sit in memory. Feature networks
(Inception-v3, I3D, LPIPS backbones) are built here; their weights are read from files (:mod:`.weights`,
``insilico-core weights list``), never downloaded implicitly.
"""

from .c2st import CLASSIFIER_OPTIMIZERS, C2STResult, c2st, classifier_loss, gradient_penalty
from .feature_extraction import batched, extract_features
from .frechet import FrechetDistance, frechet_distance, frechet_distance_from_features, trace_sqrt_product
from .i3d import I3DFeatures, InceptionI3d, load_i3d
from .inception import InceptionFeatures, InceptionV3, load_inception, normalize_per_sample
from .inception_score import InceptionScore, inception_score
from .kid import KernelDistance, kid, kid_subset_estimates
from .lpips import LPIPS, load_lpips, lpips
from .paired import PairedImageMetric
from .psnr import psnr
from .reconstruction import ReconstructionResult, gaussian_nll, nearest_neighbour_distance, reconstruct
from .ssim import gaussian_window, ssim, ssim_map
from .strata import StrataPredictionResult, StratumScore, strata_edges, strata_prediction_score
from .streaming import RunningMoments
from .weights import REGISTRY, WeightsFile, fetch_weights, resolve_weights, verify_weights

__all__ = [
    "CLASSIFIER_OPTIMIZERS",
    "LPIPS",
    "REGISTRY",
    "C2STResult",
    "FrechetDistance",
    "I3DFeatures",
    "InceptionFeatures",
    "InceptionI3d",
    "InceptionScore",
    "InceptionV3",
    "KernelDistance",
    "PairedImageMetric",
    "ReconstructionResult",
    "RunningMoments",
    "StrataPredictionResult",
    "StratumScore",
    "WeightsFile",
    "batched",
    "c2st",
    "classifier_loss",
    "extract_features",
    "fetch_weights",
    "frechet_distance",
    "frechet_distance_from_features",
    "gaussian_nll",
    "gaussian_window",
    "gradient_penalty",
    "inception_score",
    "kid",
    "kid_subset_estimates",
    "load_i3d",
    "load_inception",
    "load_lpips",
    "lpips",
    "nearest_neighbour_distance",
    "normalize_per_sample",
    "psnr",
    "reconstruct",
    "resolve_weights",
    "ssim",
    "ssim_map",
    "strata_edges",
    "strata_prediction_score",
    "trace_sqrt_product",
    "verify_weights",
]
