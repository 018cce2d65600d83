"""Fréchet distance between two Gaussians: the formula behind FID and FVD.

    d² = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^{1/2}

The trace of the matrix square root is computed from eigenvalues, not with an iterative ``sqrtm``: the
eigenvalues of Σ₁Σ₂ are those of the symmetric positive semi-definite matrix A Σ₂ Aᵀ for any factor Σ₁ = AᵀA,
so Tr (Σ₁Σ₂)^{1/2} = Σᵢ √max(λᵢ, 0). The factor is a Cholesky factor when either covariance is numerically
positive definite (fast: one O(d³/3) factorisation) and otherwise the eigen-decomposition square root
diag(√w) Vᵀ on Σ₁'s range, which stays exact for rank-deficient covariances (fewer samples than
dimensions), where scipy's ``sqrtm`` of the non-symmetric product Σ₁Σ₂ returns complex noise. All
arithmetic here is float64 (covariances from float32 features: see :mod:`.streaming`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .checks import as_feature_matrix, check_finite
from .streaming import RunningMoments
from .symmetric_products import congruence


def _as_gaussian(mu, sigma, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (mean, covariance) as float64 tensors on one device, checking shapes and values."""
    mu = torch.as_tensor(mu).to(torch.float64)
    sigma = torch.as_tensor(sigma).to(device=mu.device, dtype=torch.float64)
    if mu.dim() != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"mu{index}, sigma{index}: expected a mean [D] and a covariance [D, D], "
            f"got {tuple(mu.shape)} and {tuple(sigma.shape)}"
        )
    check_finite(mu, f"mu{index}")
    check_finite(sigma, f"sigma{index}")
    return mu, sigma


def _whitened_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """A symmetric positive semi-definite matrix whose eigenvalues are those of Σ₁Σ₂.

    ``LᵀΣ₂L`` with the Cholesky factor ``Σ₁ = LLᵀ`` or, failing that, ``LᵀΣ₁L`` with ``Σ₂``'s (the trace is
    symmetric in the two); when both are singular, ``AΣ₂Aᵀ`` with Σ₁'s eigen-decomposition square root
    ``A = diag(√w) Vᵀ`` restricted to its numerical range (eigenvalues above d · eps · max), which drops
    only directions that contribute nothing but rounding noise. May have zero rows and columns.
    """
    for first, second in ((sigma1, sigma2), (sigma2, sigma1)):
        cholesky, info = torch.linalg.cholesky_ex(first)
        if int(info) == 0:
            return congruence(cholesky, second)
    eigenvalues, eigenvectors = torch.linalg.eigh(sigma1)
    keep = eigenvalues > eigenvalues.max() * sigma1.shape[0] * torch.finfo(sigma1.dtype).eps
    factor = (eigenvectors[:, keep] * eigenvalues[keep].sqrt()).T
    product = factor @ sigma2 @ factor.T
    return (product + product.T) / 2  # remove rounding asymmetry


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """Tr (Σ₁Σ₂)^{1/2} for symmetric positive semi-definite ``[D, D]`` matrices (float64 scalar tensor)."""
    product = _whitened_product(sigma1, sigma2)
    if product.shape[0] == 0:
        return torch.zeros((), dtype=sigma1.dtype, device=sigma1.device)
    return torch.linalg.eigvalsh(product).clamp(min=0).sqrt().sum()


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); means ``[D]``, covariances ``[D, D]``.

    Accepts tensors or numpy arrays; computes in float64 and returns a Python float (>= 0 up to rounding).
    """
    mu1, sigma1 = _as_gaussian(mu1, sigma1, 1)
    mu2, sigma2 = _as_gaussian(mu2, sigma2, 2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"expected two Gaussians of one dimension, got {mu1.shape[0]} and {mu2.shape[0]}")
    sigma2 = sigma2.to(sigma1.device)
    mu2 = mu2.to(mu1.device)
    mean_term = (mu1 - mu2).square().sum()
    trace_term = sigma1.trace() + sigma2.trace() - 2 * trace_sqrt_product(sigma1, sigma2)
    return float(mean_term + trace_term)


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
