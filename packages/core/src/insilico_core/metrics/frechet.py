"""Fréchet distance between two Gaussians: the formula behind FID and FVD.

    d² = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^{1/2}

The trace of the matrix square root is computed from eigenvalues, not with an iterative ``sqrtm``: the
eigenvalues of Σ₁Σ₂ are those of the symmetric positive semi-definite matrix A Σ₂ Aᵀ for any factor Σ₁ = AᵀA,
so Tr (Σ₁Σ₂)^{1/2} = Σᵢ √max(λᵢ, 0). The factor is a Cholesky factor Σ₁ = LLᵀ when either covariance is
numerically positive definite; LAPACK then forms LᵀΣ₂L (``dsygst``, which uses the symmetry of the result:
half the work of two matrix products) and its eigenvalues (``dsyevd``). Otherwise it is the
eigen-decomposition square root diag(√w) Vᵀ on Σ₁'s range, which stays exact for rank-deficient covariances
(fewer samples than dimensions), where scipy's ``sqrtm`` of the non-symmetric product Σ₁Σ₂ returns complex
noise. All arithmetic here is float64 on the CPU, whatever device the statistics come from (they are only
``[D, D]``; covariances from float32 features: see :mod:`.streaming`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch
from scipy.linalg import lapack

from .checks import as_feature_matrix, check_finite
from .streaming import RunningMoments


def _as_float64(array, name: str) -> np.ndarray:
    """``array`` (tensor on any device, or array-like) as a float64 numpy array, checked for NaN/infinity."""
    tensor = torch.as_tensor(array).detach().to("cpu", torch.float64)
    check_finite(tensor, name)
    return tensor.numpy()


def _as_gaussian(mu, sigma, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (mean, covariance) as float64 numpy arrays, checking shapes and values."""
    mu, sigma = _as_float64(mu, f"mu{index}"), _as_float64(sigma, f"sigma{index}")
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"mu{index}, sigma{index}: expected a mean [D] and a covariance [D, D], "
            f"got {tuple(mu.shape)} and {tuple(sigma.shape)}"
        )
    return mu, sigma


def _product_eigenvalues(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """The eigenvalues of Σ₁Σ₂, as those of a symmetric positive semi-definite matrix (float64 ``[K]``, K<=D).

    ``LᵀΣ₂L`` with the Cholesky factor ``Σ₁ = LLᵀ`` or, failing that, ``LᵀΣ₁L`` with ``Σ₂``'s (the trace is
    symmetric in the two); when both are singular, ``AΣ₂Aᵀ`` with Σ₁'s eigen-decomposition square root
    ``A = diag(√w) Vᵀ`` restricted to its numerical range (eigenvalues above d · eps · max), which drops
    only directions that contribute nothing but rounding noise. Reads the matrices' upper triangles (the
    column-major view LAPACK takes of row-major symmetric arrays is their transpose: no copies).
    """
    for first, second in ((sigma1, sigma2), (sigma2, sigma1)):
        cholesky, info = lapack.dpotrf(first.T, lower=1, clean=0)
        if info == 0:
            product, info = lapack.dsygst(second.T, cholesky, itype=3, lower=1)
            if info != 0:
                raise RuntimeError(f"LAPACK dsygst failed with info={info}")
            return scipy.linalg.eigh(
                product, lower=True, eigvals_only=True, driver="evd", overwrite_a=True, check_finite=False
            )
    eigenvalues, eigenvectors = np.linalg.eigh(sigma1)
    keep = eigenvalues > eigenvalues.max() * sigma1.shape[0] * np.finfo(sigma1.dtype).eps
    factor = (eigenvectors[:, keep] * np.sqrt(eigenvalues[keep])).T
    product = factor @ sigma2 @ factor.T
    return np.linalg.eigvalsh((product + product.T) / 2)  # remove rounding asymmetry


def _trace_sqrt(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    return float(np.sqrt(np.clip(_product_eigenvalues(sigma1, sigma2), 0, None)).sum())


def trace_sqrt_product(sigma1, sigma2) -> float:
    """Tr (Σ₁Σ₂)^{1/2} of symmetric positive semi-definite ``[D, D]`` matrices (tensors or arrays)."""
    sigma1, sigma2 = _as_float64(sigma1, "sigma1"), _as_float64(sigma2, "sigma2")
    if sigma1.ndim != 2 or sigma1.shape[0] != sigma1.shape[1] or sigma1.shape != sigma2.shape:
        raise ValueError(
            "sigma1, sigma2: expected two covariances [D, D] of one size, "
            f"got {sigma1.shape} and {sigma2.shape}"
        )
    return _trace_sqrt(sigma1, sigma2)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); means ``[D]``, covariances ``[D, D]``.

    Accepts tensors (any device) or numpy arrays; computes in float64 and returns a Python float (>= 0 up
    to rounding).
    """
    mu1, sigma1 = _as_gaussian(mu1, sigma1, 1)
    mu2, sigma2 = _as_gaussian(mu2, sigma2, 2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"expected two Gaussians of one dimension, got {mu1.shape[0]} and {mu2.shape[0]}")
    mean_term = np.square(mu1 - mu2).sum()
    return float(mean_term + np.trace(sigma1) + np.trace(sigma2) - 2 * _trace_sqrt(sigma1, sigma2))


def frechet_distance_from_features(features1: torch.Tensor, features2: torch.Tensor, ddof: int = 1) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets ``[N1, D]`` and ``[N2, D]``."""
    stats = []
    for name, features in (("features1", features1), ("features2", features2)):
        moments = RunningMoments()
        moments.update(as_feature_matrix(features, name, min_samples=ddof + 1, dtype=None))
        stats += [moments.mean, moments.covariance(ddof)]
    return frechet_distance(*stats)


class FrechetDistance:
    """Streaming Fréchet distance (FID with an Inception extractor, FVD with an I3D extractor).

    ``update(real=..., fake=...)`` takes batches of inputs; with ``extractor=None`` they are feature matrices
    ``[B, D]``, otherwise whatever ``extractor`` maps to ``[B, D]`` (e.g. images ``[B, C, H, W]``), run
    without gradients. Only running means and covariances are kept (``O(D²)`` memory). ``compute()``
    returns the distance. Real statistics may be reused across evaluations: ``real_moments`` is a plain
    attribute.
    """

    def __init__(
        self, extractor: Callable[[torch.Tensor], torch.Tensor] | None = None, ddof: int = 1
    ) -> None:
        self.extractor = extractor
        self.ddof = ddof
        self.real_moments = RunningMoments()
        self.fake_moments = RunningMoments()

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        if self.extractor is None:
            return batch
        with torch.no_grad():
            return self.extractor(batch)

    def update(self, real: torch.Tensor | None = None, fake: torch.Tensor | None = None) -> None:
        """Add a batch of real and/or generated samples."""
        if real is not None:
            self.real_moments.update(self._features(real))
        if fake is not None:
            self.fake_moments.update(self._features(fake))

    def compute(self) -> float:
        """The Fréchet distance between the real and generated statistics gathered so far."""
        for name, moments in (("real", self.real_moments), ("fake", self.fake_moments)):
            if moments.count <= self.ddof:
                raise ValueError(f"{name}: expected at least {self.ddof + 1} samples, got {moments.count}")
        return frechet_distance(
            self.real_moments.mean,
            self.real_moments.covariance(self.ddof),
            self.fake_moments.mean,
            self.fake_moments.covariance(self.ddof),
        )
