"""The strata prediction score of a Morpho-MNIST MSSG generator (``eval_strata_mse.py``), on the core metric.

Test samples of both sources carry ground-truth values of all three covariates in their dataset.json (as
MSSG's
``eval_dataset`` reads them). Stratification uses the raw (thickness, intensity, slant); the generator is
conditioned on each sample's full normalised vector ``[t, i, s, onehot]`` (observed covariates with the own
source's train statistics, the other source's covariate with that source's statistics — the layout training
used); one regressor per covariate compares generated with real images (see
:func:`insilico_core.metrics.strata_prediction_score`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from insilico_core.metrics import StrataPredictionResult, strata_prediction_score
from torch import nn

from mssg.covariates import MORPHO_SOURCE1, MORPHO_SOURCE2, normalize_column
from mssg.data import CovariateImageDataset, SplitFiles, read_labels
from mssg.evaluation.generate import generate_for_labels
from mssg.multisource import LabelCompleter

FULL_MORPHO = (MORPHO_SOURCE1[0], MORPHO_SOURCE1[1], MORPHO_SOURCE2[1], MORPHO_SOURCE1[2])
SWEEP_COVARIATES = ("thickness", "intensity", "slant")


def morpho_ground_truth(dataset: CovariateImageDataset) -> np.ndarray:
    """Raw (thickness, intensity, slant, digit) ``[N, 4]`` of the dataset's items (from its dataset.json)."""
    _, raw = read_labels(SplitFiles(dataset.path, dataset.split), FULL_MORPHO)
    return raw[dataset.indices]


def joint_labels(raw: np.ndarray, source_index: int, completer: LabelCompleter) -> np.ndarray:
    """Normalised joint vectors ``[N, completer.c_dim]`` (13, or 14 with the real multi-source flag) of
    ground-truth raw labels of source ``source_index``."""
    columns = []
    for k, cov in enumerate(FULL_MORPHO):
        owner = source_index if cov.name in ("thickness", "label") else (0 if cov.name == "intensity" else 1)
        columns.append(normalize_column(raw[:, k], cov, completer.stats[owner]))
    if completer.source_flag:
        columns.append(np.full((len(raw), 1), source_index, np.float32))
    return np.concatenate(columns, axis=1)


def morpho_strata_score(
    G: nn.Module,
    completer: LabelCompleter,
    test_sets: list[CovariateImageDataset],
    predictors: Mapping[str, nn.Module],
    num_samples: int = 10000,
    batch_size: int = 64,
    seed: int = 0,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
    min_count: int = 5,
) -> StrataPredictionResult:
    """Strata prediction score of ``G`` on the two sources' test sets; ``predictors``: covariate -> model."""
    raws, images, labels = [], [], []
    for s, ds in enumerate(test_sets):
        raw = morpho_ground_truth(ds)
        raws.append(torch.from_numpy(raw[:, :3]))
        images.append(torch.stack([ds[i][0] for i in range(len(ds))]).float() / 255)
        labels.append(torch.from_numpy(joint_labels(raw, s, completer)))
    generator = torch.Generator().manual_seed(seed)

    def generate(c: torch.Tensor) -> torch.Tensor:
        return generate_for_labels(G, c, batch_size, truncation_psi, noise_mode, generator).float() / 255

    wrapped = {name: _first_output(model) for name, model in predictors.items()}
    return strata_prediction_score(
        raws,
        images,
        labels,
        generate,
        wrapped,
        num_samples=num_samples,
        batch_size=batch_size,
        min_count=min_count,
        seed=seed,
    )


def _first_output(model: nn.Module):
    device = next(model.parameters()).device

    def predict(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(images.to(device)).cpu()[:, 0]

    return predict
