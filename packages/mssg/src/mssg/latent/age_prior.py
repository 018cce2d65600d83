"""Age priors of MSSG's latent covariate models (``latent_mle_ms`` / ``latent_mle_real_ms``, spec §5.4).

* :class:`BetaAgePrior` (UKB real-MS, ADNI, NACC): ``age = min + (max - min) Beta(alpha, beta)`` with alpha,
  beta by moments of ``(age - min + 1e-4) / (max - min + 2e-4)`` (``estimate_beta1d(method='moments')``).
* :class:`MixtureAgePrior` (UKB semi-MS: 10 components, retina: 13): a 1-D Gaussian mixture, draws outside
  the training range ``[min, max]`` rejected and redrawn (MSSG redraws one sample at a time).

Both keep the training ``min_age`` / ``max_age``: the latent models min-max normalise ages with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mssg.latent.gaussian_mixture import GaussianMixture, fit_gaussian_mixture


def _ages(age: np.ndarray) -> np.ndarray:
    age = np.asarray(age, np.float64).reshape(-1)
    if len(age) < 2 or not np.isfinite(age).all() or age.min() == age.max():
        raise ValueError(f"an age prior needs >= 2 finite, not all equal ages; got {len(age)} values")
    return age


@dataclass
class BetaAgePrior:
    """``min_age + (max_age - min_age) Beta(alpha, beta)``."""

    alpha: float
    beta: float
    min_age: float
    max_age: float

    @classmethod
    def fit(cls, age: np.ndarray, eps: float = 1e-4) -> BetaAgePrior:
        """Method-of-moments Beta on the ages rescaled into (0, 1) with the margin ``eps``."""
        age = _ages(age)
        lo, hi = float(age.min()), float(age.max())
        x = (age - lo + eps) / (hi - lo + 2 * eps)
        mean, var = x.mean(), x.var()
        common = mean * (1 - mean) / var - 1
        return cls(float(mean * common), float((1 - mean) * common), lo, hi)

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Raw ages ``[count]``."""
        return self.min_age + (self.max_age - self.min_age) * rng.beta(self.alpha, self.beta, count)

    def to_dict(self) -> dict:
        return {
            "kind": "beta",
            "alpha": self.alpha,
            "beta": self.beta,
            "min_age": self.min_age,
            "max_age": self.max_age,
        }


@dataclass
class MixtureAgePrior:
    """A 1-D Gaussian mixture truncated to ``[min_age, max_age]`` by rejection."""

    mixture: GaussianMixture
    min_age: float
    max_age: float

    @classmethod
    def fit(cls, age: np.ndarray, n_components: int, seed: int = 0) -> MixtureAgePrior:
        age = _ages(age)
        return cls(fit_gaussian_mixture(age, n_components, seed=seed), float(age.min()), float(age.max()))

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Raw ages ``[count]``, each inside ``[min_age, max_age]``."""
        kept = np.empty(0)
        while len(kept) < count:
            draw = self.mixture.sample(2 * (count - len(kept)) + 8, rng)[:, 0]
            kept = np.concatenate([kept, draw[(draw >= self.min_age) & (draw <= self.max_age)]])
        return kept[:count]

    def to_dict(self) -> dict:
        return {
            "kind": "gmm",
            "mixture": self.mixture.to_dict(),
            "min_age": self.min_age,
            "max_age": self.max_age,
        }


AgePrior = BetaAgePrior | MixtureAgePrior


def age_prior_from_dict(data: dict) -> AgePrior:
    """Inverse of ``to_dict()`` of either prior."""
    kind = data.get("kind")
    if kind == "beta":
        return BetaAgePrior(
            float(data["alpha"]), float(data["beta"]), float(data["min_age"]), float(data["max_age"])
        )
    if kind == "gmm":
        return MixtureAgePrior(
            GaussianMixture.from_dict(data["mixture"]), float(data["min_age"]), float(data["max_age"])
        )
    raise ValueError(f"unknown age prior kind {kind!r} (expected 'beta' or 'gmm')")
