"""Which latent model each MSSG source gets (``get_settings`` / ``set_dataset`` of ``latent_mle_ms`` and
``latent_mle_real_ms``, spec §5.4), and :func:`fit_latent_model` that fits it from raw train labels.

Semi-multi-source (``CausalSampling``), by (data name, source):

* ukb source1 / source2: age GMM (10 components); log ventricle / log grey matter | age by a 10-component GMR;
* retinal source1: age GMM (13); cataract | age by logistic regression;
* retinal source2: age GMM (13); log(spherical power + 100) | age by a 13-component GMR.

Real multi-source (``SourceSampling``), by data name (this package's names for the real-MS schemas):

* ukb_real: age Beta; (log ventricle, log grey matter) | age jointly, 10-component GMR;
* adni: age Beta; (left, right hippocampus) | age jointly, 8-component GMR (not logged);
* retinal_real: age GMM (13); cataract | age logistic; log(spherical + 100) | age, 13-component GMR;
* nacc: age Beta; APOE4 in {0, 1, 2} | age multinomial logistic (rows with the missing code 9 dropped);
* rfmid: Bernoulli MH, TSLN, Disease_Risk = any; eyepacs: Bernoulli(level > 0).

Spherical power is always modelled as ``log(v + 100)``, matching the dataset's ``zlog100`` normalisation.
MSSG shifts only when the training column has a negative value; without one it logs unshifted values and
then normalises them with the statistics of the shifted column (meaningless samples): not reproduced.
ADNI's semi-multi-source ``CausalSampling`` setting (sex, CDR and six volumes) has no data name here: the
semi-multi-source scripts accept only ukb and retinal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mssg.latent.age_conditional import AgeConditionalModel
from mssg.latent.bernoulli import BernoulliCovariateModel


@dataclass(frozen=True)
class AgeConditionalSetting:
    """Arguments of :meth:`AgeConditionalModel.fit` for one source (see the module docstring)."""

    age_prior: str
    n_components: int | None = None
    classified: str | None = None
    onehot: bool = False
    regressed: tuple[tuple[str, float | None], ...] = ()
    missing_class: float | None = None


@dataclass(frozen=True)
class BernoulliSetting:
    """Arguments of :meth:`BernoulliCovariateModel.fit`."""

    any_of: str | None = None


SPHERICAL = ("spherical_power_left", 100.0)

# (data name, source or None for any source) -> setting
LATENT_SETTINGS: dict[tuple[str, str | None], AgeConditionalSetting | BernoulliSetting] = {
    ("ukb", "source1"): AgeConditionalSetting("gmm", 10, regressed=(("ventricle", 0.0),)),
    ("ukb", "source2"): AgeConditionalSetting("gmm", 10, regressed=(("grey_matter", 0.0),)),
    ("retinal", "source1"): AgeConditionalSetting("gmm", 13, classified="cataract"),
    ("retinal", "source2"): AgeConditionalSetting("gmm", 13, regressed=(SPHERICAL,)),
    ("ukb_real", None): AgeConditionalSetting(
        "beta", 10, regressed=(("ventricle", 0.0), ("grey_matter", 0.0))
    ),
    ("adni", None): AgeConditionalSetting(
        "beta", 8, regressed=(("left_hippocampus", None), ("right_hippocampus", None))
    ),
    ("retinal_real", None): AgeConditionalSetting("gmm", 13, classified="cataract", regressed=(SPHERICAL,)),
    ("nacc", None): AgeConditionalSetting("beta", classified="Apoe4", onehot=True, missing_class=9.0),
    ("rfmid", None): BernoulliSetting(any_of="Disease_Risk"),
    ("eyepacs", None): BernoulliSetting(),
}

LatentModel = AgeConditionalModel | BernoulliCovariateModel


def latent_setting(data_name: str, source: str | None) -> AgeConditionalSetting | BernoulliSetting:
    """The setting of ``data_name`` (from ``source`` where the data name has per-source settings)."""
    for key in ((data_name, None), (data_name, source)):
        if key in LATENT_SETTINGS:
            return LATENT_SETTINGS[key]
    known = sorted({f"{n}" + (f" ({s})" if s else "") for n, s in LATENT_SETTINGS})
    raise ValueError(
        f"no latent covariate model for data name {data_name!r} with source {source!r}; known: {known}"
    )


def fit_latent_model(
    data_name: str,
    source: str | None,
    names: list[str],
    raw: np.ndarray,
    seed: int = 0,
    conditional_covariance: bool = True,
    half_logit: bool = False,
) -> LatentModel:
    """Fit the latent model of one source to its RAW train labels ``raw [N, len(names)]`` (columns named
    ``names``, age first for the age-conditional ones); ``seed`` seeds the k-means++ initialisations.

    The defaults sample correctly: mixture-regression outputs from the conditional covariance, binary class
    covariates from the fitted probability. ``conditional_covariance=False, half_logit=True`` sample as MSSG
    does (its marginal covariance and ``sigmoid(logit / 2)``), for parity with the original.
    """
    setting = latent_setting(data_name, source)
    raw = np.asarray(raw, np.float64).reshape(len(raw), len(names))
    if isinstance(setting, BernoulliSetting):
        return BernoulliCovariateModel.fit(data_name, list(names), raw, setting.any_of)
    if setting.missing_class is not None:
        raw = raw[raw[:, list(names).index(setting.classified)] != setting.missing_class]
    model = AgeConditionalModel.fit(
        data_name,
        list(names),
        raw,
        setting.age_prior,
        setting.n_components,
        setting.classified,
        setting.onehot,
        setting.regressed,
        seed=seed,
    )
    model.conditional_covariance, model.half_logit = conditional_covariance, half_logit
    return model
