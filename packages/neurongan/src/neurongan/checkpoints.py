"""Checkpoint files in the original neuron-gan layout (``utils.Checkpointer``), read without running code.

File layout (one ``torch.save`` dict, keys in this order)::

    epoch                int, last completed epoch
    Generator_state      G.state_dict()   (keys depend on stage and fade, see neurongan.models)
    Generator_attrs      {LeakyReLU_neg_slope, N_colors, N_features_per_layer, N_layers, N_layers_max,
                          image_size, image_size_init, image_size_max, latent_dim, training, alpha}
    Discriminator_state  D.state_dict()   (first key: the persistent buffer ``alpha``)
    Discriminator_attrs  the same minus latent_dim
    lr                   float, the base learning rate
    Loss_real, Loss_fake, Loss_G, Loss_D   numpy float64 arrays of length ``epoch``

Files we write add (under new names, ignored by the original) the optimiser states, the random-generator
states and the run configuration, so that a resumed run continues exactly.

The original loads these files with a plain ``torch.load``, which unpickles arbitrary code and fails on
torch >= 2.6. Here they are read with ``weights_only=True`` plus the core's numpy allow-list (numpy-1 and
numpy-2 names); ``trust=True`` falls back to full unpickling for files from a source you trust.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from insilico_core.legacy import load_torch_file
from insilico_core.train import atomic_save

from .models import DiscriminatorPG, GeneratorPG

CheckpointSource = str | os.PathLike[str] | Mapping[str, Any]
LossSeries = Mapping[str, Sequence[float] | np.ndarray] | Sequence[Sequence[float] | np.ndarray]

LOSS_KEYS = ("Loss_real", "Loss_fake", "Loss_G", "Loss_D")
_REQUIRED = {
    "generator": ("Generator_state", "Generator_attrs"),
    "discriminator": ("Discriminator_state", "Discriminator_attrs"),
}


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu", trust: bool = False) -> dict:
    """Read a neuron-gan checkpoint (the original authors' or ours) into a plain dict.

    ``trust=False`` (default) never unpickles code: tensors, containers and numpy arrays only. ``trust=True``
    uses ``torch.load(weights_only=False)``; only do that for files from a source you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"neuron-gan checkpoint {path} does not exist (neurongan-fetch says where "
            "the published weights are)"
        )
    if trust:
        data = torch.load(path, map_location=map_location, weights_only=False)
    else:
        data = load_torch_file(path, allow_numpy=True, map_location=map_location)
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{path} is not a neuron-gan checkpoint: it holds a {type(data).__name__}, not a dict"
        )
    return dict(data)


def _as_dict(source: CheckpointSource, map_location: Any) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    return load_checkpoint(source, map_location=map_location)


def _require(data: Mapping[str, Any], network: str) -> None:
    missing = [key for key in _REQUIRED[network] if key not in data]
    if missing:
        raise ValueError(
            f"not a neuron-gan checkpoint: the {network} entries {missing} are missing "
            f"(found keys {sorted(data)})"
        )


def _alpha_value(attrs: Mapping[str, Any]) -> torch.Tensor:
    alpha = attrs.get("alpha", 1.0)
    return alpha.detach().float().cpu() if isinstance(alpha, torch.Tensor) else torch.tensor(float(alpha))


def _list_index(key: str, prefix: str) -> int | None:
    match = re.match(rf"{re.escape(prefix)}\.(\d+)\.", key)
    return int(match.group(1)) if match else None


def _drop_surplus(state: Mapping[str, torch.Tensor], prefix: str, keep: int, from_start: bool) -> OrderedDict:
    """Keep ``keep`` entries of the module list ``prefix`` (dropping the first or the last ones, renumbering
    from 0 when dropping from the start)."""
    indices = sorted({i for key in state if (i := _list_index(key, prefix)) is not None})
    surplus = len(indices) - keep
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in state.items():
        index = _list_index(key, prefix)
        if index is None:
            out[key] = value
        elif from_start and index >= surplus:
            out[f"{prefix}.{index - surplus}." + key.split(".", 2)[2]] = value
        elif not from_start and index < keep:
            out[key] = value
    return out


def _upgrade_legacy_state(state: Mapping[str, torch.Tensor], net: GeneratorPG | DiscriminatorPG) -> Mapping:
    """The original's "old format" branch: files from an earlier version of its code hold toRGB/fromRGB and
    block lists for every stage plus ``ToIm_prev``/``last_conv_block`` (G) or ``FromIm_prev``/
    ``first_conv_block`` (D) modules. Drop what the current layout no longer has."""
    if isinstance(net, GeneratorPG):
        image_list, image_count, from_start = "ToIm_list", len(net.ToIm_list), True
        stale = ("ToIm_prev", "last_conv_block")
    else:
        image_list, image_count, from_start = "FromIm_list", len(net.FromIm_list), False
        stale = ("FromIm_prev", "first_conv_block")
    stored = {i for key in state if (i := _list_index(key, image_list)) is not None}
    if len(stored) <= image_count:
        return state
    state = _drop_surplus(state, image_list, image_count, from_start)
    state = _drop_surplus(state, "conv_block_list", len(net.conv_block_list), from_start)
    return OrderedDict((k, v) for k, v in state.items() if not k.startswith(stale))


