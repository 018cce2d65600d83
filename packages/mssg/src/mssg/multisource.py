"""Completing each source's labels to the joint covariate layout ``c`` (MSSG semi-multi-source Morpho-MNIST).

Source1 returns ``[t_z1, i_z1, onehot]`` and source2 ``[t_z2, s_z2, onehot]`` (z-scores with their own train
statistics). The joint layout is ``[thickness, intensity, slant, digit one-hot]`` (c_dim 13):

* source1 -> ``[t_z1, i_z1, slant_hat_z, onehot]``: raw thickness ``t = t_z1 std1 + mean1``, slant drawn from
  the latent model fitted on SOURCE2 given ``t``, z-scored with source2's slant statistics;
* source2 -> ``[t_z2, intensity_hat_z, s_z2, onehot]``: intensity from the model fitted on SOURCE1, z-scored
  with source1's statistics.

Real multi-source training (``mssg-train-real-ms``, ``training_loop_real_ms.py``) uses the same completion
(the covariate a source does not observe is drawn from the other source's latent model given the shared one)
and appends a source flag column, 0 for source1 rows and 1 for source2 rows, which the discriminator learns
to predict (c_dim 14 for Morpho-MNIST).

A single source (``mssg-train``) is its own layout: :class:`LabelCompleter` with one source passes labels
through. Everything here is plain data (:meth:`to_dict`) so snapshots carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mssg.covariates import (
    JOINT_LAYOUTS,
    MORPHO_SOURCE1,
    MORPHO_SOURCE2,
    Covariate,
    denormalize_column,
    schema,
)
from mssg.latent import MorphoCovariateModel, load_latent_model

MORPHO = "mnist-thickness-intensity-slant"


@dataclass
class LabelCompleter:
    """Maps source s's normalised labels ``[N, label_dim_s]`` to the joint ``c [N, c_dim]``.

    Attributes:
        data_name: the data name of the sources (MSSG trains both sources under the same name).
        sources: e.g. ['source1', 'source2'] (or [None] / ['source1'] for single-source training).
        stats: per source, the normalisation statistics of its train labels
        (:func:`mssg.covariates.fit_stats`).
        models: per source, its fitted latent model (empty for single-source).
        source_flag: append the source column (real multi-source layout).
    """

    data_name: str
    sources: list[str | None]
    stats: list[dict]
    models: list[MorphoCovariateModel] = field(default_factory=list)
    source_flag: bool = False

    def __post_init__(self) -> None:
        if self.source_flag and len(self.sources) != 2:
            raise ValueError("the source flag column (real multi-source) needs exactly two sources")
        if len(self.sources) == 2 and self.data_name != MORPHO:
            raise ValueError(
                f"multi-source label completion is implemented for {MORPHO!r} (Morpho-MNIST latent models); "
                f"got {self.data_name!r} (UKB/retina/ADNI latent models are not part of this package yet)"
            )
        if len(self.sources) == 2 and len(self.models) != 2:
            raise ValueError("two sources need two latent models (one fitted on each source)")

    @property
    def layout(self) -> list[str]:
        """Names of the joint columns (one-hot groups named once)."""
        if len(self.sources) == 2:
            return list(JOINT_LAYOUTS[self.data_name]) + (["source"] if self.source_flag else [])
        return [cov.name for cov in schema(self.data_name, self.sources[0])]

    @property
    def covariates(self) -> tuple[Covariate, ...]:
        """Covariates of the joint layout (normalisation kinds), in column order."""
        if len(self.sources) == 2:
            return (MORPHO_SOURCE1[0], MORPHO_SOURCE1[1], MORPHO_SOURCE2[1], MORPHO_SOURCE1[2])
        return schema(self.data_name, self.sources[0])

    @property
    def c_dim(self) -> int:
        return sum(cov.width for cov in self.covariates) + int(self.source_flag)

    def complete(self, source_index: int, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``labels [N, label_dim]`` of source ``source_index`` -> ``c [N, c_dim]`` (float32)."""
        labels = np.asarray(labels, np.float32)
        if len(self.sources) == 1:
            return labels
        own, other = source_index, 1 - source_index
        thickness_cov = MORPHO_SOURCE1[0]
        t_raw = denormalize_column(labels[:, 0], thickness_cov, self.stats[own])
        imputed_cov = (MORPHO_SOURCE2 if own == 0 else MORPHO_SOURCE1)[1]
        imputed_raw = self.models[other].sample_target(t_raw, rng)
        s = self.stats[other][imputed_cov.name]
        imputed = ((imputed_raw - s["mean"]) / s["std"]).astype(np.float32)[:, None]
        if own == 0:
            parts = [labels[:, :2], imputed, labels[:, 2:]]
        else:
            parts = [labels[:, :1], imputed, labels[:, 1:]]
        if self.source_flag:
            parts.append(np.full((len(labels), 1), source_index, np.float32))
        return np.concatenate(parts, axis=1)

    def to_dict(self) -> dict:
        return {
            "data_name": self.data_name,
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
