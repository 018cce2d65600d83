"""Training infrastructure shared by every paper package.

* :mod:`.checkpoint` — atomic writes (:func:`atomic_save`, :func:`atomic_write_bytes`), numbered checkpoints
  with pruning and resume (:class:`CheckpointManager`), weights-only loading (:func:`load_checkpoint`).
* :mod:`.rng_state` — :func:`capture_rng_state` / :func:`restore_rng_state` for python, numpy, torch, CUDA.
* :mod:`.resume` — exact resume of a whole run: :func:`save_training_state`, :func:`resume_latest`.
* :mod:`.ema` — :class:`EMA` of weights (fixed beta or StyleGAN2-ADA half-life with ramp-up).
* :mod:`.seeding` — :func:`seed_everything`, :func:`seed_worker`, :func:`seeded_loader_kwargs`.
* :mod:`.device` / :mod:`.precision` — :func:`resolve_device`, :func:`to_channels_last`, :func:`autocast`,
  :func:`grad_scaler` (``--precision fp32|bf16|fp16``).
* :mod:`.distributed` — ``torchrun`` data parallelism: :func:`init_distributed`, :func:`wrap_ddp`,
  :func:`distributed_sampler`, :func:`all_reduce_mean`, :func:`barrier`.
* :mod:`.sampler` — :class:`ResumableSampler`, an endless data order a resumed run re-enters at any sample.
* :mod:`.progress`, :mod:`.metrics_log`, :mod:`.image_grid`, :mod:`.cadence` — progress bars, metric logs,
  PNG sample grids and "every N steps" schedules.
"""

from .cadence import Cadence
from .checkpoint import CheckpointManager, atomic_save, atomic_write_bytes, load_checkpoint
from .device import resolve_device, to_channels_last
from .distributed import (
    DistributedInfo,
    all_reduce_mean,
    barrier,
    current_rank,
    distributed_sampler,
    init_distributed,
    shutdown_distributed,
    unwrap_model,
    wrap_ddp,
)
from .ema import EMA, beta_from_half_life
from .image_grid import make_image_grid, save_image_grid
from .metrics_log import MetricsLogger
from .precision import PRECISIONS, autocast, grad_scaler
from .progress import progress
from .resume import restore_training_state, resume_latest, save_training_state, training_state
from .rng_state import capture_rng_state, restore_rng_state
from .sampler import ResumableSampler
from .seeding import seed_everything, seed_worker, seeded_loader_kwargs

__all__ = [
    "EMA",
    "MetricsLogger",
    "PRECISIONS",
    "ResumableSampler",
    "Cadence",
    "CheckpointManager",
    "DistributedInfo",
    "all_reduce_mean",
    "atomic_save",
    "atomic_write_bytes",
    "autocast",
    "barrier",
    "beta_from_half_life",
    "capture_rng_state",
    "current_rank",
    "distributed_sampler",
    "grad_scaler",
    "init_distributed",
    "load_checkpoint",
    "make_image_grid",
    "progress",
    "resolve_device",
    "restore_rng_state",
    "restore_training_state",
    "resume_latest",
    "save_image_grid",
    "save_training_state",
    "seed_everything",
    "seed_worker",
    "seeded_loader_kwargs",
    "shutdown_distributed",
    "to_channels_last",
    "training_state",
    "unwrap_model",
    "wrap_ddp",
]
