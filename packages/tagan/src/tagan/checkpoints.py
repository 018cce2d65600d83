"""Checkpoint files in the original TA-GAN layout.

``<checkpoints_dir>/<name>/<prefix>_net_<NAME>.pth`` holds a bare state dict (no wrapper, no ``module.``
prefix), exactly what the original ``save_networks`` writes, so the original test.py reads our files and we
read theirs: legacy (torch < 1.6, non-zip) and zip files, always with ``weights_only=True``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn


def read_torch_file(path: str | Path, map_location: str | torch.device = "cpu") -> object:
    """Load a torch file (legacy or zip) without executing code (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise ValueError(f"{path} is not a readable torch state-dict file: {error}") from error


def load_state_dict(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> OrderedDict[str, torch.Tensor]:
    """Read a state dict file and strip a DataParallel ``module.`` prefix if every key carries it."""
    state = read_torch_file(path, map_location)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a bare state dict (name -> tensor) as TA-GAN checkpoints do")
    if state and all(key.startswith("module.") for key in state):
        state = OrderedDict((key[len("module.") :], value) for key, value in state.items())
    return OrderedDict(state)


def drop_instance_norm_statistics(state: dict[str, torch.Tensor], net: nn.Module) -> dict[str, torch.Tensor]:
    """Remove ``running_mean`` / ``running_var`` / ``num_batches_tracked`` entries that belong to InstanceNorm
    layers without running statistics (files of torch < 0.4 carry them), as the original loader does."""
    modules = dict(net.named_modules())
    kept = OrderedDict()
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        module = modules.get(owner)
        stale = (
            isinstance(module, nn.InstanceNorm2d)
            and leaf in ("running_mean", "running_var", "num_batches_tracked")
            and getattr(module, leaf, None) is None
        )
        if not stale:
            kept[key] = value
    return kept


def load_network_weights(
    net: nn.Module, path: str | Path, map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Load ``path`` into ``net`` strictly; a key mismatch names the file and the differing keys."""
    state = drop_instance_norm_statistics(load_state_dict(path, map_location), net)
    expected, found = set(net.state_dict()), set(state)
    if expected != found:
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        raise ValueError(
            f"{path} does not fit the network: {len(missing)} missing keys {missing[:5]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:5]} (wrong --model, --netG/--netS or channels?)"
        )
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"{path} does not fit the network (wrong channel counts or --ngf?): {error}"
        ) from error
    return net


def checkpoint_path(directory: str | Path, prefix: str | int, net_name: str) -> Path:
    """``<directory>/<prefix>_net_<net_name>.pth``, the original file name."""
    return Path(directory) / f"{prefix}_net_{net_name}.pth"


def save_network(net: nn.Module, path: str | Path) -> Path:
    """Write ``net``'s state dict (moved to CPU) as a bare state dict, atomically."""
    state = OrderedDict((key, value.detach().cpu()) for key, value in net.state_dict().items())
    atomic_save(state, Path(path))
    return Path(path)


def atomic_save(obj: object, path: Path) -> None:
    """Write ``obj`` with ``torch.save`` to a temporary file beside ``path``, fsync, then rename: a reader
    never sees a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
