"""Checkpoint files in the original Multi-StyleGAN layout (spec section 4.5), read and written safely.

A checkpoint is one ``torch.save`` dict with, in this order, ``generator_ema``, ``generator``,
``generator_optimizer``, ``discriminator``, ``discriminator_optimizer``, ``path_length_regularization``.
The released run (``--data_parallel`` with ADA) prefixed generator keys with ``module.`` and discriminator
keys with ``discriminator.module.``; our writer uses the same prefixes by default, so the original scripts
read our files. Two additions, both ignored by the original scripts: ``path_length_regularization`` holds
the running mean ``mean_path_length`` (the original never saved it), and a ``meta`` entry records the
package, the model configs, the finished epoch and the ADA probability, so training resumes where it
stopped. Files are read with ``weights_only=True`` (no code from the file runs) and written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from insilico_core.legacy import load_torch_file, strip_prefix
from insilico_core.train import atomic_save
from torch import nn

from .models import Discriminator, Generator

__all__ = [
    "CHECKPOINT_KEYS",
    "discriminator_config_from_state_dict",
    "generator_config_from_state_dict",
    "load_checkpoint",
    "load_discriminator",
    "load_generator",
    "save_checkpoint",
    "unwrap_state_dict",
]

CHECKPOINT_KEYS = (
    "generator_ema",
    "generator",
    "generator_optimizer",
    "discriminator",
    "discriminator_optimizer",
    "path_length_regularization",
)
NETWORK_KEYS = ("generator_ema", "generator", "discriminator")
GENERATOR_PREFIXES = ("module.",)
# Longest first: the ADA wrapper around DataParallel, the ADA wrapper alone, DataParallel alone
DISCRIMINATOR_PREFIXES = ("discriminator.module.", "discriminator.", "module.")
SAVE_PREFIXES = {"original": ("module.", "discriminator.module."), "none": ("", "")}


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict (original or ours) read with ``weights_only=True``.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a Multi-StyleGAN
    checkpoint (no ``generator_ema`` / ``generator`` / ``discriminator`` entry).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    checkpoint = load_torch_file(path, map_location=map_location)
    if not isinstance(checkpoint, dict) or not any(key in checkpoint for key in NETWORK_KEYS):
        found = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(
            f"{path} is not a Multi-StyleGAN checkpoint: expected the entries "
            f"{', '.join(CHECKPOINT_KEYS)}; found {found}"
        )
    return checkpoint


def unwrap_state_dict(
    state_dict: dict[str, torch.Tensor], prefixes: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """Strip the first matching wrapper prefix (``module.``, ``discriminator.module.``, ...) from each key."""
    return dict(strip_prefix(state_dict, prefixes))


def generator_config_from_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The generator config (width, stages, latent size, mapping depth) implied by an unwrapped state dict."""
    try:
        constant = state_dict["constant_input_1.input"]
        latent = state_dict["style_mapping.layers.1.weight"].shape[1]
    except KeyError as error:
        raise ValueError(f"not a Multi-StyleGAN generator state dict: missing {error.args[0]!r}") from error
    depth = sum(
        1 for key in state_dict if key.startswith("style_mapping.layers.") and key.endswith(".weight")
    )
    channels = [constant.shape[1]]
    stage = 0
    while f"main_convolutions_1.{2 * stage}.modulated_convolution.weight" in state_dict:
        channels.append(state_dict[f"main_convolutions_1.{2 * stage}.modulated_convolution.weight"].shape[1])
        stage += 1
    return {
        "channels": tuple(channels),
        "channel_factor": 1,
        "latent_dimensions": latent,
        "depth_style_mapping": depth,
        "starting_resolution": tuple(constant.shape[2:]),
    }


def _block_channels(state_dict: dict[str, torch.Tensor], prefix: str) -> tuple[int, int]:
    """(in, out) channels of a residual or non-local block from its weights."""
    if f"{prefix}.theta.weight" in state_dict:
        return state_dict[f"{prefix}.theta.weight"].shape[1], state_dict[f"{prefix}.o.weight"].shape[0]
    weight = state_dict[f"{prefix}.main_mapping.0.weight"]
    return weight.shape[1], weight.shape[0]


def _blocks_channels(state_dict: dict[str, torch.Tensor], prefix: str) -> list[tuple[int, int]]:
    """(in, out) channels of the blocks ``<prefix>.0``, ``<prefix>.1``, ... up to the first index that holds
    neither a residual (``main_mapping``) nor a non-local (``theta``) block."""
    channels: list[tuple[int, int]] = []
    while (
        f"{prefix}.{len(channels)}.main_mapping.0.weight" in state_dict
        or f"{prefix}.{len(channels)}.theta.weight" in state_dict
    ):
        channels.append(_block_channels(state_dict, f"{prefix}.{len(channels)}"))
    return channels


