"""Covariate schemas: the labels each MSSG dataset / source carries and their normalisation (spec §3.4, §4.1).

A source's dataset returns its OWN normalised label vector (statistics from its own ``trainset``);
multi-source
training completes it to the joint layout ``c`` of :data:`JOINT_LAYOUTS` with imputed covariates.

The source of a dataset is given explicitly (``source1`` / ``source2``), never parsed from directory names.
Transforms: ``z`` = (v - mean) / std, ``zlog`` = z of log(v), ``zlog100`` = z of log(v + 100) (spherical power
can be negative), ``minmax`` = (v - min) / (max - min), ``raw`` = as stored (binary 0/1), ``gt0`` = (v > 0),
``onehot10`` / ``onehot3`` = one-hot of an integer class 0..9 / 0..2 (10 / 3 columns). Statistics:
population std (ddof 0) of the TRAIN labels. A covariate with a ``missing`` code (NACC's Apoe4 = 9) drops
the images carrying it from the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRANSFORMS = ("z", "zlog", "zlog100", "minmax", "raw", "gt0", "onehot10", "onehot3")


@dataclass(frozen=True)
class Covariate:
    """One label column: its key in dataset.json, its normalisation, and the value that marks it unknown."""

    name: str
    transform: str
    missing: float | None = None

    @property
    def classes(self) -> int:
        """Number of one-hot classes (0 for a one-column covariate)."""
        return int(self.transform[len("onehot") :]) if self.transform.startswith("onehot") else 0

    @property
    def width(self) -> int:
        return self.classes or 1

    @property
    def binary(self) -> bool:
        return self.transform in ("raw", "gt0")


def _c(*pairs: tuple[str, str]) -> tuple[Covariate, ...]:
    return tuple(Covariate(name, transform) for name, transform in pairs)


MORPHO_SOURCE1 = _c(("thickness", "z"), ("intensity", "z"), ("label", "onehot10"))
MORPHO_SOURCE2 = _c(("thickness", "z"), ("slant", "z"), ("label", "onehot10"))

# (data_name, source) -> the covariates that dataset returns, in order. source None = the same for any source.
SCHEMAS: dict[tuple[str, str | None], tuple[Covariate, ...]] = {
    ("mnist-thickness-intensity-slant", "source1"): MORPHO_SOURCE1,
    ("mnist-thickness-intensity-slant", "source2"): MORPHO_SOURCE2,
    ("mnist-thickness-intensity", None): MORPHO_SOURCE1,
    ("mnist-thickness-slant", None): MORPHO_SOURCE2,
    ("mnist", None): _c(("label", "onehot10")),
    ("ukb", "source1"): _c(("age", "minmax"), ("ventricle", "zlog")),
    ("ukb", "source2"): _c(("age", "minmax"), ("grey_matter", "zlog")),
    ("retinal", "source1"): _c(("age", "minmax"), ("cataract", "raw")),
    ("retinal", "source2"): _c(("age", "minmax"), ("spherical_power_left", "zlog100")),
    ("ukb_real", None): _c(("age", "minmax"), ("ventricle", "zlog"), ("grey_matter", "zlog")),
    ("adni", None): _c(("Age", "minmax"), ("left_hippocampus", "z"), ("right_hippocampus", "z")),
    ("retinal_real", None): _c(("age", "minmax"), ("cataract", "raw"), ("spherical_power_left", "zlog100")),
    ("rfmid", None): _c(("Disease_Risk", "raw"), ("MH", "raw"), ("TSLN", "raw")),
    ("eyepacs", None): _c(("level", "gt0")),
    # NACC (dataset_real_ms.NACCMRIDataset2D): minmax(Age), one-hot APOE4 allele count; Apoe4 9 = unknown
    ("nacc", None): (Covariate("Age", "minmax"), Covariate("Apoe4", "onehot3", missing=9.0)),
}

DATA_NAMES = sorted({name for name, _ in SCHEMAS})

# Semi-multi-source joint label layout c (G's c_dim = its width), by data name (spec §4.1).
JOINT_LAYOUTS: dict[str, tuple[str, ...]] = {
    "mnist-thickness-intensity-slant": ("thickness", "intensity", "slant", "label"),
    "ukb": ("age", "ventricle", "grey_matter"),
    "retinal": ("age", "cataract", "spherical_power_left"),
}


def schema(data_name: str, source: str | None) -> tuple[Covariate, ...]:
    """The covariates a dataset of ``data_name`` from ``source`` ('source1' / 'source2') returns."""
    if (data_name, None) in SCHEMAS:
        return SCHEMAS[(data_name, None)]
    if (data_name, source) in SCHEMAS:
        return SCHEMAS[(data_name, source)]
    sources = sorted(s for n, s in SCHEMAS if n == data_name)
    if sources:
        raise ValueError(f"data_name {data_name!r} needs source in {sources}, got {source!r}")
    raise ValueError(f"unknown data_name {data_name!r}; expected one of {', '.join(DATA_NAMES)}")


def _pre(values: np.ndarray, transform: str) -> np.ndarray:
    if transform == "zlog":
        return np.log(values)
    if transform == "zlog100":
        return np.log(values + 100.0)
    return values


def fit_stats(covariates: tuple[Covariate, ...], raw: np.ndarray) -> dict[str, dict[str, float]]:
    """Normalisation statistics per covariate from raw TRAIN labels ``[N, K]`` (K = len(covariates))."""
    stats = {}
    for k, cov in enumerate(covariates):
        v = _pre(raw[:, k].astype(np.float64), cov.transform)
        stats[cov.name] = {
            "mean": float(v.mean()),
            "std": float(v.std()),
            "min": float(v.min()),
            "max": float(v.max()),
        }
    return stats


def normalize_column(values: np.ndarray, cov: Covariate, stats: dict[str, dict[str, float]]) -> np.ndarray:
    """Raw values ``[N]`` of one covariate -> normalised ``[N, width]`` (float32)."""
    values = np.asarray(values, np.float64)
    s = stats[cov.name]
    if cov.transform in ("z", "zlog", "zlog100"):
        out = (_pre(values, cov.transform) - s["mean"]) / s["std"]
    elif cov.transform == "minmax":
        out = (values - s["min"]) / (s["max"] - s["min"])
    elif cov.transform == "raw":
        out = values
    elif cov.transform == "gt0":
        out = (values > 0).astype(np.float64)
    else:
        classes = np.rint(values).astype(np.int64)
        if classes.min(initial=0) < 0 or classes.max(initial=0) >= cov.classes:
            raise ValueError(
                f"covariate {cov.name!r}: classes must be 0-{cov.classes - 1}, "
                f"got {sorted(set(classes.tolist()))}"
            )
        return np.eye(cov.classes, dtype=np.float32)[classes]
    return out.astype(np.float32)[:, None]


def denormalize_column(values: np.ndarray, cov: Covariate, stats: dict[str, dict[str, float]]) -> np.ndarray:
    """Inverse of :func:`normalize_column` for one-column covariates (``[N]`` -> raw ``[N]``)."""
    s = stats[cov.name]
    values = np.asarray(values, np.float64)
    if cov.transform == "z":
        return values * s["std"] + s["mean"]
    if cov.transform == "zlog":
        return np.exp(values * s["std"] + s["mean"])
    if cov.transform == "zlog100":
        return np.exp(values * s["std"] + s["mean"]) - 100.0
    if cov.transform == "minmax":
        return values * (s["max"] - s["min"]) + s["min"]
    if cov.classes:
        raise ValueError("denormalize a one-hot covariate with argmax")
    return values


def normalize(covariates: tuple[Covariate, ...], raw: np.ndarray, stats: dict) -> np.ndarray:
    """Raw labels ``[N, K]`` -> the normalised label vectors ``[N, sum(width)]`` (float32)."""
    return np.concatenate(
        [normalize_column(raw[:, k], cov, stats) for k, cov in enumerate(covariates)], axis=1
    )
