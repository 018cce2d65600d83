"""Checkpoint files in the original TA-GAN layout.

``<checkpoints_dir>/<name>/<prefix>_net_<NAME>.pth`` holds a bare state dict (no wrapper, no ``module.``
prefix), exactly what the original ``save_networks`` writes, so the original test.py reads our files and we
read theirs: legacy (torch < 1.6, non-zip) and zip files, always with ``weights_only=True``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from insilico_core.legacy import load_torch_file, strip_prefix
from insilico_core.train import atomic_save
from torch import nn


def load_state_dict(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> OrderedDict[str, torch.Tensor]:
    """Read a state dict file (legacy or zip, never executing code) and strip DataParallel ``module.``
    prefixes."""
    state = load_torch_file(path, map_location=map_location)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a bare state dict (name -> tensor) as TA-GAN checkpoints do")
    return strip_prefix(state, "module.")


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
    atomic_save(state, path)
    return Path(path)
