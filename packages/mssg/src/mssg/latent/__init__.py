"""Latent covariate models: impute the covariates a source does not observe (spec §5.4).

* :mod:`.morpho` — Morpho-MNIST (thickness prior, intensity / slant | thickness);
* :mod:`.age_conditional` — UKB MRI / retina, ADNI, NACC: age prior, class covariate | age (logistic
  regression), continuous covariates | age (Gaussian-mixture regression);
* :mod:`.bernoulli` — RFMiD, EyePACS: independent binary covariates;
* :mod:`.settings` — which model each data name / source gets, :func:`fit_latent_model`;
* estimators: :mod:`.gaussian_mixture` (EM), :mod:`.mixture_regression` (GMR), :mod:`.logistic`,
  :mod:`.age_prior` (Beta by moments, truncated mixture);
* :mod:`.model_file` — versioned JSON files; :func:`load_latent_model` reads any of them back.
"""

from __future__ import annotations

from pathlib import Path

from mssg.latent.age_conditional import AgeConditionalModel
from mssg.latent.bernoulli import BernoulliCovariateModel
from mssg.latent.model_file import LATENT_MODEL_VERSION, read_model_json
from mssg.latent.morpho import (
    MORPHO_TARGETS,
    MorphoCovariateModel,
    fit_sigmoid_curve,
    inverse_sigmoid_curve,
    sigmoid_curve,
)
from mssg.latent.settings import LatentModel, fit_latent_model

MODEL_KINDS = {
    "morpho": MorphoCovariateModel,
    "age_conditional": AgeConditionalModel,
    "bernoulli": BernoulliCovariateModel,
}


def load_latent_model(path_or_dict: str | Path | dict) -> MorphoCovariateModel | LatentModel:
    """Read a model written by any model's ``save`` (or its ``to_dict()``)."""
    data = read_model_json(path_or_dict)
    kind = data.get("kind")
    if kind not in MODEL_KINDS:
        where = "latent model dict" if isinstance(path_or_dict, dict) else str(path_or_dict)
        raise ValueError(
            f"{where}: unknown latent model kind {kind!r} (expected one of {sorted(MODEL_KINDS)})"
        )
    return MODEL_KINDS[kind].from_dict(data)


__all__ = [
    "LATENT_MODEL_VERSION",
    "MORPHO_TARGETS",
    "AgeConditionalModel",
    "BernoulliCovariateModel",
    "LatentModel",
    "MorphoCovariateModel",
    "fit_latent_model",
    "fit_sigmoid_curve",
    "inverse_sigmoid_curve",
    "load_latent_model",
    "sigmoid_curve",
]
