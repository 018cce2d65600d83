"""Morpho-MNIST latent covariate models (MSSG ``latent_dist_morphomnist.MorphoSampler``, spec §5.4).

Source1 observes (thickness, intensity), source2 (thickness, slant); both share thickness. A model fitted on
one source's TRAIN labels predicts its second covariate from thickness, and is used to complete the OTHER
source's label vectors:

* learned (``--use_ground_truth False``): thickness ~ min + (max - min) Beta(alpha, beta) with alpha, beta by
  moments of ``(t - min + 1e-4) / (max - min + 2e-4)``; ``y = f(t + N(0, residual_std))`` with
  ``f(t) = c / (1 + exp(-a (t - b))) + d`` fitted by least squares (Levenberg-Marquardt from MSSG's initial
  guesses p0 = [1, 0, mean, mean] for intensity, [1, 0, max, min] for slant, restarted from a data-driven
  guess when that fit is flat over the data); ``residual_std`` = std of ``f^-1(f(t)) - f^-1(y)`` over the
  samples where ``f^-1(y)`` exists (MSSG takes the plain std, which is NaN as soon as one ``y`` lies outside
  the range of f); digit priors = class frequencies;
* ground truth (``--use_ground_truth True``): the simulator's equations, intensity = 191 sigmoid(2t - 5 +
  N(0, 0.5)) + 64, slant = 56 tanh(t - 2.5 + N(0, 0.3)), thickness = 0.5 + Gamma(10, rate 5).

Unlike MSSG (which refits at every start-up and saves nothing), fitted models are saved as JSON next to the
checkpoints (:meth:`MorphoCovariateModel.save` / :func:`mssg.latent.load_latent_model`) and reused by
evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mssg.latent.model_file import LATENT_MODEL_VERSION, write_model_json

MORPHO_TARGETS = {"source1": "intensity", "source2": "slant"}


def _logistic(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` written through tanh, so large ``|x|`` saturates instead of overflowing."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sigmoid_curve(t: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """``c / (1 + exp(-a (t - b))) + d``."""
    return c * _logistic(a * (t - b)) + d


def inverse_sigmoid_curve(y: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """``f^-1(y) = b - log(c / (y - d) - 1) / a`` (NaN outside the range of f)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return b - np.log(c / (y - d) - 1.0) / a


def fit_sigmoid_curve(t: np.ndarray, y: np.ndarray, p0: list[float], iterations: int = 500) -> np.ndarray:
    """Least-squares fit of :func:`sigmoid_curve` (Levenberg-Marquardt, as ``scipy.optimize.curve_fit``)."""
    t, y = np.asarray(t, np.float64), np.asarray(y, np.float64)
    p = np.asarray(p0, np.float64)
    damping = 1e-3

    def residual(q: np.ndarray) -> np.ndarray:
        return sigmoid_curve(t, *q) - y

    cost = float(np.sum(residual(p) ** 2))
    for _ in range(iterations):
        a, b, c, _d = p
        s = _logistic(a * (t - b))
        jac = np.stack([c * s * (1 - s) * (t - b), -c * s * (1 - s) * a, s, np.ones_like(t)], axis=1)
        r = residual(p)
        jtj, jtr = jac.T @ jac, jac.T @ r
        step = np.linalg.solve(jtj + damping * np.diag(np.diag(jtj) + 1e-12), -jtr)
        candidate = p + step
        new_cost = float(np.sum(residual(candidate) ** 2))
        if np.isfinite(new_cost) and new_cost < cost:
            converged = cost - new_cost <= 1e-12 * max(cost, 1e-300)
            p, cost, damping = candidate, new_cost, damping / 3
            if converged:
                break
        else:
            damping *= 4
            if damping > 1e12:
                break
    return p


