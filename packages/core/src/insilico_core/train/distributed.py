"""One training function for one process or many: ``torchrun --nproc_per_node N`` data parallelism.

``torchrun`` (``python -m torch.distributed.run``) starts N copies of a program and tells each, through the
environment variables ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``, who it
is. :func:`init_distributed` reads them, joins the process group (NCCL for CUDA devices, gloo for CPU) and
returns a :class:`DistributedInfo`; started without them it returns a single-process info and touches nothing,
so the same code runs both ways. Each process then trains on its share of every batch
(:func:`distributed_sampler`), :func:`wrap_ddp` averages gradients across processes, and only the main process
(rank 0) logs and saves.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from .device import resolve_device


@dataclass(frozen=True)
class DistributedInfo:
    """Who this process is in a (possibly single-process) run.

    ``rank`` of ``world_size`` globally, ``local_rank`` on this machine, the ``device`` it computes on and
    the process-group ``backend`` (``None`` when running as a single process).
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """True on the one process that logs, writes checkpoints and shows progress bars (rank 0)."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from exc


def current_rank() -> int:
    """Global rank of this process: from the process group when it exists, else ``$RANK``, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK", 0)


def init_distributed(device: str | torch.device = "auto", timeout_s: float = 1800.0) -> DistributedInfo:
    """Join the process group ``torchrun`` describes, or describe a single process outside ``torchrun``.

    ``device`` is resolved as in :func:`insilico_core.train.resolve_device`; under ``torchrun`` a CUDA device
    becomes ``cuda:<local_rank>`` (one GPU per process) and selects the NCCL backend, any other device gloo.
    Calling it again after the group exists returns the same description without re-initialising.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    resolved = resolve_device(device)
    if world_size <= 1:
        return DistributedInfo(rank=0, local_rank=0, world_size=1, device=resolved, backend=None)
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed support")
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK={rank} is outside 0..WORLD_SIZE-1={world_size - 1}")
    if resolved.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank} but only {torch.cuda.device_count()} CUDA devices are visible; "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend,
            init_method="env://",
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout_s),
        )
    return DistributedInfo(
        rank=rank, local_rank=local_rank, world_size=world_size, device=resolved, backend=backend
    )


def shutdown_distributed(info: DistributedInfo) -> None:
    """Leave the process group (call once at the end of a distributed run; a no-op for a single process)."""
    if info.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(model: nn.Module, info: DistributedInfo, **ddp_options) -> nn.Module:
    """``DistributedDataParallel(model)`` when running distributed, ``model`` itself otherwise.

    The model must already be on ``info.device``. ``ddp_options`` go to ``DistributedDataParallel`` (e.g.
    ``broadcast_buffers=False``, ``find_unused_parameters=True``). Use :func:`unwrap_model` to reach the
    module for saving, EMA and sampling.
    """
    if not info.is_distributed:
        return model
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, **ddp_options)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` / ``DataParallel`` wrappers (any depth) or ``model``."""
    while isinstance(model, (DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


def distributed_sampler(
    dataset: Sized, info: DistributedInfo, shuffle: bool = True, seed: int = 0, drop_last: bool = False
) -> DistributedSampler:
    """Sampler giving this process its 1/world_size share of the dataset, the same order on every process.

    Works for a single process too (then it yields the whole dataset). Call ``sampler.set_epoch(epoch)`` at
    the start of every epoch so each epoch is shuffled differently (and reproducibly from ``seed``).
    """
    return DistributedSampler(
        dataset, num_replicas=info.world_size, rank=info.rank, shuffle=shuffle, seed=seed, drop_last=drop_last
    )


def all_reduce_mean(tensor: torch.Tensor, info: DistributedInfo) -> torch.Tensor:
    """Mean of ``tensor`` over all processes (a new tensor; ``tensor`` itself is unchanged).

    For logging losses and metrics computed on each process's share of the batch.
    """
    if not info.is_distributed:
        return tensor.clone()
    reduced = tensor.detach().clone()
    dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
    return reduced / info.world_size


def barrier(info: DistributedInfo) -> None:
    """Wait until every process reaches this point (no-op for a single process)."""
    if info.is_distributed:
        if info.backend == "nccl":
            dist.barrier(device_ids=[info.device.index])
        else:
            dist.barrier()
