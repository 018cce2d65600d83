"""Reading and writing MSSG / StyleGAN2-ADA / StyleGAN3 network snapshots, never running code from a file.

Two formats are read by :func:`load_snapshot`:

* the originals' ``network-snapshot-*.pkl`` (``pickle.dump`` of ``{G, D, G_ema, augment_pipe,
  training_set_kwargs}`` with ``torch_utils.persistence`` records) — through
  :func:`insilico_core.legacy.read_persistent_pickle`, which builds plain records and never executes the
  embedded module source. Our modules are then built from each record's class name + init kwargs (the family
  is told from the module source: ``SynthesisInput`` means StyleGAN3) and filled from its tensors;
* our own snapshot (:func:`save_snapshot`): a ``torch.save`` zip with only state dicts, init kwargs and plain
  metadata, loadable with ``torch.load(weights_only=True)``.

The augmentation pipeline (present when trained with ``--aug ada`` or ``--aug fixed``) is rebuilt as
:class:`insilico_core.augment.AugmentPipe` from its recorded init kwargs, with its buffers (``p``,
``Hz_geom``, ``Hz_fbank``) loaded, so its current augmentation probability is ``augment_pipe.p``.
"""

from __future__ import annotations

import inspect
import zipfile
from pathlib import Path
from typing import Any

import torch
from insilico_core.augment import AugmentPipe
from insilico_core.legacy import LegacyFormatError, PersistentRecord, read_persistent_pickle
from insilico_core.train import atomic_save, load_checkpoint
from torch import nn

from mssg.networks import Discriminator, stylegan2, stylegan3

SNAPSHOT_FORMAT = "mssg-snapshot"
SNAPSHOT_VERSION = 1
NETWORK_KEYS = ("G", "D", "G_ema")

# Our classes, by the name save_snapshot records.
NETWORK_CLASSES: dict[str, type[nn.Module]] = {
    "stylegan2.Generator": stylegan2.Generator,
    "stylegan3.Generator": stylegan3.Generator,
    "Discriminator": Discriminator,
}


def network_class_name(module: nn.Module) -> str:
    """The name :data:`NETWORK_CLASSES` knows ``module``'s class by."""
    for name, cls in NETWORK_CLASSES.items():
        if type(module) is cls:
            return name
    raise ValueError(f"{type(module).__name__} is not an MSSG network ({', '.join(NETWORK_CLASSES)})")


def _generator_family(record: PersistentRecord) -> str:
    """StyleGAN3 code defines ``SynthesisInput`` (child ``synthesis.input``); StyleGAN2 code does not."""
    synthesis = record.children.get("synthesis")
    if "class SynthesisInput" in record.module_src or (
        synthesis is not None and "input" in synthesis.children
    ):
        return "stylegan3.Generator"
    return "stylegan2.Generator"


def _constructor_kwargs(
    params: list[str], init_args: tuple, init_kwargs: dict[str, Any], what: str
) -> dict[str, Any]:
    """A recorded constructor call as keyword arguments: the positional ``init_args`` named by ``params``
    (the constructor's parameter order), then ``init_kwargs``.

    Raises:
        LegacyFormatError: more positional arguments than ``params`` (``what`` names the object).
    """
    if len(init_args) > len(params):
        raise LegacyFormatError(
            f"{what} has {len(init_args)} positional init args, expected <= {len(params)}"
        )
    return {**dict(zip(params, init_args, strict=False)), **init_kwargs}


def _record_kwargs(record: PersistentRecord, name: str) -> dict[str, Any]:
    """Constructor kwargs of a record (positional init args mapped onto the stock parameter order)."""
    params = {
        "Generator": ["z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs"],
        "Discriminator": [
            "c_dim",
            "img_resolution",
            "img_channels",
            "architecture",
            "channel_base",
            "channel_max",
            "num_fp16_res",
            "conv_clamp",
            "cmap_dim",
            "block_kwargs",
            "mapping_kwargs",
            "epilogue_kwargs",
        ],
    }[record.class_name]
    return _constructor_kwargs(params, record.init_args, record.init_kwargs, f"snapshot network {name!r}")


