"""The original authors' checkpoint files (``netG_iter_N.pth`` / ``netD_iter_N.pth``) and our own format.

Original files are bare state dicts written by PyTorch 0.2 (legacy serialisation), whose keys contain the
dotted module names of the original (``main.initial.100-512.convt.weight``) and no
``num_batches_tracked``. The configuration is not stored: :func:`infer_original_config` recovers it from
the key set and the tensor shapes (model type, image size, nz, ngf/ndf, nc, red portion, classes, extra
layers, BatchNorm). :func:`export_original_checkpoint` writes our models back in that exact layout, so
the original code (and the authors' notebooks) can read them.

Our own checkpoints (:func:`save_checkpoint` / :func:`load_checkpoint`) are a plain dict of state dicts,
optimiser states and a ``meta`` dict holding the model configuration; they load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from insilico_core.legacy import load_torch_file
from insilico_core.train import atomic_save
from insilico_core.train.checkpoint import atomic_write_bytes
from insilico_core.train.checkpoint import load_checkpoint as load_torch_checkpoint
from torch import nn

from .models import (
    MODEL_TYPES,
    OriginallyNamedSequential,
    build_discriminator,
    build_generator,
    canonical_model_type,
)

_BATCH_COUNTER = "num_batches_tracked"
#: the constructor arguments of each network, as named in a model configuration
_NETWORK_ARGUMENTS = {
    "generator": ("image_size", "nz", "ngf", "nc", "n_classes", "red_portion", "n_extra_layers"),
    "discriminator": ("image_size", "nc", "ndf", "n_classes", "n_extra_layers", "use_batch_norm"),
}


def _network_from_config(network: str, model_type: str, config: Mapping[str, Any]) -> nn.Module:
    """The ``network`` ('generator' or 'discriminator') of ``model_type`` sized by ``config`` (other keys
    ignored), left at PyTorch's default initialisation since a state dict is loaded into it next."""
    build = build_generator if network == "generator" else build_discriminator
    return build(model_type, **{k: config[k] for k in _NETWORK_ARGUMENTS[network]}, original_init=False)


# ----------------------------------------------------------------------------------------------------------
# key mapping


def original_key_map(model: nn.Module) -> OrderedDict[str, str]:
    """Our state-dict key -> the original key, for every entry except ``num_batches_tracked``, in order."""
    mapping: OrderedDict[str, str] = OrderedDict()
    for key in model.state_dict():
        parts = key.split(".")
        if parts[-1] == _BATCH_COUNTER:
            continue
        module, original = model, []
        for part in parts[:-1]:
            if isinstance(module, OriginallyNamedSequential):
                original.append(module.original_names[part])
            else:
                original.append(part)
            module = module._modules[part]
        mapping[key] = ".".join(original + parts[-1:])
    return mapping


