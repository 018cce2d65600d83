"""Multinomial logistic regression without penalty, fitted by Newton's method (numpy only).

MSSG predicts cataract | age (UKB retina) and APOE4 | age (NACC) with ``sklearn.linear_model.
LogisticRegression(multi_class='multinomial', penalty=None)``. Unpenalised softmax parameters are defined only
up to a shift shared by all classes; sklearn's solver starts at zero and its gradient sums to zero over the
classes, so it returns the CENTRED solution (``sum_k coef[k] = 0``, ``sum_k intercept[k] = 0``). This fit
does the same: Newton on the ``K - 1`` free classes against class 0 (with a backtracking line search), then
centring.

For two classes sklearn (with ``multi_class='multinomial'``, which MSSG passes; removed in sklearn 1.8, whose
binary fit reports the full logit) reports one row, ``coef[1]`` = half the logit difference, and its
``predict_proba`` is ``sigmoid(2 (x coef[1] + intercept[1]))``. MSSG samples cataract with
``sigmoid(x coef[1] + intercept[1])`` (half the fitted logit, probabilities pulled toward 0.5):
:meth:`MultinomialLogisticRegression.binary_probability` reproduces that with ``half_logit=True`` (the
default, for parity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MultinomialLogisticRegression:
    """``p(class_k | x) = softmax(x coef^T + intercept)_k``.

    Attributes:
        classes: ``[K]`` the class values (sorted, as found in the training labels).
        coef: ``[K, D]`` centred over the classes.
        intercept: ``[K]`` centred over the classes.
    """

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def __post_init__(self) -> None:
        self.classes = np.asarray(self.classes, np.float64).reshape(-1)
        self.intercept = np.asarray(self.intercept, np.float64).reshape(-1)
        self.coef = np.asarray(self.coef, np.float64).reshape(len(self.classes), -1)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-10
    ) -> MultinomialLogisticRegression:
        """Maximum-likelihood fit to inputs ``x [N, D]`` (or ``[N]``) and class labels ``y [N]``.

        Raises ValueError for fewer than two classes. Perfectly separable data have no finite maximum; the
        iterations then stop at ``max_iter`` with large coefficients (as sklearn, which warns).
        """
        x = np.asarray(x, np.float64)
        x = x[:, None] if x.ndim == 1 else x
        classes, index = np.unique(np.asarray(y, np.float64), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"logistic regression needs at least two classes, got {classes.tolist()}")
        if len(x) != len(index):
            raise ValueError(f"logistic regression: {len(x)} inputs but {len(index)} labels")
        n, d = x.shape
        k = len(classes)
        design = np.concatenate([x, np.ones((n, 1))], axis=1)  # [N, D + 1]
        onehot = np.eye(k)[index][:, 1:]  # [N, K - 1], class 0 is the reference
        theta = np.zeros((k - 1, d + 1))

        def objective(t: np.ndarray) -> float:
            logits = np.concatenate([np.zeros((n, 1)), design @ t.T], axis=1)
            return float(-(logits[np.arange(n), index] - _logsumexp(logits)).sum())

        current = objective(theta)
        for _ in range(max_iter):
            probs = _softmax(np.concatenate([np.zeros((n, 1)), design @ theta.T], axis=1))[:, 1:]
            gradient = ((probs - onehot).T @ design).reshape(-1)  # d(-loglik)/d theta
            # Hessian blocks (a, b): sum_n p_a (delta_ab - p_b) x x^T
            weights = probs[:, :, None] * (np.eye(k - 1)[None] - probs[:, None, :])  # [N, K-1, K-1]
            hessian = np.einsum("nab,ni,nj->aibj", weights, design, design).reshape(gradient.size, -1)
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0].reshape(theta.shape)
            scale, candidate = 1.0, theta - step
            value = objective(candidate)
            while not (np.isfinite(value) and value <= current) and scale > 1e-10:
                scale /= 2  # backtracking: halve the Newton step until the likelihood does not drop
                candidate = theta - scale * step
                value = objective(candidate)
            if not (np.isfinite(value) and value <= current):
                break
            theta, previous = candidate, current
            current = value
            if previous - current <= tol * max(1.0, abs(current)):
                break
        full = np.concatenate([np.zeros((1, d + 1)), theta], axis=0)  # [K, D + 1]
        full -= full.mean(axis=0, keepdims=True)
        return cls(classes, full[:, :d], full[:, d])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``x coef^T + intercept`` ``[N, K]``."""
        x = np.asarray(x, np.float64)
        x = x[:, None] if x.ndim == 1 else x
        return x @ self.coef.T + self.intercept[None, :]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``[N, K]``."""
        return _softmax(self.logits(x))

    def binary_probability(self, x: np.ndarray, half_logit: bool = True) -> np.ndarray:
        """``p(class 1 | x)`` ``[N]`` of a two-class model; ``half_logit`` gives MSSG's
        ``sigmoid(x coef[1] + intercept[1])`` instead of the fitted probability."""
        if len(self.classes) != 2:
            raise ValueError(f"binary_probability needs a two-class model, this one has {self.classes}")
        logit = self.logits(x)[:, 1]
        return _sigmoid(logit if half_logit else 2.0 * logit)

    def sample(self, x: np.ndarray, rng: np.random.Generator, half_logit: bool = True) -> np.ndarray:
        """One class value per input row ``[N]``: Bernoulli(:meth:`binary_probability`) for two classes (as
        MSSG's ``torch.bernoulli``), a categorical draw from :meth:`predict_proba` otherwise."""
        if len(self.classes) == 2:
            hits = rng.random(len(np.atleast_1d(x))) < self.binary_probability(x, half_logit)
            return self.classes[hits.astype(int)]
        probs = self.predict_proba(x)
        cumulative = np.cumsum(probs, axis=1)
        u = rng.random(len(probs)) * cumulative[:, -1]
        return self.classes[np.minimum((cumulative < u[:, None]).sum(axis=1), len(self.classes) - 1)]

    def to_dict(self) -> dict:
        return {
            "classes": self.classes.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> MultinomialLogisticRegression:
        return cls(np.array(data["classes"]), np.array(data["coef"]), np.array(data["intercept"]))


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1, keepdims=True)
    return (np.log(np.exp(a - top).sum(axis=1, keepdims=True)) + top)[:, 0]


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))