@dataclass
class MorphoCovariateModel:
    """Thickness prior and ``target | thickness`` of one Morpho-MNIST source (fitted or ground truth).

    ``target`` is 'intensity' (fitted on source1) or 'slant' (source2); ``params`` = (a, b, c, d) of f.
    """

    target: str
    use_ground_truth: bool = False
    params: list[float] = field(default_factory=list)
    residual_std: float = 0.0
    alpha_thickness: float = 0.0
    beta_thickness: float = 0.0
    min_thickness: float = 0.0
    max_thickness: float = 0.0
    digit_probs: dict[str, float] = field(default_factory=dict)

    @classmethod
    def ground_truth(cls, target: str) -> MorphoCovariateModel:
        """The simulator's structural equations (``--use_ground_truth True``)."""
        if target not in ("intensity", "slant"):
            raise ValueError(f"target must be 'intensity' or 'slant', got {target!r}")
        return cls(target=target, use_ground_truth=True, digit_probs={str(k): 0.1 for k in range(10)})

    @classmethod
    def fit(
        cls, thickness: np.ndarray, values: np.ndarray, digits: np.ndarray, target: str
    ) -> MorphoCovariateModel:
        """Fit to one source's RAW train labels: thickness, its second covariate ``target``, digit classes."""
        if target not in ("intensity", "slant"):
            raise ValueError(f"target must be 'intensity' or 'slant', got {target!r}")
        t, y = np.asarray(thickness, np.float64), np.asarray(values, np.float64)
        if len(t) < 4 or len(t) != len(y):
            raise ValueError(f"need >= 4 paired thickness/{target} labels, got {len(t)} and {len(y)}")
        lo, hi = float(t.min()), float(t.max())
        x = (t - lo + 1e-4) / (hi - lo + 2e-4)
        mean, var = x.mean(), x.var()
        common = mean * (1 - mean) / var - 1
        p0 = [1.0, 0.0, y.mean(), y.mean()] if target == "intensity" else [1.0, 0.0, y.max(), y.min()]
        # MSSG's initial guess; when its fit is flat over the data (f^-1 undefined, so no residual noise),
        # restart from a data-driven guess: slope sign of the data, centre at the median thickness, span of
        # the values.
        slope = np.sign(np.corrcoef(t, y)[0, 1]) or 1.0
        starts = [
            p0,
            [
                4.0 / (hi - lo),
                float(np.median(t)),
                slope * (y.max() - y.min()) * 1.2,
                (y.min() if slope > 0 else y.max()) - 0.1 * (y.max() - y.min()),
            ],
        ]
        for start in starts:
            params = fit_sigmoid_curve(t, y, start)
            residual = inverse_sigmoid_curve(sigmoid_curve(t, *params), *params) - inverse_sigmoid_curve(
                y, *params
            )
            if np.isfinite(residual).any():
                break
        if not np.isfinite(residual).any():
            raise ValueError(
                f"the {target} | thickness curve fitted to {len(t)} labels is flat over the data (parameters "
                f"{params.tolist()}), so its residual noise cannot be estimated; fit on more training labels"
            )
        classes, counts = np.unique(np.rint(digits).astype(int), return_counts=True)
        return cls(
            target=target,
            params=[float(p) for p in params],
            residual_std=float(np.nanstd(residual)),
            alpha_thickness=float(mean * common),
            beta_thickness=float((1 - mean) * common),
            min_thickness=lo,
            max_thickness=hi,
            digit_probs={str(k): float(n / counts.sum()) for k, n in zip(classes, counts, strict=True)},
        )

    def sample_target(self, thickness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Raw ``target`` values ``[N]`` given raw thickness ``[N]`` (with the model's noise)."""
        t = np.asarray(thickness, np.float64)
        if self.use_ground_truth:
            if self.target == "intensity":
                return 191.0 / (1.0 + np.exp(-(rng.normal(0.0, 0.5, t.shape) + 2 * t - 5))) + 64.0
            return 56.0 * np.tanh(rng.normal(0.0, 0.3, t.shape) + t - 2.5)
        return sigmoid_curve(t + rng.normal(0.0, self.residual_std, t.shape), *self.params)

    def sample_thickness(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Raw thickness ``[count]`` from the prior."""
        if self.use_ground_truth:
            return 0.5 + rng.gamma(10.0, 1 / 5.0, count)
        span = self.max_thickness - self.min_thickness
        return self.min_thickness + span * rng.beta(self.alpha_thickness, self.beta_thickness, count)

    def save(self, path: str | Path) -> Path:
        """Write all parameters as versioned JSON (atomically)."""
        return write_model_json(self.to_dict(), path)

    def to_dict(self) -> dict:
        return {"kind": "morpho", "version": LATENT_MODEL_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> MorphoCovariateModel:
        return cls(**{k: v for k, v in data.items() if k not in ("kind", "version")})
