"""Exact resume: everything a training loop needs to continue a killed run as if it had never stopped.

A run's state is its step counter plus every stateful object — models, EMA, optimisers, LR schedulers,
``GradScaler``, the augmentation pipeline (ADA's ``p``) — plus all random number generators. The loop names
those objects once in a dict and uses three calls::

    objects = {"G": G, "D": D, "G_ema": ema, "opt_G": opt_G, "opt_D": opt_D, "augment": augment_pipe}
    manager = CheckpointManager(run_dir / "checkpoints", keep_last=3)
    start = resume_latest(manager, objects, generators={"data": data_gen})     # 0 when starting fresh
    for step in range(start, total_steps):
        ...train one step...
        if (step + 1) % checkpoint_every == 0:
            save_training_state(manager, step + 1, objects, generators={"data": data_gen}, info=info)

Random draws made after the checkpoint's RNG snapshot are made again identically after a resume, so the final
weights equal those of an uninterrupted run (tested by killing a run with SIGKILL). Models wrapped in
``DistributedDataParallel`` are saved unwrapped (no ``module.`` prefix). Under ``torchrun`` every process's
RNG state is gathered, so every rank continues its own random stream; the file is written by rank 0 only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist

from .checkpoint import CheckpointManager
from .distributed import DistributedInfo, barrier, unwrap_model
from .rng_state import capture_rng_state, restore_rng_state


class Stateful(Protocol):
    """Anything with ``state_dict()`` and ``load_state_dict()``: modules, optimisers, EMA, scalers, ..."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any) -> Any: ...


def _unwrap(obj: Stateful) -> Stateful:
    return unwrap_model(obj) if isinstance(obj, torch.nn.Module) else obj


def training_state(
    step: int,
    objects: Mapping[str, Stateful],
    generators: Mapping[str, torch.Generator] | None = None,
    meta: Mapping[str, Any] | None = None,
    info: DistributedInfo | None = None,
) -> dict[str, Any]:
    """The checkpoint dict ``{"step", "state": {name: state_dict}, "rng": [per-rank RNG state], "meta"}``.

    ``meta`` holds plain values (package name, config, ...). Under ``torchrun`` (``info`` distributed) this is
    a collective call: every process must call it, and every process gets the RNG states of all ranks.
    """
    rng = capture_rng_state(generators)
    if info is not None and info.is_distributed:
        gathered: list[Any] = [None] * info.world_size
        dist.all_gather_object(gathered, rng)
        rng_states = gathered
    else:
        rng_states = [rng]
    return {
        "step": int(step),
        "state": {name: _unwrap(obj).state_dict() for name, obj in objects.items()},
        "rng": rng_states,
        "meta": dict(meta or {}),
    }


def restore_training_state(
    state: Mapping[str, Any],
    objects: Mapping[str, Stateful],
    generators: Mapping[str, torch.Generator] | None = None,
    info: DistributedInfo | None = None,
) -> int:
    """Load every object's state and this process's RNG state from ``state``; returns the step to continue at.

    Every name in ``objects`` must be in the checkpoint (``KeyError`` naming the missing ones otherwise). If
    the run was saved with a different number of processes, RNG states cannot be matched to ranks: the weights
    are restored and a warning says the random streams start afresh.
    """
    saved = state["state"]
    missing = sorted(set(objects) - set(saved))
    if missing:
        raise KeyError(f"checkpoint has no state for {missing}; it holds {sorted(saved)}")
    for name, obj in objects.items():
        _unwrap(obj).load_state_dict(saved[name])
    rank = info.rank if info is not None else 0
    world_size = info.world_size if info is not None else 1
    rng_states = state["rng"]
    if len(rng_states) == world_size:
        restore_rng_state(rng_states[rank], generators)
    else:
        warnings.warn(
            f"checkpoint was written by {len(rng_states)} process(es), this run has {world_size}: random "
            "number generators are not restored, so the resumed run will differ from an uninterrupted one",
            stacklevel=2,
        )
    return int(state["step"])


def save_training_state(
    manager: CheckpointManager,
    step: int,
    objects: Mapping[str, Stateful],
    generators: Mapping[str, torch.Generator] | None = None,
    meta: Mapping[str, Any] | None = None,
    info: DistributedInfo | None = None,
) -> Path | None:
    """Capture :func:`training_state` and write it with ``manager`` on the main process; all ranks then wait.

    Returns the checkpoint path on the main process, ``None`` on the others. Collective under ``torchrun``.
    """
    state = training_state(step, objects, generators=generators, meta=meta, info=info)
    path = manager.save(step, state) if info is None or info.is_main else None
    if info is not None:
        barrier(info)
    return path


def resume_latest(
    manager: CheckpointManager,
    objects: Mapping[str, Stateful],
    generators: Mapping[str, torch.Generator] | None = None,
    info: DistributedInfo | None = None,
    map_location: Any = "cpu",
) -> int:
    """Restore from the newest checkpoint of ``manager`` and return its step (0 when there is none)."""
    state = manager.load_latest(map_location=map_location)
    if state is None:
        return 0
    return restore_training_state(state, objects, generators=generators, info=info)
