"""Latent codes: the fixed noise batches of the sample grids (``generate_fixed_noise``)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from insilico_core.legacy import load_torch_file

from .train_step import latent_noise

#: samples sharing one red code in a fixed-noise batch of a separable generator
GROUP_SIZE = 8


def make_fixed_noise(
    batch: int, nz: int, red_portion: float = 0.5, separable: bool = False, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """z ~ N(0, 1) ``[batch, nz, 1, 1]``; for separable generators the batch is cut into groups of 8 and rows
    1..7 of a group copy row 0's first int(nz·red_portion) entries (one cell, different proteins)."""
    noise = latent_noise(batch, nz, device)
    if separable:
        n_red = int(nz * red_portion)
        for group in range(math.ceil(batch / GROUP_SIZE)):
            start = group * GROUP_SIZE
            for row in range(1, min(GROUP_SIZE, batch - start)):
                noise[start + row, :n_red] = noise[start, :n_red]
    return noise


def load_fixed_noise(path: str | Path, nz: int | None = None) -> torch.Tensor:
    """A fixed-noise file (``fixed_noise_batch64_dim100.pth``: a float tensor ``[N, nz, 1, 1]``, PyTorch 0.2
    legacy format), checked to be 4-D and, when ``nz`` is given, to have nz latent entries."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"fixed noise file {path} does not exist (the original files ship in the authors' repository "
            "under experiments/models_6class_*/; without --fixed_noise_file the noise comes from the seed)"
        )
    noise = load_torch_file(path)
    if not isinstance(noise, torch.Tensor) or noise.dim() != 4 or noise.shape[2:] != (1, 1):
        raise ValueError(
            f"{path}: expected a tensor [N, nz, 1, 1], got {getattr(noise, 'shape', type(noise))}"
        )
    if nz is not None and noise.shape[1] != nz:
        raise ValueError(
            f"{path}: the noise has {noise.shape[1]} latent entries, the model expects --nz {nz}"
        )
    return noise.float()