def to_original_state_dict(model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """The model's tensors under the original key names and order (CPU, no ``num_batches_tracked``)."""
    state = model.state_dict()
    return OrderedDict(
        (original, state[ours].detach().to("cpu", torch.float32).clone())
        for ours, original in original_key_map(model).items()
    )


def convert_original_state_dict(state_dict: Mapping[str, torch.Tensor], model: nn.Module) -> OrderedDict:
    """Our state dict for ``model`` from an original one.

    ValueError names missing, unexpected or mis-shaped keys. ``num_batches_tracked`` entries are optional in
    the input (absent in torch 0.2 files) and set to 0.
    """
    mapping = original_key_map(model)
    inverse = {original: ours for ours, original in mapping.items()}
    given = {k: v for k, v in state_dict.items() if not k.endswith("." + _BATCH_COUNTER)}
    missing = [k for k in inverse if k not in given]
    unexpected = [k for k in given if k not in inverse]
    if missing or unexpected:
        raise ValueError(
            "the state dict does not match the model: "
            f"missing {missing[:6]}{' ...' if len(missing) > 6 else ''}, "
            f"unexpected {unexpected[:6]}{' ...' if len(unexpected) > 6 else ''}"
        )
    ours_state = model.state_dict()
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, reference in ours_state.items():
        if key.endswith(_BATCH_COUNTER):
            converted[key] = torch.zeros_like(reference)
            continue
        tensor = given[mapping[key]]
        if tuple(tensor.shape) != tuple(reference.shape):
            raise ValueError(
                f"{mapping[key]}: shape {tuple(tensor.shape)} in the file, "
                f"{tuple(reference.shape)} in the model"
            )
        converted[key] = tensor
    return converted


# ----------------------------------------------------------------------------------------------------------
# configuration inference

_DCGAN_G_INITIAL = re.compile(
    r"^initial\.(\d+)-(\d+)\.(convt|convt-sep\.convt_half|convt-sep\.convt_all)\.weight$"
)
_DCGAN_D_INITIAL = re.compile(r"^initial\.(\d+)-(\d+)\.conv\.weight$")


def _sub_dict(state_dict: Mapping[str, torch.Tensor], prefix: str) -> OrderedDict:
    return OrderedDict((k[len(prefix) :], v) for k, v in state_dict.items() if k.startswith(prefix))


def _class_indices(state_dict: Mapping[str, torch.Tensor], pattern: str) -> list[int]:
    found = {int(m.group(1)) for k in state_dict if (m := re.match(pattern, k))}
    return sorted(found)


def _red_portion_from_splits(splits: list[tuple[int, int]]) -> float:
    """A short decimal r with int(n·r) == m for every (n, m) pair (the original's int() truncation)."""
    low = max(m / n for n, m in splits)
    high = min((m + 1) / n for n, m in splits)
    if 0.5 >= low and 0.5 < high:
        return 0.5
    for digits in range(1, 7):
        for candidate in (round(low, digits), round(low + 10**-digits, digits)):
            if low <= candidate < high and all(int(n * candidate) == m for n, m in splits):
                return candidate
    return low


def _dcgan_generator_config(sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, Any], bool]:
    """(config, separable) of a DCGAN_G state dict whose keys start at ``initial.`` / ``pyramid.`` /
    ``final.``; ``red_portion`` is the one the weights were split with, or the builders' 0.5 when the
    generator is not separable."""
    conv_keys = [k for k in sd if k.endswith("weight") and ("convt" in k or "conv" in k.split(".")[-2])]
    separable = any(".convt-sep." in k for k in sd)
    initial = [k for k in conv_keys if k.startswith("initial.")]
    match = _DCGAN_G_INITIAL.match(initial[0]) if initial else None
    if match is None:
        raise ValueError("not a BioGANs DCGAN generator state dict (no initial.<nz>-<c0>.convt weight)")
    nz, c0 = int(match.group(1)), int(match.group(2))
    first = sd[initial[0]]
    start_size = tuple(first.shape[-2:])
    pyramid = sorted(
        {k.split(".")[1] for k in conv_keys if k.startswith("pyramid.")}, key=lambda s: -int(s.split("-")[0])
    )
    extra = sorted({k.split(".")[0] for k in sd if k.startswith("extra-layers-")})
    final = [k for k in conv_keys if k.startswith("final.")]
    if not final:
        raise ValueError("not a BioGANs DCGAN generator state dict (no final layer)")
    nc = int(final[0].split(".")[1].split("-")[1])
    doublings = len(pyramid) + 1
    config: dict[str, Any] = {
        "nz": nz,
        "ngf": 2 * c0 // 2**doublings,
        "nc": nc,
        "image_size": (start_size[0] * 2**doublings, start_size[1] * 2**doublings),
        "n_extra_layers": len(extra),
        "red_portion": 0.5,
    }
    if separable:
        splits = []
        for key in conv_keys:
            if key.endswith("convt_half.weight"):
                half, whole = sd[key], sd[key.replace("convt_half", "convt_all")]
                c_in, c_out = whole.shape[0], half.shape[1] + whole.shape[1]
                splits += [(c_in, half.shape[0]), (c_out, half.shape[1])]
        config["red_portion"] = _red_portion_from_splits(splits)
    return config, separable


