"""Seeding: the same seed gives the same draws everywhere, including in DataLoader worker processes."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from insilico_core.train import seed_everything, seed_worker, seeded_loader_kwargs
from torch.utils.data import DataLoader, Dataset


def _draws(generator: torch.Generator) -> tuple:
    return (
        random.random(),
        float(np.random.rand()),
        torch.rand(2).tolist(),
        torch.rand(2, generator=generator).tolist(),
    )


def test_seed_everything_is_deterministic_and_seed_dependent():
    first = _draws(seed_everything(123))
    second = _draws(seed_everything(123))
    other = _draws(seed_everything(124))
    assert first == second
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_seed_everything_rejects_non_integers():
    with pytest.raises(ValueError, match="seed"):
        seed_everything("7")


class _NumpyNoise(Dataset):
    """Each item is a draw from numpy's and Python's global generators (like numpy-based augmentation)."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor([index, np.random.rand(), random.random()], dtype=torch.float64)


def _epoch(seed: int) -> torch.Tensor:
    loader = DataLoader(
        _NumpyNoise(), batch_size=2, shuffle=True, num_workers=2, **seeded_loader_kwargs(seed)
    )
    return torch.cat(list(loader))


def test_loader_workers_are_seeded_reproducibly_and_differently():
    first, second, other = _epoch(5), _epoch(5), _epoch(6)
    assert torch.equal(first, second)  # same order and same worker-side random numbers
    assert not torch.equal(first, other)
    # the two workers must not produce the same numpy / python streams
    worker0, worker1 = first[0::4], first[2::4]  # batches alternate between the two workers
    assert not torch.equal(worker0[:, 1:], worker1[:, 1:])


def test_seed_worker_derives_numpy_and_python_seeds_from_torch_seed():
    torch.manual_seed(2**40 + 17)  # the worker's torch seed; numpy takes it modulo 2**32
    seed_worker(0)
    assert np.random.rand() == np.random.RandomState(17).rand()
    assert random.random() == random.Random(17).random()