def discriminator_config_from_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, Any], int]:
    """(config, input planes) implied by an unwrapped discriminator state dict; planes 6 = BF + GFP."""
    if "encoder_blocks.0.main_mapping.0.weight" not in state_dict:
        raise ValueError(
            "not a Multi-StyleGAN discriminator state dict: missing 'encoder_blocks.0.main_mapping.0.weight'"
        )
    encoder = _blocks_channels(state_dict, "encoder_blocks")
    decoder = _blocks_channels(state_dict, "decoder_blocks")
    planes = encoder[0][0]
    # The mini-batch standard deviation adds one input channel to the last two encoder blocks
    encoder = [(3, encoder[0][1])] + [
        (c_in - (index >= len(encoder) - 2), c_out)
        for index, (c_in, c_out) in enumerate(encoder)
        if index > 0
    ]
    return {"encoder_channels": tuple(encoder), "decoder_channels": tuple(decoder), "fft": False}, planes


def _state_dict_entry(
    checkpoint: dict[str, Any], which: str, path: str | os.PathLike
) -> dict[str, torch.Tensor]:
    if which not in checkpoint:
        raise ValueError(
            f"checkpoint {path} has no {which!r} entry (it has {', '.join(map(str, checkpoint))})"
        )
    return checkpoint[which]


def load_generator(
    path: str | os.PathLike,
    which: str = "generator_ema",
    device: str | torch.device = "cpu",
    config: dict[str, Any] | None = None,
) -> Generator:
    """A ``Generator`` in eval mode with the weights of ``checkpoint[which]`` (``generator_ema`` or
    ``generator``), loaded strictly after stripping ``module.``.

    config: the generator config; by default our ``meta`` entry's, else inferred from the weights' shapes
    (so width-reduced checkpoints load too).
    """
    if which not in ("generator_ema", "generator"):
        raise ValueError(f"which must be 'generator_ema' or 'generator', got {which!r}")
    checkpoint = load_checkpoint(path)
    state_dict = unwrap_state_dict(_state_dict_entry(checkpoint, which, path), GENERATOR_PREFIXES)
    if config is None:
        config = checkpoint.get("meta", {}).get("generator_config") or generator_config_from_state_dict(
            state_dict
        )
    generator = Generator(config=config)
    generator.load_state_dict(state_dict, strict=True)
    return generator.to(device).eval()


def load_discriminator(
    path: str | os.PathLike, device: str | torch.device = "cpu", config: dict[str, Any] | None = None
) -> Discriminator:
    """A ``Discriminator`` in eval mode with ``checkpoint['discriminator']``, loaded strictly after stripping
    ``discriminator.module.`` / ``discriminator.`` / ``module.``; config inferred from the weights unless
    given. The input domains (BF + GFP, BF only, or BF + GFP + RFP) follow the first layer's width."""
    checkpoint = load_checkpoint(path)
    state_dict = unwrap_state_dict(
        _state_dict_entry(checkpoint, "discriminator", path), DISCRIMINATOR_PREFIXES
    )
    inferred, planes = discriminator_config_from_state_dict(state_dict)
    if planes not in (3, 6, 9):
        raise ValueError(f"discriminator in {path} takes {planes} input planes; expected 3, 6 or 9")
    discriminator = Discriminator(config=config or inferred, no_rfp=planes == 6, no_gfp=planes == 3)
    discriminator.load_state_dict(state_dict, strict=True)
    return discriminator.to(device).eval()


def _prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + key: value.detach().cpu() for key, value in module.state_dict().items()}


def save_checkpoint(
    path: str | os.PathLike,
    generator_ema: Generator,
    generator: Generator,
    generator_optimizer: torch.optim.Optimizer,
    discriminator: Discriminator,
    discriminator_optimizer: torch.optim.Optimizer,
    path_length_regularization: nn.Module,
    prefixes: str = "original",
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint in the original layout, atomically; returns its path.

    The networks must be the plain modules (not DDP-wrapped). prefixes: ``"original"`` writes the keys of the
    released ``--data_parallel`` + ADA run (``module.`` / ``discriminator.module.``), so the original scripts
    load the file; ``"none"`` writes bare keys. meta: extra information kept under ``meta`` (plain values).
    """
    if prefixes not in SAVE_PREFIXES:
        raise ValueError(f"prefixes must be one of {sorted(SAVE_PREFIXES)}, got {prefixes!r}")
    generator_prefix, discriminator_prefix = SAVE_PREFIXES[prefixes]
    checkpoint: dict[str, Any] = {
        "generator_ema": _prefixed(generator_ema, generator_prefix),
        "generator": _prefixed(generator, generator_prefix),
        "generator_optimizer": generator_optimizer.state_dict(),
        "discriminator": _prefixed(discriminator, discriminator_prefix),
        "discriminator_optimizer": discriminator_optimizer.state_dict(),
        "path_length_regularization": {
            key: value.detach().cpu() for key, value in path_length_regularization.state_dict().items()
        },
    }
    if meta is not None:
        checkpoint["meta"] = meta
    path = Path(path)
    atomic_save(checkpoint, path)
    return path
