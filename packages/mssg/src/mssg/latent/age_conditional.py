"""Age-conditional covariate models: MSSG's ``latent_mle_ms.CausalSampling`` (semi-multi-source UKB MRI /
retina) and ``latent_mle_real_ms.SourceSampling`` (real multi-source UKB, ADNI, retina, NACC) (spec §5.4).

One source's covariates are modelled as ``age ~ prior``, then given age:

* at most one class covariate by (unpenalised, multinomial) logistic regression: cataract (binary, sampled
  with MSSG's half-logit quirk, see :mod:`mssg.latent.logistic`) or NACC's APOE4 count in {0, 1, 2};
* continuous covariates (volumes, spherical power) JOINTLY by Gaussian-mixture regression on the transformed
  values: ``log(v)`` (UKB volumes), ``log(v + 100)`` (spherical power, which can be negative) or ``v`` (ADNI
  hippocampi); draws are transformed back (``exp(t) - shift``).

Normalisation (what the training loops feed the generator), as the original:

* :meth:`AgeConditionalModel.sample_given_age_normalized` (``sampling_given_age(age, normalize=True)``):
  ``[minmax(age), class covariate, (t - mean) / std]``; age min-max with THIS model's training min/max, ``t``
  the transformed value, mean and std (pandas, ddof 1) of the transformed training column; a binary class
  covariate raw 0/1, NACC's APOE4 one-hot;
* :meth:`AgeConditionalModel.sample_normalized` (``sample_normalize(n)``): the same layout for samples of the
  whole model, with the numpy (ddof 0) std of the transformed column when it is logged (MSSG's ``vol_std`` /
  ``c_std``), the pandas one (ddof 1) when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mssg.latent.age_prior import AgePrior, BetaAgePrior, MixtureAgePrior, age_prior_from_dict
from mssg.latent.logistic import MultinomialLogisticRegression
from mssg.latent.mixture_regression import GaussianMixtureRegression
from mssg.latent.model_file import LATENT_MODEL_VERSION, write_model_json


@dataclass
class RegressedCovariate:
    """A continuous covariate predicted by the mixture regression, and its normalisation statistics.

    Attributes:
        name: its key in dataset.json.
        log_shift: None = modelled as is; s >= 0 = modelled as ``log(v + s)``.
        mean: mean of the transformed training column.
        std: its std with ddof 1 (pandas ``DataFrame.std``).
        std_population: its std with ddof 0 (numpy).
    """

    name: str
    log_shift: float | None
    mean: float = 0.0
    std: float = 1.0
    std_population: float = 1.0

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, np.float64)
        if self.log_shift is None:
            return values
        shifted = values + self.log_shift
        if (shifted <= 0).any():
            term = "v" if self.log_shift == 0 else f"v + {self.log_shift:g}"
            raise ValueError(
                f"covariate {self.name!r} is modelled as log({term}), which needs {term} > 0; the labels "
                f"have v = {values.min():g}"
            )
        return np.log(shifted)

    def inverse(self, transformed: np.ndarray) -> np.ndarray:
        return transformed if self.log_shift is None else np.exp(transformed) - self.log_shift

    def normalize(self, values: np.ndarray, population_std: bool) -> np.ndarray:
        std = self.std_population if population_std and self.log_shift is not None else self.std
        return (self.transform(values) - self.mean) / std

    @classmethod
    def fit(cls, name: str, values: np.ndarray, log_shift: float | None) -> RegressedCovariate:
        t = cls(name, log_shift).transform(values)
        return cls(name, log_shift, float(t.mean()), float(t.std(ddof=1)), float(t.std(ddof=0)))


@dataclass
class ClassCovariate:
    """A class covariate given age: its logistic model and how it is normalised (raw value or one-hot)."""

    name: str
    model: MultinomialLogisticRegression
    onehot: bool = False

    @property
    def width(self) -> int:
        return len(self.model.classes) if self.onehot else 1

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """``[N, width]``: the class value, or the one-hot of its index among the training classes."""
        values = np.asarray(values, np.float64)
        if not self.onehot:
            return values[:, None]
        return (values[:, None] == self.model.classes[None, :]).astype(np.float64)


@dataclass
class AgeConditionalModel:
    """``age ~ prior``; ``class covariate | age``; ``continuous covariates | age`` by mixture regression.

    Attributes:
        dataset: the data name the model was fitted on (e.g. 'ukb', 'retinal_real', 'adni').
        age_name: key of the age covariate ('age' / 'Age').
        age: the age prior (it also holds the training min/max age).
        classified: the class covariate, if any.
        regression: mixture regression of the transformed ``regressed`` columns on age, if any.
        regressed: the continuous covariates, in the regression's output order.
        conditional_covariance: sample the regression with the conditional covariance (default); False
            reproduces MSSG's marginal one (spec §7 lists it as a bug kept as a parity option).
        half_logit: sample a binary class covariate with MSSG's ``sigmoid(logit / 2)`` (parity option) instead
            of the fitted probability (default).
    """

    dataset: str
    age_name: str
    age: AgePrior
    classified: ClassCovariate | None = None
    regression: GaussianMixtureRegression | None = None
    regressed: list[RegressedCovariate] = field(default_factory=list)
    conditional_covariance: bool = True
    half_logit: bool = False

    def __post_init__(self) -> None:
        if (self.regression is None) != (not self.regressed):
            raise ValueError(
                "AgeConditionalModel: a regression needs its regressed covariates and vice versa"
            )
        if self.regression is not None and self.regression.n_outputs != len(self.regressed):
            raise ValueError(
                f"AgeConditionalModel: the regression predicts {self.regression.n_outputs} values for "
                f"{len(self.regressed)} covariates"
            )

    @property
    def output_names(self) -> list[str]:
        """Names of the raw columns :meth:`sample_given_age` returns (class covariate first)."""
        return ([self.classified.name] if self.classified else []) + [r.name for r in self.regressed]

    @property
    def normalized_width(self) -> int:
        """Width of the normalised vectors: age, class covariate (1 or one-hot), continuous covariates."""
        return 1 + (self.classified.width if self.classified else 0) + len(self.regressed)

    def sample_given_age(self, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Raw covariates ``[N, len(output_names)]`` given raw ages ``[N]`` (years)."""
        age = np.asarray(age, np.float64).reshape(-1)
        columns = []
        if self.classified is not None:
            columns.append(self.classified.model.sample(age, rng, self.half_logit)[:, None])
        if self.regression is not None:
            transformed = self.regression.sample(age[:, None], rng, self.conditional_covariance)
            columns += [r.inverse(transformed[:, k : k + 1]) for k, r in enumerate(self.regressed)]
        return np.concatenate(columns, axis=1) if columns else np.zeros((len(age), 0))

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(raw ages ``[count]``, raw covariates ``[count, len(output_names)]``) from the whole model."""
        age = self.age.sample(count, rng)
        return age, self.sample_given_age(age, rng)

    def normalize(self, age: np.ndarray, values: np.ndarray, population_std: bool = False) -> np.ndarray:
        """Raw ``age [N]`` and ``values [N, len(output_names)]`` -> ``[N, normalized_width]`` (float32)."""
        age = np.asarray(age, np.float64).reshape(-1)
        values = np.asarray(values, np.float64).reshape(len(age), -1)
        columns = [((age - self.age.min_age) / (self.age.max_age - self.age.min_age))[:, None]]
        offset = 0
        if self.classified is not None:
            columns.append(self.classified.normalize(values[:, 0]))
            offset = 1
        for k, r in enumerate(self.regressed):
            columns.append(r.normalize(values[:, offset + k], population_std)[:, None])
        return np.concatenate(columns, axis=1).astype(np.float32)

    def sample_given_age_normalized(self, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """MSSG's ``sampling_given_age(age, normalize=True)``: ``[N, normalized_width]``."""
        return self.normalize(age, self.sample_given_age(age, rng))

    def sample_normalized(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """MSSG's ``sample_normalize(count)``: ``[count, normalized_width]``."""
        return self.normalize(*self.sample(count, rng), population_std=True)

    @classmethod
    def fit(
        cls,
        dataset: str,
        names: list[str],
        raw: np.ndarray,
        age_prior: str,
        n_components: int | None = None,
        classified: str | None = None,
        onehot: bool = False,
        regressed: tuple[tuple[str, float | None], ...] = (),
        seed: int = 0,
    ) -> AgeConditionalModel:
        """Fit to one source's RAW train labels ``raw [N, len(names)]`` (column ``names[0]`` is age).

        ``age_prior`` 'beta' or 'gmm' (``n_components``), ``classified`` the class covariate's name,
        ``regressed`` pairs (name, log shift or None) of the continuous covariates (mixture regression with
        ``n_components``). Rows with a non-finite value in a used column are dropped (MSSG's ``dropna``).
        """
        raw = np.asarray(raw, np.float64).reshape(len(raw), len(names))
        used = [names[0]] + ([classified] if classified else []) + [name for name, _ in regressed]
        missing = [n for n in used if n not in names]
        if missing:
            raise ValueError(f"{dataset}: the labels have no {missing} (have {names})")
        column = {name: raw[:, names.index(name)] for name in used}
        keep = np.all([np.isfinite(column[n]) for n in used], axis=0)
        column = {name: values[keep] for name, values in column.items()}
        age = column[names[0]]
        if n_components is not None and len(age) < n_components:
            raise ValueError(
                f"{dataset}: {len(age)} complete training labels are too few for a latent model with "
                f"{n_components} mixture components (MSSG's setting); give the source more training images"
            )
        if age_prior == "beta":
            prior: AgePrior = BetaAgePrior.fit(age)
        elif age_prior == "gmm":
            prior = MixtureAgePrior.fit(age, n_components, seed=seed)
        else:
            raise ValueError(f"age_prior must be 'beta' or 'gmm', got {age_prior!r}")
        class_covariate = None
        if classified:
            model = MultinomialLogisticRegression.fit(age, column[classified])
            class_covariate = ClassCovariate(classified, model, onehot)
        covariates = [RegressedCovariate.fit(name, column[name], shift) for name, shift in regressed]
        regression = None
        if covariates:
            targets = np.stack([c.transform(column[c.name]) for c in covariates], axis=1)
            regression = GaussianMixtureRegression.fit(age, targets, n_components, seed=seed)
        return cls(dataset, names[0], prior, class_covariate, regression, covariates)

    def to_dict(self) -> dict:
        return {
            "kind": "age_conditional",
            "version": LATENT_MODEL_VERSION,
            "dataset": self.dataset,
            "age_name": self.age_name,
            "age": self.age.to_dict(),
            "classified": None
            if self.classified is None
            else {
                "name": self.classified.name,
                "onehot": self.classified.onehot,
                "model": self.classified.model.to_dict(),
            },
            "regression": None if self.regression is None else self.regression.to_dict(),
            "regressed": [vars(r) for r in self.regressed],
            "conditional_covariance": self.conditional_covariance,
            "half_logit": self.half_logit,
        }

    @classmethod
    def from_dict(cls, data: dict) -> AgeConditionalModel:
        classified = data.get("classified")
        regression = data.get("regression")
        return cls(
            dataset=data["dataset"],
            age_name=data["age_name"],
            age=age_prior_from_dict(data["age"]),
            classified=None
            if classified is None
            else ClassCovariate(
                classified["name"],
                MultinomialLogisticRegression.from_dict(classified["model"]),
                bool(classified["onehot"]),
            ),
            regression=None if regression is None else GaussianMixtureRegression.from_dict(regression),
            regressed=[RegressedCovariate(**r) for r in data.get("regressed", [])],
            conditional_covariance=bool(data.get("conditional_covariance", True)),
            half_logit=bool(data.get("half_logit", False)),
        )

    def save(self, path: str | Path) -> Path:
        """Write all parameters as versioned JSON (atomically)."""
        return write_model_json(self.to_dict(), path)
