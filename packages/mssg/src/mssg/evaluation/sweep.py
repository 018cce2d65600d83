"""Covariate-sweep figure (MSSG ``visualizers/visualizer_covs.py``, Fig. 1) for Morpho-MNIST generators.

One covariate is fixed (``c1`` thickness: mean of source1's test labels; ``c2``/``c3``: the midpoint of their
sweep range) and the other two sweep a 4 x 4 grid over ``linspace(min(q30 of source1, q20 of source2),
max(q85 of source1, q90 of source2), 4)`` of their raw test values; digit 7; one latent per seed. Labels are
normalised as in training (thickness/intensity with source1's statistics, slant with source2's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from insilico_core.train import save_image_grid
from torch import nn

from mssg.evaluation.generate import generate_images
from mssg.evaluation.strata import SWEEP_COVARIATES, joint_labels
from mssg.multisource import LabelCompleter

GROUPS = {"c1": 0, "c2": 1, "c3": 2}


def sweep_values(raw1: np.ndarray, raw2: np.ndarray, column: int) -> np.ndarray:
    """The 4 raw values a covariate sweeps over."""
    lo = min(np.quantile(raw1[:, column], 0.30), np.quantile(raw2[:, column], 0.20))
    hi = max(np.quantile(raw1[:, column], 0.85), np.quantile(raw2[:, column], 0.90))
    return np.linspace(lo, hi, 4)


def covariate_sweep(
    G: nn.Module,
    completer: LabelCompleter,
    raw1: np.ndarray,
    raw2: np.ndarray,
    seed: int,
    group_by: str = "c1",
    digit: int = 7,
    truncation_psi: float = 1.0,
    noise_mode: str = "const",
) -> tuple[torch.Tensor, str, float]:
    """(uint8 images ``[16, C, H, W]`` row-major over the two swept covariates, fixed name, fixed value)."""
    if group_by not in GROUPS:
        raise ValueError(f"--group-by must be c1, c2 or c3, got {group_by!r}")
    fixed = GROUPS[group_by]
    swept = [k for k in range(3) if k != fixed]
    grids = {k: sweep_values(raw1, raw2, k) for k in range(3)}
    value = float(raw1[:, 0].mean()) if fixed == 0 else float(grids[fixed][[0, -1]].mean())
    rows = []
    for a in grids[swept[0]]:
        for b in grids[swept[1]]:
            row = np.zeros(4)
            row[fixed], row[swept[0]], row[swept[1]], row[3] = value, a, b, digit
            rows.append(row)
    labels = torch.from_numpy(joint_labels(np.array(rows), 0, completer))
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)).float().repeat(len(rows), 1)
    return generate_images(G, z, labels, truncation_psi, noise_mode), SWEEP_COVARIATES[fixed], value


def write_sweep(outdir: Path, images: torch.Tensor, seed: int, name: str, value: float) -> Path:
    """``{outdir}/seed_{seed:04d}/{name}_{value:.1f}.png`` (4 x 4 grid)."""
    return save_image_grid(
        images.float(),
        Path(outdir) / f"seed_{seed:04d}" / f"{name}_{value:.1f}.png",
        nrow=4,
        value_range=(0, 255),
    )