def _build(network: str, attrs: Mapping[str, Any], latent_dim: int | None) -> GeneratorPG | DiscriminatorPG:
    common = {
        "n_features": list(attrs["N_features_per_layer"]),
        "image_size_init": int(attrs["image_size_init"]),
        "leaky_slope": float(attrs.get("LeakyReLU_neg_slope", 0.2)),
        "n_colors": int(attrs.get("N_colors", 1)),
    }
    if network == "generator":
        if latent_dim is None:
            latent_dim = int(attrs.get("latent_dim", 512))
        return GeneratorPG(latent_dim=int(latent_dim), **common)
    return DiscriminatorPG(**common)


def _load_network(network: str, source: CheckpointSource, map_location: Any, latent_dim: int | None = None):
    data = _as_dict(source, map_location)
    _require(data, network)
    state_key, attrs_key = _REQUIRED[network]
    attrs = data[attrs_key]
    net = _build(network, attrs, latent_dim)
    net.set_resolution(int(attrs["image_size"]), _alpha_value(attrs))
    state = _upgrade_legacy_state(data[state_key], net)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"the stored {network} weights do not fit the network rebuilt from {attrs_key} "
            f"(image_size {attrs['image_size']}, alpha {float(_alpha_value(attrs))}): {error}"
        ) from None
    return net.to(map_location) if isinstance(map_location, str | torch.device) else net


def load_generator(
    source: CheckpointSource, map_location: Any = "cpu", latent_dim: int | None = None
) -> GeneratorPG:
    """The generator of a checkpoint (path or loaded dict), grown to the stored resolution and fade, strict.

    The latent size comes from the stored ``latent_dim`` attribute (the original ignored it and used its
    config's 512) unless ``latent_dim`` is given.
    """
    return _load_network("generator", source, map_location, latent_dim)


def load_discriminator(source: CheckpointSource, map_location: Any = "cpu") -> DiscriminatorPG:
    """The discriminator of a checkpoint (path or loaded dict), grown to the stored resolution and fade."""
    return _load_network("discriminator", source, map_location)


def checkpoint_dict(
    G: GeneratorPG,
    D: DiscriminatorPG,
    epoch: int,
    lr: float,
    losses: LossSeries | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The original checkpoint dict (keys and order of ``utils.Checkpointer.save_state``) plus ``extra``.

    ``losses`` maps ``Loss_real``/``Loss_fake``/``Loss_G``/``Loss_D`` to per-epoch values, or lists the four
    series in that order (truncated or zero-padded to ``epoch`` entries, float64 as the original's numpy
    arrays).
    """
    losses = losses if losses is not None else {}
    if not isinstance(losses, Mapping):
        if len(losses) != len(LOSS_KEYS):
            raise ValueError(
                f"losses must map {', '.join(LOSS_KEYS)} to series, or be 4 series in that order"
            )
        losses = dict(zip(LOSS_KEYS, losses, strict=True))
    unknown = set(losses) - set(LOSS_KEYS)
    if unknown:
        raise ValueError(f"unknown loss series {sorted(unknown)}; expected {', '.join(LOSS_KEYS)}")
    if G.image_size != D.image_size:
        raise ValueError(
            f"generator ({G.image_size} px) and discriminator ({D.image_size} px) are at "
            "different resolutions"
        )
    data: dict[str, Any] = {
        "epoch": int(epoch),
        "Generator_state": G.state_dict(),
        "Generator_attrs": G.saved_attrs(),
        "Discriminator_state": D.state_dict(),
        "Discriminator_attrs": D.saved_attrs(),
        "lr": float(lr),
    }
    for key in LOSS_KEYS:
        series = np.zeros(int(epoch), dtype=np.float64)
        values = np.asarray(losses.get(key, []), dtype=np.float64)[: int(epoch)]
        series[: len(values)] = values
        data[key] = series
    data.update(extra or {})
    return data


def save_checkpoint(
    path: str | os.PathLike[str],
    G: GeneratorPG,
    D: DiscriminatorPG,
    epoch: int,
    lr: float,
    losses: LossSeries | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write :func:`checkpoint_dict` to ``path`` (readable by the original code and by ours)."""
    return atomic_save(checkpoint_dict(G, D, epoch, lr, losses, extra), path)