def _dcgan_discriminator_config(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Config of a DCGAN_D state dict whose keys start at ``initial.`` / ``pyramid.`` / ``final.``."""
    initial = [m for k in sd if (m := _DCGAN_D_INITIAL.match(k))]
    if not initial:
        raise ValueError("not a BioGANs DCGAN discriminator state dict (no initial.<nc>-<ndf>.conv weight)")
    nc, ndf = int(initial[0].group(1)), int(initial[0].group(2))
    pyramid = {k.split(".")[1] for k in sd if k.startswith("pyramid.") and k.endswith(".conv.weight")}
    final = [k for k in sd if k.startswith("final.")]
    if len(final) != 1:
        raise ValueError("not a BioGANs DCGAN discriminator state dict (no single final layer)")
    final_size = tuple(sd[final[0]].shape[-2:])
    doublings = len(pyramid) + 1
    return {
        "nc": nc,
        "ndf": ndf,
        "image_size": (final_size[0] * 2**doublings, final_size[1] * 2**doublings),
        "n_extra_layers": len({k.split(".")[0] for k in sd if k.startswith("extra-layers-")}),
        "use_batch_norm": any(".batchnorm." in k for k in sd),
    }


def infer_original_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The configuration of an original state dict (generator or discriminator), from keys and shapes.

    Returns a dict with ``network`` ('generator' or 'discriminator'), ``model_type`` (for discriminators
    'DCGAN' or 'DCGAN-star-shaped', which also serves the independent models) and the constructor
    arguments (``image_size``, ``nz``, ``ngf``, ``nc``, ``n_classes``, ``red_portion``, ``n_extra_layers`` for
    generators; ``image_size``, ``nc``, ``ndf``, ``n_classes``, ``n_extra_layers``, ``use_batch_norm`` for
    discriminators). ValueError if the keys are not a BioGANs network's.
    """
    sd = OrderedDict((k[len("main.") :], v) for k, v in state_dict.items() if k.startswith("main."))
    if not sd or len(sd) != len(state_dict):
        raise ValueError("not a BioGANs state dict: every key must start with 'main.'")
    if "0.convt_red.weight" in sd:
        n_classes = len(_class_indices(sd, r"^0\.convt_green\.(\d+)\.weight$"))
        levels = _class_indices(sd, r"^(\d+)\.convt_red\.weight$")
        red, green = sd["0.convt_red.weight"], sd["0.convt_green.0.weight"]
        nz = green.shape[0]
        c0 = red.shape[1] + green.shape[1]
        doublings = len(levels) - 1
        final_red, final_green = (
            sd[f"{levels[-1]}.convt_red.weight"],
            sd[f"{levels[-1]}.convt_green.0.weight"],
        )
        return {
            "network": "generator",
            "model_type": "DCGAN-star-shaped",
            "image_size": (red.shape[2] * 2**doublings, red.shape[3] * 2**doublings),
            "nz": nz,
            "ngf": 2 * c0 // 2**doublings,
            "nc": final_red.shape[1] + final_green.shape[1],
            "n_classes": n_classes,
            "red_portion": _red_portion_from_splits([(nz, red.shape[0])]),
            "n_extra_layers": 0,
        }
    if next(iter(sd)).startswith("0.main."):
        classes = _class_indices(sd, r"^(\d+)\.main\.")
        first = _sub_dict(sd, "0.main.")
        if any(k.endswith("convt_red.weight") for k in first):
            raise ValueError("unexpected nested star-shaped generator")
        if any("convt" in k for k in first):
            config, separable = _dcgan_generator_config(first)
            config.update(
                network="generator",
                model_type="DCGAN-sep-independent" if separable else "DCGAN-independent",
                n_classes=len(classes),
            )
            return config
        config = _dcgan_discriminator_config(first)
        config.update(network="discriminator", model_type="DCGAN-star-shaped", n_classes=len(classes))
        return config
    if any("convt" in k for k in sd):
        config, separable = _dcgan_generator_config(sd)
        multichannel = config["nc"] > 2
        model_type = {
            (False, False): "DCGAN",
            (True, False): "DCGAN-sep",
            (False, True): "DCGAN-multichannel",
            (True, True): "DCGAN-sep-multichannel",
        }[(separable, multichannel)]
        config.update(
            network="generator", model_type=model_type, n_classes=config["nc"] - 1 if multichannel else 6
        )
        return config
    config = _dcgan_discriminator_config(sd)
    multichannel = config["nc"] > 2
    config.update(
        network="discriminator",
        model_type="DCGAN-multichannel" if multichannel else "DCGAN",
        n_classes=config["nc"] - 1 if multichannel else 6,
    )
    return config


# ----------------------------------------------------------------------------------------------------------
# loading and exporting original files


def load_original_state_dict(path: str | Path) -> OrderedDict[str, torch.Tensor]:
    """The state dict of an original ``netG_iter_N.pth`` / ``netD_iter_N.pth`` (legacy or zip format),
    read with the core's restricted loader (no code is unpickled)."""
    state = load_torch_file(path)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    return OrderedDict(state)


_COMPATIBLE_TYPES = {
    # a discriminator file is the same for these model types
    "DCGAN-star-shaped": ("DCGAN-star-shaped", "DCGAN-independent", "DCGAN-sep-independent"),
    "DCGAN": ("DCGAN", "DCGAN-sep"),
    "DCGAN-multichannel": ("DCGAN-multichannel", "DCGAN-sep-multichannel"),
}


def load_original_checkpoint(path: str | Path, model_type: str | None = None, **overrides: Any) -> nn.Module:
    """A generator or discriminator (in eval mode) from an original ``netG_iter_N.pth`` / ``netD_iter_N.pth``.

    The architecture is inferred from the file's keys and shapes; ``model_type`` (any capitalisation), when
    given, is checked against it, and ``overrides`` (e.g. ``image_size``, ``n_classes``) replace inferred
    constructor arguments. ValueError names the mismatch when the file does not fit.
    """
    state = load_original_state_dict(path)
    try:
        config = infer_original_config(state)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    network = config.pop("network")
    inferred_type = config.pop("model_type")
    if model_type is not None:
        wanted = canonical_model_type(model_type)
        compatible = (
            _COMPATIBLE_TYPES.get(inferred_type, (inferred_type,))
            if network == "discriminator"
            else (inferred_type,)
        )
        if wanted not in compatible:
            raise ValueError(f"{path}: the file holds a {inferred_type} {network}, not a {wanted} one")
        inferred_type = wanted
    config.update(overrides)
    model = _network_from_config(network, inferred_type, config)
    try:
        model.load_state_dict(convert_original_state_dict(state, model))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    model.original_config = {"model_type": inferred_type, **config}
    return model.eval()


def export_original_checkpoint(model: nn.Module, path: str | Path) -> Path:
    """Write ``model`` as the original ``torch.save(net.state_dict())`` file: an OrderedDict under the
    original key names, CPU float32, no ``num_batches_tracked``, legacy (non-zip) serialisation; atomic."""
    buffer = io.BytesIO()
    torch.save(to_original_state_dict(model), buffer, _use_new_zipfile_serialization=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue())


# ----------------------------------------------------------------------------------------------------------
# our own checkpoints

PACKAGE = "biogans"
FORMAT_VERSION = 1


def save_checkpoint(
    path: str | Path,
    netG: nn.Module,
    netD: nn.Module,
    config: Mapping[str, Any],
    iteration: int,
    optimizerG: torch.optim.Optimizer | None = None,
    optimizerD: torch.optim.Optimizer | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Atomically write G, D, optimiser states and ``meta`` (package, format, model config, iteration).

    ``config`` holds plain values only (model type, sizes, algorithm, class names ...)."""
    state: dict[str, Any] = {
        "netG": netG.state_dict(),
        "netD": netD.state_dict(),
        "meta": {
            "package": PACKAGE,
            "format": FORMAT_VERSION,
            "config": dict(config),
            "iteration": int(iteration),
        },
    }
    if optimizerG is not None:
        state["optimizerG"] = optimizerG.state_dict()
    if optimizerD is not None:
        state["optimizerD"] = optimizerD.state_dict()
    if extra:
        state.update(extra)
    return atomic_save(state, path)


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """One of our checkpoints with its networks rebuilt: a dict with ``netG``, ``netD`` (modules, eval mode),
    ``meta`` and the raw ``optimizerG`` / ``optimizerD`` states when present."""
    state = load_torch_checkpoint(path, map_location=map_location)
    meta = state.get("meta") if isinstance(state, dict) else None
    if not meta or meta.get("package") != PACKAGE:
        raise ValueError(f"{path}: not a biogans checkpoint (no meta with package 'biogans')")
    config = meta["config"]
    model_type = config["model_type"]
    if model_type not in MODEL_TYPES:
        raise ValueError(f"{path}: unknown model type {model_type!r} in meta")
    netG = _network_from_config("generator", model_type, config)
    netD = _network_from_config("discriminator", model_type, config)
    netG.load_state_dict(state["netG"])
    netD.load_state_dict(state["netD"])
    return {**state, "netG": netG.eval(), "netD": netD.eval()}


def load_weights_into(model: nn.Module, path: str | Path, network: str) -> nn.Module:
    """Load ``--netG`` / ``--netD`` (``network`` = 'netG' or 'netD') into a built model: one of our
    checkpoints (its ``network`` entry) or an original state dict (keys mapped); returns the model."""
    state = load_torch_file(path)
    if isinstance(state, Mapping) and "meta" in state:
        if network not in state:
            raise ValueError(f"{path}: our checkpoint has no {network} entry")
        model.load_state_dict(state[network])
        return model
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    try:
        model.load_state_dict(convert_original_state_dict(state, model))
    except ValueError as error:
        raise ValueError(f"{path} does not fit the model built from the flags: {error}") from None
    return model
