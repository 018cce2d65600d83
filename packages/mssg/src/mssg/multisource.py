"""Completing each source's labels to the joint covariate layout ``c`` (spec §4.1, §5.4).

Every source's dataset returns its OWN normalised label vector (statistics from its own trainset); a
multi-source generator is conditioned on the joint layout, so the covariates a source does not observe are
drawn from the latent model fitted on the OTHER source (``models[k]`` is fitted on source ``k``):

* semi-MS Morpho-MNIST (c_dim 13): source1 ``[t_z1, i_z1, slant_hat_z, onehot]``, source2 ``[t_z2,
  intensity_hat_z, s_z2, onehot]``; raw thickness from the own z-score, the imputed covariate drawn given it
  and z-scored with the other source's statistics;
* semi-MS UKB MRI / retina (c_dim 3): source1 ``[a1, v1, hat]``, source2 ``[a2, hat, v2]``: raw age from the
  own min-max, ``hat`` = last column of the other model's ``sampling_given_age(age, normalize=True)``
  (grey matter / ventricle, spherical power / cataract);
* real-MS MRI, UKB + ADNI (c_dim 6): source1 ``[age_joint, ventricle, grey, adni_hat[1:], 0]``, source2
  ``[age_joint, ukb_hat[1:], left, right, 1]`` with ``age_joint = (age - min(min1, min2)) / (max(max1, max2)
  - min(min1, min2))`` and ``hat[1:]`` the other model's normalised covariates given the raw age;
* real-MS retina, UKB retina + RFMiD (c_dim 7): source1 ``[age, cataract, spherical, rfmid sample, 0]``,
  source2 ``[retina sample_normalize, Disease_Risk, MH, TSLN, 1]`` (drawn without conditioning on anything).

Real multi-source layouts end with the source flag column (0 for source1 rows, 1 for source2), which the
discriminator learns to predict; Morpho-MNIST real-MS is the semi-MS completion plus that column (c_dim 14).
A single source (``mssg-train``) is its own layout. Everything here is plain data (:meth:`LabelCompleter.
to_dict`) so snapshots carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mssg.covariates import (
    MORPHO_SOURCE1,
    MORPHO_SOURCE2,
    Covariate,
    denormalize_column,
    schema,
)
from mssg.latent import (
    AgeConditionalModel,
    BernoulliCovariateModel,
    LatentModel,
    MorphoCovariateModel,
    load_latent_model,
)

MORPHO = "mnist-thickness-intensity-slant"

# Data names with a multi-source completion besides Morpho-MNIST: semi-MS (the same name for both sources) and
# the real-MS pairs in the original's source order (its training loops support only these).
SEMI_AGE_SHARED = ("ukb", "retinal")
REAL_MRI = ("ukb_real", "adni")
REAL_RETINA = ("retinal_real", "rfmid")


def completion_scenario(data_names: list[str], source_flag: bool) -> str:
    """How two sources named ``data_names`` are completed: 'morpho', 'semi_age', 'real_mri' or
    'real_retina' (``source_flag``: real multi-source). Raises ValueError for a pair without a completion."""
    pair = tuple(data_names)
    if pair == (MORPHO, MORPHO):
        return "morpho"
    if not source_flag and pair[0] == pair[1] and pair[0] in SEMI_AGE_SHARED:
        return "semi_age"
    if source_flag and pair == REAL_MRI:
        return "real_mri"
    if source_flag and pair == REAL_RETINA:
        return "real_retina"
    raise ValueError(
        f"no multi-source label completion for data names {list(pair)} "
        f"({'real' if source_flag else 'semi'} multi-source). Supported: semi-MS {MORPHO}, ukb or retinal "
        f"for both sources; real-MS {MORPHO} for both, {list(REAL_MRI)} (MRI: --data_name1 ukb, "
        f"--data_name2 adni) or {list(REAL_RETINA)} (retina: --data_name1 retinal, --data_name2 rfmid)"
    )


@dataclass
class LabelCompleter:
    """Maps source s's normalised labels ``[N, label_dim_s]`` to the joint ``c [N, c_dim]``.

    Attributes:
        data_name: the data name of source1 (MSSG's semi-MS trains both sources under the same name).
        sources: e.g. ['source1', 'source2'] (or [None] / ['source1'] for single-source training).
        stats: per source, the normalisation statistics of its train labels
            (:func:`mssg.covariates.fit_stats`).
        models: per source, the latent model fitted on it (empty for single-source).
        source_flag: append the source column (real multi-source layout).
        data_names: per source data names (default: ``data_name`` for every source).
    """

    data_name: str
    sources: list[str | None]
    stats: list[dict]
    models: list[MorphoCovariateModel | LatentModel] = field(default_factory=list)
    source_flag: bool = False
    data_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.data_names is None:
            self.data_names = [self.data_name] * len(self.sources)
        if len(self.data_names) != len(self.sources) or self.data_names[0] != self.data_name:
            raise ValueError(
                f"data_names {self.data_names} must name each of the sources {self.sources}, starting with "
                f"data_name {self.data_name!r}"
            )
        if self.source_flag and len(self.sources) != 2:
            raise ValueError("the source flag column (real multi-source) needs exactly two sources")
        if len(self.sources) == 2:
            self._check_models(self._scenario())

    def _scenario(self) -> str:
        if len(self.sources) == 1:
            return "single"
        return completion_scenario(self.data_names, self.source_flag)

    def _check_models(self, scenario: str) -> None:
        if len(self.models) != 2:
            raise ValueError(
                f"two sources need two latent models (one fitted on each), got {len(self.models)}"
            )
        expected = {
            "morpho": (MorphoCovariateModel, MorphoCovariateModel),
            "semi_age": (AgeConditionalModel, AgeConditionalModel),
            "real_mri": (AgeConditionalModel, AgeConditionalModel),
            "real_retina": (AgeConditionalModel, BernoulliCovariateModel),
        }[scenario]
        for k, (model, kind) in enumerate(zip(self.models, expected, strict=True)):
            if not isinstance(model, kind):
                raise ValueError(
                    f"the latent model of source{k + 1} ({self.data_names[k]}) must be of type "
                    f"{kind.__name__}, got {type(model).__name__}"
                )

    @property
    def covariates(self) -> tuple[Covariate, ...]:
        """Covariates of the joint layout (normalisation kinds), in column order (without the flag)."""
        scenario = self._scenario()
        own = [schema(name, source) for name, source in zip(self.data_names, self.sources, strict=True)]
        if scenario == "single":
            return own[0]
        if scenario == "morpho":
            return (MORPHO_SOURCE1[0], MORPHO_SOURCE1[1], MORPHO_SOURCE2[1], MORPHO_SOURCE1[2])
        if scenario == "real_retina":
            return own[0] + own[1]
        return own[0] + own[1][1:]  # age shared

    @property
    def layout(self) -> list[str]:
        """Names of the joint columns (a one-hot group named once)."""
        return [cov.name for cov in self.covariates] + (["source"] if self.source_flag else [])

    @property
    def c_dim(self) -> int:
        return sum(cov.width for cov in self.covariates) + int(self.source_flag)

    def complete(self, source_index: int, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``labels [N, label_dim]`` of source ``source_index`` -> ``c [N, c_dim]`` (float32)."""
        labels = np.asarray(labels, np.float32)
        scenario = self._scenario()
        if scenario == "single":
            return labels
        own, other = source_index, 1 - source_index
        complete_scenario = {
            "morpho": self._complete_morpho,
            "semi_age": self._complete_semi_age,
            "real_mri": self._complete_real_mri,
            "real_retina": self._complete_real_retina,
        }[scenario]
        parts = complete_scenario(own, other, labels, rng)
        if self.source_flag:
            parts.append(np.full((len(labels), 1), source_index, np.float32))
        return np.concatenate([np.asarray(p, np.float32) for p in parts], axis=1)

    def _raw_age(self, source_index: int, labels: np.ndarray) -> np.ndarray:
        """Raw ages ``[N]`` from the min-max normalised first column of a source's labels."""
        age_cov = schema(self.data_names[source_index], self.sources[source_index])[0]
        return denormalize_column(labels[:, 0], age_cov, self.stats[source_index])

    def _complete_morpho(self, own, other, labels, rng) -> list[np.ndarray]:
        t_raw = denormalize_column(labels[:, 0], MORPHO_SOURCE1[0], self.stats[own])
        imputed_cov = (MORPHO_SOURCE2 if own == 0 else MORPHO_SOURCE1)[1]
        imputed_raw = self.models[other].sample_target(t_raw, rng)
        s = self.stats[other][imputed_cov.name]
        imputed = ((imputed_raw - s["mean"]) / s["std"])[:, None]
        if own == 0:
            return [labels[:, :2], imputed, labels[:, 2:]]
        return [labels[:, :1], imputed, labels[:, 1:]]

    def _complete_semi_age(self, own, other, labels, rng) -> list[np.ndarray]:
        imputed = self.models[other].sample_given_age_normalized(self._raw_age(own, labels), rng)[:, -1:]
        if own == 0:
            return [labels, imputed]
        return [labels[:, :1], imputed, labels[:, 1:]]

    def _complete_real_mri(self, own, other, labels, rng) -> list[np.ndarray]:
        age = self._raw_age(own, labels)
        ages = [self.stats[k][schema(self.data_names[k], self.sources[k])[0].name] for k in range(2)]
        lo, hi = min(a["min"] for a in ages), max(a["max"] for a in ages)
        age_joint = ((age - lo) / (hi - lo))[:, None]
        imputed = self.models[other].sample_given_age_normalized(age, rng)[:, 1:]
        if own == 0:
            return [age_joint, labels[:, 1:], imputed]
        return [age_joint, imputed, labels[:, 1:]]

    def _complete_real_retina(self, own, other, labels, rng) -> list[np.ndarray]:
        imputed = self.models[other].sample_normalized(len(labels), rng)
        return [labels, imputed] if own == 0 else [imputed, labels]

    def to_dict(self) -> dict:
        return {
            "data_name": self.data_name,
            "data_names": list(self.data_names),
            "sources": list(self.sources),
            "stats": self.stats,
            "models": [m.to_dict() for m in self.models],
            "source_flag": self.source_flag,
        }

    @classmethod
    def from_dict(cls, data: dict) -> LabelCompleter:
        return cls(
            data["data_name"],
            list(data["sources"]),
            list(data["stats"]),
            [load_latent_model(m) for m in data.get("models", [])],
            bool(data.get("source_flag", False)),
            data.get("data_names"),
        )


def fit_morpho_models(
    raw1: np.ndarray, raw2: np.ndarray, use_ground_truth: bool
) -> list[MorphoCovariateModel]:
    """Latent models of both Morpho sources from their RAW train labels ``[N, 3]`` = (thickness, y, digit)."""
    models = []
    for raw, target in ((raw1, "intensity"), (raw2, "slant")):
        if use_ground_truth:
            models.append(MorphoCovariateModel.ground_truth(target))
        else:
            models.append(MorphoCovariateModel.fit(raw[:, 0], raw[:, 1], raw[:, 2], target))
    return models