def module_from_record(record: PersistentRecord, name: str = "network") -> nn.Module:
    """Build our network for a persistence record (``Generator`` / ``Discriminator``) and load its tensors.

    Raises:
        LegacyFormatError: unknown class, constructor kwargs we do not know, or tensors that do not fit.
    """
    if record.class_name == "Generator":
        class_key = _generator_family(record)
        kwargs = _record_kwargs(record, name)
    elif record.class_name == "Discriminator":
        class_key = "Discriminator"
        kwargs = _record_kwargs(record, name)
        # MSSG's D has no label mapping and a 1 + c_dim wide ``out``; stock D projects through ``mapping``.
        kwargs["conditioning"] = "projection" if record.children.get("mapping") is not None else "aux"
    else:
        raise LegacyFormatError(
            f"snapshot network {name!r} is a {record.class_name!r}; only StyleGAN2/3 'Generator' and "
            "'Discriminator' networks can be loaded"
        )
    return _build(class_key, kwargs, record.state_dict(), name)


def _build(
    class_key: str, kwargs: dict[str, Any], state_dict: dict[str, torch.Tensor], name: str
) -> nn.Module:
    cls = NETWORK_CLASSES[class_key]
    try:
        module = cls(**kwargs)
    except TypeError as error:
        raise LegacyFormatError(
            f"snapshot network {name!r} ({class_key}) has init kwargs we cannot build: {error}"
        ) from None
    missing, unexpected = [], []
    own = module.state_dict()
    for key in own:
        if key not in state_dict:
            missing.append(key)
    for key, value in state_dict.items():
        if key not in own:
            unexpected.append(key)
        elif own[key].shape != value.shape:
            raise LegacyFormatError(
                f"snapshot network {name!r}: {key} has shape {tuple(value.shape)}, the network built "
                f"from its init kwargs expects {tuple(own[key].shape)}"
            )
    if missing or unexpected:
        raise LegacyFormatError(
            f"snapshot network {name!r} ({class_key}) does not match its init kwargs: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    module.load_state_dict(state_dict)
    return module


def restore_augment_pipe(
    init_kwargs: dict[str, Any], state_dict: dict[str, torch.Tensor], init_args: tuple = ()
) -> AugmentPipe:
    """Our AugmentPipe from a snapshot's constructor arguments and tensors (``p``, ``Hz_geom``, ``Hz_fbank``).

    Raises:
        LegacyFormatError: arguments AugmentPipe does not take, or tensors that do not fit.
    """
    params = list(inspect.signature(AugmentPipe).parameters)
    kwargs = _constructor_kwargs(params, init_args, init_kwargs, "augment_pipe")
    try:
        pipe = AugmentPipe(**kwargs)
    except (TypeError, ValueError) as error:
        raise LegacyFormatError(f"augment_pipe has init kwargs AugmentPipe cannot take: {error}") from None
    given = {k: tuple(v.shape) for k, v in state_dict.items()}
    expected = {k: tuple(v.shape) for k, v in pipe.state_dict().items()}
    if given != expected:
        raise LegacyFormatError(f"augment_pipe tensors {given} do not match AugmentPipe's {expected}")
    pipe.load_state_dict(state_dict)
    return pipe


def _augment_pipe_from_record(value: Any) -> AugmentPipe | None:
    if value is None:
        return None
    if not isinstance(value, PersistentRecord) or value.class_name != "AugmentPipe":
        raise LegacyFormatError(
            f"augment_pipe is a {getattr(value, 'class_name', type(value).__name__)}, expected a persistent "
            "AugmentPipe"
        )
    return restore_augment_pipe(dict(value.init_kwargs), dict(value.state_dict()), tuple(value.init_args))


def _check_c_dim(networks: dict[str, nn.Module], c_dim: int | None, path: Path) -> None:
    if c_dim is None:
        return
    for key, module in networks.items():
        if module is not None and module.c_dim != c_dim:
            raise ValueError(
                f"{path}: {key} was trained with c_dim={module.c_dim} covariates, but c_dim={c_dim} were "
                "given (check the data sources / label layout)"
            )


def load_snapshot(
    path: str | Path, device: str | torch.device = "cpu", c_dim: int | None = None
) -> dict[str, Any]:
    """Load a snapshot (original persistence pickle or ours) as ``dict(G, D, G_ema, augment_pipe,
    training_set_kwargs)`` plus, for our format, ``meta`` (covariate layout, latent models, step).

    Networks are our modules in eval mode with ``requires_grad=False`` on ``device``; missing entries are None
    (as stock ``legacy.load_network_pkl``).

    Args:
        path: ``network-snapshot-*.pkl`` of MSSG / stylegan2-ada-pytorch / stylegan3, or one written by
            :func:`save_snapshot`.
        device: where to put the networks.
        c_dim: expected label width; a snapshot trained with another width raises ValueError.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        insilico_core.legacy.UnsafePickleError: the pickle names a global outside the allow-list (nothing
        ran).
        insilico_core.legacy.LegacyFormatError: not a snapshot, or networks we cannot build.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"snapshot {path} does not exist")
    if zipfile.is_zipfile(path):
        result = _load_own(path)
    else:
        data = read_persistent_pickle(path)
        if not isinstance(data, dict):
            raise LegacyFormatError(f"{path} holds a {type(data).__name__}, expected a snapshot dict")
        result = {key: None for key in (*NETWORK_KEYS, "augment_pipe", "training_set_kwargs")}
        for key in NETWORK_KEYS:
            record = data.get(key)
            if record is not None:
                if not isinstance(record, PersistentRecord):
                    raise LegacyFormatError(
                        f"{path}: {key} is a {type(record).__name__}, not a persistent network"
                    )
                result[key] = module_from_record(record, key)
        result["augment_pipe"] = _augment_pipe_from_record(data.get("augment_pipe"))
        result["training_set_kwargs"] = data.get("training_set_kwargs")
    _check_c_dim({k: result[k] for k in NETWORK_KEYS}, c_dim, path)
    for key in NETWORK_KEYS:
        if result[key] is not None:
            result[key] = result[key].to(device).eval().requires_grad_(False)
    if result["augment_pipe"] is not None:
        result["augment_pipe"] = result["augment_pipe"].to(device)
    return result


def _load_own(path: Path) -> dict[str, Any]:
    payload = load_checkpoint(path)
    if not isinstance(payload, dict) or payload.get("format") != SNAPSHOT_FORMAT:
        raise LegacyFormatError(
            f"{path} is a torch file but not an MSSG snapshot (no format={SNAPSHOT_FORMAT!r})"
        )
    result: dict[str, Any] = {}
    for key in NETWORK_KEYS:
        entry = payload["networks"].get(key)
        result[key] = (
            None if entry is None else _build(entry["class"], entry["init_kwargs"], entry["state_dict"], key)
        )
    aug = payload.get("augment_pipe")
    result["augment_pipe"] = (
        None if aug is None else restore_augment_pipe(aug["init_kwargs"], aug["state_dict"])
    )
    result["training_set_kwargs"] = payload.get("training_set_kwargs")
    result["meta"] = payload.get("meta", {})
    return result


def save_snapshot(
    path: str | Path,
    G: nn.Module | None,
    D: nn.Module | None,
    G_ema: nn.Module | None,
    augment_pipe: AugmentPipe | None = None,
    training_set_kwargs: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write our snapshot format atomically (state dicts, init kwargs, plain metadata; weights-only loadable).

    ``training_set_kwargs`` and ``meta`` must hold only plain data (numbers, strings, lists, dicts, tensors):
    MSSG stores there what the original snapshot lacks (all sources' dataset config, covariate layout,
    normalisation statistics, fitted latent models, kimg).
    """
    networks = {}
    for key, module in (("G", G), ("D", D), ("G_ema", G_ema)):
        if module is None:
            networks[key] = None
            continue
        module = getattr(module, "module", module)  # DistributedDataParallel wrapper
        networks[key] = {
            "class": network_class_name(module),
            "init_kwargs": module.init_kwargs,
            "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        }
    payload = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "networks": networks,
        "augment_pipe": None
        if augment_pipe is None
        else {
            "init_kwargs": augment_pipe.init_kwargs,
            "state_dict": {k: v.detach().cpu() for k, v in augment_pipe.state_dict().items()},
        },
        "training_set_kwargs": training_set_kwargs,
        "meta": meta or {},
    }
    return atomic_save(payload, path)
