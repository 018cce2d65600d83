"""Gaussian mixture with full covariances, fitted by expectation-maximisation (numpy only).

MSSG fits its age priors with ``sklearn.mixture.GaussianMixture`` and the joint (age, volume) densities of its
mixture regressions with ``gmr.GMM.from_samples``. This module is the one EM both use here, with sklearn's
conventions: k-means++ seeding followed by Lloyd iterations to get the initial hard assignment (sklearn's
``init_params='kmeans'``), ``reg_covar`` added to every covariance diagonal, and convergence when the mean
log-likelihood per sample changes by less than ``tol`` between iterations. Unlike the original (sklearn
unseeded, gmr with its own random initialisation), the seed is explicit, so a fit is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class GaussianMixture:
    """``p(x) = sum_k weights[k] N(x; means[k], covariances[k])``.

    Attributes:
        weights: ``[K]``, non-negative, summing to 1.
        means: ``[K, D]``.
        covariances: ``[K, D, D]``, symmetric positive definite.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, np.float64).reshape(-1)
        self.means = np.asarray(self.means, np.float64).reshape(len(self.weights), -1)
        dim = self.means.shape[1]
        self.covariances = np.asarray(self.covariances, np.float64).reshape(len(self.weights), dim, dim)

    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def component_log_densities(self, x: np.ndarray) -> np.ndarray:
        """``log N(x_n; mean_k, cov_k)`` as ``[N, K]`` for points ``x [N, D]``."""
        x = _as_points(x, self.dim)
        chol = np.linalg.cholesky(self.covariances)  # [K, D, D]
        log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)  # [K]
        diff = x[None, :, :] - self.means[:, None, :]  # [K, N, D]
        solved = np.linalg.solve(chol, diff.transpose(0, 2, 1))  # [K, D, N]
        mahalanobis = (solved**2).sum(axis=1)  # [K, N]
        return (-0.5 * (self.dim * _LOG_2PI + log_det[:, None] + mahalanobis)).T

    def weighted_log_densities(self, x: np.ndarray) -> np.ndarray:
        """``log weights[k] + log N(x_n; k)`` as ``[N, K]``."""
        with np.errstate(divide="ignore"):
            return self.component_log_densities(x) + np.log(self.weights)[None, :]

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """``log p(x_n)`` per point, ``[N]``."""
        return _logsumexp(self.weighted_log_densities(x))

    def mean_log_likelihood(self, x: np.ndarray) -> float:
        """Average log-likelihood per point (sklearn's ``score``)."""
        return float(self.log_likelihood(x).mean())

    def responsibilities(self, x: np.ndarray) -> np.ndarray:
        """Posterior component probabilities ``[N, K]`` (rows sum to 1)."""
        weighted = self.weighted_log_densities(x)
        return np.exp(weighted - _logsumexp(weighted)[:, None])

    def marginal(self, indices: list[int] | np.ndarray) -> GaussianMixture:
        """The mixture of the dimensions ``indices`` (same weights, restricted means and covariances)."""
        idx = np.asarray(indices, int)
        return GaussianMixture(self.weights, self.means[:, idx], self.covariances[:, idx][:, :, idx])

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` points ``[count, D]``: a component by weight, then a Gaussian draw from it."""
        components = rng.choice(self.n_components, size=count, p=self.weights / self.weights.sum())
        chol = np.linalg.cholesky(self.covariances)
        noise = rng.standard_normal((count, self.dim))
        return self.means[components] + np.einsum("nij,nj->ni", chol[components], noise)

    def to_dict(self) -> dict:
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> GaussianMixture:
        return cls(np.array(data["weights"]), np.array(data["means"]), np.array(data["covariances"]))


def _as_points(x: np.ndarray, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"points must have shape [N, {dim if dim is not None else 'D'}], got {x.shape}")
    return x


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """``log sum_k exp(a[:, k])`` per row, stable; rows of all ``-inf`` give ``-inf``."""
    top = a.max(axis=1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - safe[:, None]).sum(axis=1)) + safe


def kmeans_plusplus(x: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): first centre uniform, each next one drawn with
    probability proportional to the squared distance to the nearest centre chosen so far.

    Returns the centres ``[n_clusters, D]``."""
    x = _as_points(x)
    centres = [x[rng.integers(len(x))]]
    closest = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, n_clusters):
        total = closest.sum()
        pick = rng.integers(len(x)) if total <= 0 else rng.choice(len(x), p=closest / total)
        centres.append(x[pick])
        closest = np.minimum(closest, ((x - x[pick]) ** 2).sum(axis=1))
    return np.stack(centres)


def kmeans_labels(
    x: np.ndarray, n_clusters: int, rng: np.random.Generator, max_iter: int = 300
) -> np.ndarray:
    """Hard cluster labels ``[N]`` of k-means (k-means++ seeds, then Lloyd iterations until stable)."""
    x = _as_points(x)
    centres = kmeans_plusplus(x, n_clusters, rng)
    labels = np.full(len(x), -1)
    for _ in range(max_iter):
        distances = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new_labels = distances.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for k in range(n_clusters):
            members = x[labels == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    return labels


def _maximization(x: np.ndarray, resp: np.ndarray, reg_covar: float) -> GaussianMixture:
    """M-step: weights, means and covariances from responsibilities ``[N, K]`` (sklearn's estimates, with
    ``10 eps`` added to the component sizes so an empty component cannot divide by zero)."""
    sizes = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps  # [K]
    means = resp.T @ x / sizes[:, None]
    diff = x[None, :, :] - means[:, None, :]  # [K, N, D]
    covariances = np.einsum("kn,kni,knj->kij", resp.T, diff, diff) / sizes[:, None, None]
    covariances += reg_covar * np.eye(x.shape[1])[None]
    return GaussianMixture(sizes / len(x), means, covariances)


def fit_gaussian_mixture(
    x: np.ndarray,
    n_components: int,
    seed: int = 0,
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> GaussianMixture:
    """Maximum-likelihood mixture of ``n_components`` full-covariance Gaussians for points ``x [N, D]``
    (or ``[N]``).

    Initialisation: k-means labels (seeded by ``seed``) as hard responsibilities, then an M-step. EM stops
    when the mean log-likelihood changes by less than ``tol`` (sklearn's defaults: ``reg_covar`` 1e-6,
    ``tol`` 1e-3, at most 100 iterations).
    """
    x = _as_points(x)
    if not np.isfinite(x).all():
        raise ValueError("fit_gaussian_mixture: the points contain NaN or infinite values")
    if n_components < 1 or len(x) < n_components:
        raise ValueError(
            f"fit_gaussian_mixture: need at least n_components={n_components} >= 1 points, got {len(x)}"
        )
    rng = np.random.default_rng(seed)
    labels = kmeans_labels(x, n_components, rng)
    mixture = _maximization(x, np.eye(n_components)[labels], reg_covar)
    previous = -np.inf
    for _ in range(max_iter):
        weighted = mixture.weighted_log_densities(x)
        per_point = _logsumexp(weighted)
        current = float(per_point.mean())
        mixture = _maximization(x, np.exp(weighted - per_point[:, None]), reg_covar)
        if abs(current - previous) < tol:
            break
        previous = current
    return mixture
