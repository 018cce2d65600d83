"""Independent Bernoulli covariates: MSSG's real multi-source models of RFMiD and EyePACS
(``latent_mle_real_ms.estimate_model``, spec §5.4).

* EyePACS: ``level > 0`` ~ Bernoulli(fraction of diseased training images).
* RFMiD: MH ~ Bernoulli(p_MH), TSLN ~ Bernoulli(p_TSLN) independently (each p the training frequency), and
  ``Disease_Risk = 1`` when any of them is 1 (Disease_Risk is not modelled on its own).

Samples are already in the normalised layout (binary covariates stay raw 0/1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mssg.latent.model_file import LATENT_MODEL_VERSION, write_model_json


@dataclass
class BernoulliCovariateModel:
    """Binary covariates in the column order ``names``.

    Attributes:
        dataset: the data name it was fitted on ('rfmid', 'eyepacs').
        names: output columns.
        probabilities: ``P(name = 1)`` of every independently drawn column.
        any_of: the column that is 1 exactly when one of the others is (RFMiD's Disease_Risk), or None.
    """

    dataset: str
    names: list[str]
    probabilities: dict[str, float]
    any_of: str | None = None

    def __post_init__(self) -> None:
        drawn = [n for n in self.names if n != self.any_of]
        if sorted(drawn) != sorted(self.probabilities):
            raise ValueError(
                f"BernoulliCovariateModel({self.dataset}): probabilities for {sorted(self.probabilities)} "
                f"but the drawn columns are {drawn}"
            )

    @property
    def normalized_width(self) -> int:
        return len(self.names)

    @classmethod
    def fit(
        cls, dataset: str, names: list[str], raw: np.ndarray, any_of: str | None = None
    ) -> BernoulliCovariateModel:
        """Frequencies of ``value > 0`` in the RAW train labels ``raw [N, len(names)]`` (EyePACS levels 1-4
        count as diseased)."""
        raw = np.asarray(raw, np.float64).reshape(len(raw), len(names))
        if any_of is not None and any_of not in names:
            raise ValueError(f"{dataset}: any_of={any_of!r} is not one of the columns {names}")
        keep = np.isfinite(raw).all(axis=1)
        if not keep.any():
            raise ValueError(f"{dataset}: no complete training labels to fit Bernoulli probabilities")
        probabilities = {
            name: float((raw[keep, k] > 0).mean()) for k, name in enumerate(names) if name != any_of
        }
        return cls(dataset, list(names), probabilities, any_of)

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """0/1 values ``[count, len(names)]``."""
        drawn = [n for n in self.names if n != self.any_of]
        p = np.array([self.probabilities[n] for n in drawn])
        hits = (rng.random((count, len(drawn))) < p[None, :]).astype(np.float64)
        out = np.zeros((count, len(self.names)))
        for k, name in enumerate(drawn):
            out[:, self.names.index(name)] = hits[:, k]
        if self.any_of is not None:
            out[:, self.names.index(self.any_of)] = hits.max(axis=1, initial=0.0)
        return out

    def sample_normalized(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """The generator's layout of :meth:`sample` (the same values, float32)."""
        return self.sample(count, rng).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "kind": "bernoulli",
            "version": LATENT_MODEL_VERSION,
            "dataset": self.dataset,
            "names": list(self.names),
            "probabilities": dict(self.probabilities),
            "any_of": self.any_of,
        }

    @classmethod
    def from_dict(cls, data: dict) -> BernoulliCovariateModel:
        return cls(data["dataset"], list(data["names"]), dict(data["probabilities"]), data.get("any_of"))

    def save(self, path: str | Path) -> Path:
        """Write all parameters as versioned JSON (atomically)."""
        return write_model_json(self.to_dict(), path)
