"""Gaussian-mixture regression (GMR): ``p(y | x)`` from a Gaussian mixture fitted to joint ``[x, y]`` samples.

For component ``k`` with blocks ``mu = [mu_x, mu_y]``, ``Sigma = [[S_xx, S_xy], [S_yx, S_yy]]``:

* responsibility ``r_k(x) = w_k N(x; mu_x, S_xx) / sum_j w_j N(x; mu_x_j, S_xx_j)`` (the marginal over x);
* conditional mean ``m_k(x) = mu_y + S_yx S_xx^-1 (x - mu_x)``;
* conditional covariance ``S_yy - S_yx S_xx^-1 S_xy``.

MSSG (``latent_mle_ms.sample_from_gmm_custom``, on ``gmr.GMM``) samples ``y | x`` by picking ``k ~ r(x)`` and
drawing from ``N(m_k(x), S_yy)``: the MARGINAL output covariance of the component, not the conditional one
(spec §5.4, §7). That is the default here for parity; ``conditional_covariance=True`` draws from the correct
conditional distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mssg.latent.gaussian_mixture import GaussianMixture, fit_gaussian_mixture


@dataclass
class GaussianMixtureRegression:
    """A joint mixture over ``[x (n_inputs columns), y]`` used to predict / sample ``y`` given ``x``."""

    mixture: GaussianMixture
    n_inputs: int

    def __post_init__(self) -> None:
        if not 0 < self.n_inputs < self.mixture.dim:
            raise ValueError(
                f"GaussianMixtureRegression: n_inputs must be in [1, {self.mixture.dim - 1}] for a "
                f"{self.mixture.dim}-dimensional mixture, got {self.n_inputs}"
            )

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, n_components: int, seed: int = 0) -> GaussianMixtureRegression:
        """EM on the joint samples ``[x [N, Dx], y [N, Dy]]`` (1-D arrays are single columns)."""
        x, y = _columns(x), _columns(y)
        if len(x) != len(y):
            raise ValueError(f"GaussianMixtureRegression.fit: {len(x)} inputs but {len(y)} outputs")
        mixture = fit_gaussian_mixture(np.concatenate([x, y], axis=1), n_components, seed=seed)
        return cls(mixture, x.shape[1])

    @property
    def n_outputs(self) -> int:
        return self.mixture.dim - self.n_inputs

    def _blocks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(S_xx [K, Dx, Dx], S_yx [K, Dy, Dx], S_yy [K, Dy, Dy])."""
        cov, d = self.mixture.covariances, self.n_inputs
        return cov[:, :d, :d], cov[:, d:, :d], cov[:, d:, d:]

    def condition(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(responsibilities ``[N, K]``, conditional means ``[N, K, Dy]``) given inputs ``x [N, Dx]``."""
        x = _columns(x)
        if x.shape[1] != self.n_inputs:
            raise ValueError(f"GaussianMixtureRegression: inputs need {self.n_inputs} columns, got {x.shape}")
        responsibilities = self.mixture.marginal(range(self.n_inputs)).responsibilities(x)
        s_xx, s_yx, _ = self._blocks()
        mu_x, mu_y = self.mixture.means[:, : self.n_inputs], self.mixture.means[:, self.n_inputs :]
        coefficients = np.linalg.solve(s_xx, s_yx.transpose(0, 2, 1)).transpose(0, 2, 1)  # S_yx S_xx^-1
        diff = x[:, None, :] - mu_x[None, :, :]  # [N, K, Dx]
        means = mu_y[None] + np.einsum("kij,nkj->nki", coefficients, diff)
        return responsibilities, means

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Conditional mean ``E[y | x]`` ``[N, Dy]``."""
        responsibilities, means = self.condition(x)
        return np.einsum("nk,nki->ni", responsibilities, means)

    def output_covariances(self, conditional_covariance: bool = False) -> np.ndarray:
        """Per-component covariances ``[K, Dy, Dy]`` the sampler draws with (marginal ``S_yy`` by default)."""
        s_xx, s_yx, s_yy = self._blocks()
        if not conditional_covariance:
            return s_yy
        return s_yy - s_yx @ np.linalg.solve(s_xx, s_yx.transpose(0, 2, 1))

    def sample(
        self, x: np.ndarray, rng: np.random.Generator, conditional_covariance: bool = False
    ) -> np.ndarray:
        """One ``y`` per input row ``[N, Dy]``: component ``k ~ r(x)``, then ``N(m_k(x), cov_k)`` with the
        marginal (MSSG) or conditional output covariance."""
        responsibilities, means = self.condition(x)
        cumulative = np.cumsum(responsibilities, axis=1)
        u = rng.random(len(cumulative)) * cumulative[:, -1]
        components = np.minimum((cumulative < u[:, None]).sum(axis=1), self.mixture.n_components - 1)
        chol = np.linalg.cholesky(self.output_covariances(conditional_covariance))
        noise = rng.standard_normal((len(components), self.n_outputs))
        rows = np.arange(len(components))
        return means[rows, components] + np.einsum("nij,nj->ni", chol[components], noise)

    def to_dict(self) -> dict:
        return {"n_inputs": self.n_inputs, "mixture": self.mixture.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> GaussianMixtureRegression:
        return cls(GaussianMixture.from_dict(data["mixture"]), int(data["n_inputs"]))


def _columns(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a[:, None] if a.ndim == 1 else a
