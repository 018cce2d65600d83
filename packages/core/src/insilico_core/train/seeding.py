"""Seeding every source of randomness a run uses, including DataLoader worker processes.

Every entry point takes ``--seed`` and calls :func:`seed_everything` first. DataLoader workers are separate
processes whose numpy and Python generators would otherwise start identical in every worker (or, with fork, as
copies of the parent's): :func:`seed_worker` derives them from the per-worker torch seed that the loader's own
``generator`` determines, so augmentations are different across workers and identical across runs.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all CUDA devices) with ``seed``.

    Returns a fresh CPU ``torch.Generator`` seeded with ``seed`` for the run's own draws (data order, noise),
    which, unlike the global generator, library code cannot advance behind the run's back.
    ``deterministic=True`` also asks torch for deterministic kernels (``torch.use_deterministic_algorithms``
    with warnings for ops that have none, cuDNN autotuning off), trading speed for bitwise repeatable GPU
    runs.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for ``DataLoader``: seed numpy and ``random`` in a worker from its torch seed.

    torch gives each worker the seed ``base_seed + worker_id``, where ``base_seed`` comes from the loader's
    ``generator``; this function passes that seed on to the generators torch does not manage.
    """
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def seeded_loader_kwargs(seed: int, rank: int = 0) -> dict[str, Any]:
    """``generator`` and ``worker_init_fn`` arguments for a reproducible ``DataLoader``.

    ``DataLoader(dataset, shuffle=True, **seeded_loader_kwargs(seed, rank))`` shuffles in the same order on
    every run with this seed; ``rank`` (the process's distributed rank) gives each process its own stream of
    worker seeds so augmentations differ between processes.
    """
    # a large prime stride keeps the ranks of one run apart from the ranks of a run with a nearby seed
    generator = torch.Generator().manual_seed(seed + 1_000_003 * rank)
    return {"generator": generator, "worker_init_fn": seed_worker}
