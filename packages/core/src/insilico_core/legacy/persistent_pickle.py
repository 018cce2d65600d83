"""Read StyleGAN2-ADA / StyleGAN3 ``torch_utils.persistence`` pickles into plain records, running no code.

A persistence pickle (the ``network-snapshot-*.pkl`` files of stylegan2-ada-pytorch, stylegan3 and MSSG) is a
plain ``pickle.dump`` of a dict ``{G, D, G_ema, augment_pipe, training_set_kwargs, ...}``. Every network is an
instance of a class decorated with ``persistence.persistent_class``, which pickles as the call
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with ``meta = {type: 'class', version: 6,
module_src: <source text of the defining module>, class_name, state: <the nn.Module __dict__>}``. The original
loader executes ``module_src``; a file from an untrusted source can therefore run anything.

Here a restricted ``pickle.Unpickler`` resolves only an allow-list of globals, and the reconstruct function
is replaced by one that builds a :class:`PersistentRecord` (class name, source text, init args, tensors,
children) without executing the source. Tensors arrive as ``torch._utils._rebuild_tensor_v2`` /
``_rebuild_parameter`` calls on storages pickled as
``torch.storage._load_from_bytes(<legacy torch.save bytes>)``; those bytes are read with
``torch.load(weights_only=True)``. ``dnnlib.util.EasyDict`` becomes ``dict`` and numpy arrays / scalars
(numpy-1 or numpy-2 names) are rebuilt by numpy itself. Any other global raises :class:`UnsafePickleError`
before it is imported or called.
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .errors import LegacyFormatError, UnsafePickleError
from .numpy_globals import numpy_pickle_globals

# The first pickle of a legacy (pre-1.6) torch.save file is this number.
_LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C

# Keys of nn.Module.__dict__ that hold torch's own bookkeeping (hook tables), not model attributes.
_MODULE_BOOKKEEPING = ("_is_full_backward_hook", "_compiled_call_impl")


@dataclass(eq=False)
class PersistentRecord:
    """One unpickled persistent object (usually an ``nn.Module``), as data.

    Its repr leaves out the source text and tensors; compare records through :meth:`state_dict`.

    Attributes:
        class_name: class name in the original module, e.g. ``"Generator"``, ``"MappingNetwork"``.
        module_src: full source text of the module that defined the class at training time (never executed;
            search it to tell StyleGAN2 from StyleGAN3 code).
        version: ``torch_utils.persistence`` format version (6 for current files).
        init_args: positional constructor arguments.
        init_kwargs: keyword constructor arguments (nested ``EasyDict`` turned into ``dict``).
        parameters: ``_parameters`` in module order, name -> tensor (``None`` for an unset parameter).
        buffers: ``_buffers`` in module order.
        non_persistent_buffers: buffer names that ``state_dict()`` leaves out.
        children: ``_modules`` in module order, name -> nested record (or ``None``).
        attributes: every other entry of the object's ``__dict__`` (``z_dim``, ``training``, numpy
            values ...).
    """

    class_name: str
    module_src: str = field(repr=False)
    version: int | None = None
    init_args: tuple = ()
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    parameters: OrderedDict[str, torch.Tensor | None] = field(default_factory=OrderedDict, repr=False)
    buffers: OrderedDict[str, torch.Tensor | None] = field(default_factory=OrderedDict, repr=False)
    non_persistent_buffers: frozenset[str] = frozenset()
    children: OrderedDict[str, PersistentRecord | None] = field(default_factory=OrderedDict)
    attributes: dict[str, Any] = field(default_factory=dict, repr=False)

    def named_records(self, prefix: str = "") -> Iterator[tuple[str, PersistentRecord]]:
        """Yield ``(dotted name, record)`` for this record and all descendants, parents first."""
        yield prefix, self
        for name, child in self.children.items():
            if child is not None:
                yield from child.named_records(f"{prefix}.{name}" if prefix else name)

    def state_dict(self, prefix: str = "") -> OrderedDict[str, torch.Tensor]:
        """Flat tensors with the keys and order ``nn.Module.state_dict()`` of the original network gives.

        Parameters, then persistent buffers, then children recursively, e.g. ``mapping.fc0.weight``.
        Tensors are detached views of the unpickled data.
        """
        tensors: OrderedDict[str, torch.Tensor] = OrderedDict()
        for name, value in self.parameters.items():
            if value is not None:
                tensors[prefix + name] = value.detach()
        for name, value in self.buffers.items():
            if value is not None and name not in self.non_persistent_buffers:
                tensors[prefix + name] = value.detach()
        for name, child in self.children.items():
            if child is not None:
                tensors.update(child.state_dict(f"{prefix}{name}."))
        return tensors


class _PickledEasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` while unpickling; converted to ``dict`` afterwards.

    A dict subclass is needed because pickle creates it with ``cls.__new__`` and may send an empty
    ``__dict__`` state, which a plain ``dict`` cannot take.
    """

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.update(state)


def _plain(value: Any) -> Any:
    """Return ``value`` with every ``_PickledEasyDict`` inside containers turned into a plain ``dict``."""
    if isinstance(value, _PickledEasyDict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, OrderedDict):
        return OrderedDict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def _tensor_table(state: dict[str, Any], key: str, class_name: str) -> OrderedDict[str, torch.Tensor | None]:
    table = state.get(key) or OrderedDict()
    if not isinstance(table, dict):
        raise LegacyFormatError(f"{class_name}.{key} is a {type(table).__name__}, expected a dict of tensors")
    for name, value in table.items():
        if value is not None and not isinstance(value, torch.Tensor):
            raise LegacyFormatError(
                f"{class_name}.{key}[{name!r}] is a {type(value).__name__}, expected a tensor"
            )
    return OrderedDict(table)


def _record_from_meta(meta: Any) -> PersistentRecord:
    """Replacement for ``torch_utils.persistence._reconstruct_persistent_obj``: data only, no ``exec``."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        kind = meta.get("type") if isinstance(meta, dict) else type(meta).__name__
        raise LegacyFormatError(f"persistent object of type {kind!r}; only 'class' objects are supported")
    class_name = meta.get("class_name")
    state = meta.get("state") or {}
    if not isinstance(class_name, str) or not isinstance(state, dict):
        raise LegacyFormatError("persistent object without a class name or state dict")
    children = OrderedDict(state.get("_modules") or {})
    for name, child in children.items():
        if child is not None and not isinstance(child, PersistentRecord):
            raise LegacyFormatError(
                f"{class_name}._modules[{name!r}] is a {type(child).__name__}, expected a persistent module"
            )
    internal = {
        "_parameters",
        "_buffers",
        "_modules",
        "_non_persistent_buffers_set",
        "_init_args",
        "_init_kwargs",
    }
    attributes = {
        key: _plain(value)
        for key, value in state.items()
        if key not in internal
        and key not in _MODULE_BOOKKEEPING
        and not (key.startswith("_") and "hooks" in key)
    }
    return PersistentRecord(
        class_name=class_name,
        module_src=str(meta.get("module_src", "")),
        version=meta.get("version"),
        init_args=tuple(_plain(state.get("_init_args") or ())),
        init_kwargs=dict(_plain(state.get("_init_kwargs") or {})),
        parameters=_tensor_table(state, "_parameters", class_name),
        buffers=_tensor_table(state, "_buffers", class_name),
        non_persistent_buffers=frozenset(state.get("_non_persistent_buffers_set") or ()),
        children=children,
        attributes=attributes,
    )


def _storage_from_bytes(data: bytes) -> Any:
    """Stands in for ``torch.storage._load_from_bytes``: ``data`` is a legacy ``torch.save`` of a storage."""
    if not isinstance(data, (bytes, bytearray)):
        raise LegacyFormatError(f"storage payload is a {type(data).__name__}, expected bytes")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """Every global a persistence pickle may name, mapped to what this reader uses in its place."""
    allowed: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _record_from_meta,
        ("dnnlib.util", "EasyDict"): _PickledEasyDict,
        ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
        ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set,
    }
    for dotted, obj in numpy_pickle_globals().items():
        module, _, name = dotted.rpartition(".")
        allowed[(module, name)] = obj
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only allow-listed globals and no persistent ids."""

    def __init__(self, file: io.BufferedIOBase, source: Path) -> None:
        super().__init__(file)
        self._source = source
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source} references the global {module}.{name}, which is not on the allow-list "
                "of persistence pickles (tensors, numpy data, EasyDict, persistent modules); refusing to "
                "load it",
                global_name=f"{module}.{name}",
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f"{self._source} contains a persistent id ({type(pid).__name__}); persistence pickles have none "
            "(a torch.save file is read with insilico_core.legacy.load_torch_file)"
        )


def read_persistent_pickle(path: str | Path) -> Any:
    """Unpickle a StyleGAN persistence pickle into plain data, executing none of its code.

    Args:
        path: e.g. ``network-snapshot-000400.pkl``.

    Returns:
        The pickled object with every persistent network replaced by a :class:`PersistentRecord` and every
        ``EasyDict`` by a ``dict``; for snapshots a dict with ``G``, ``D``, ``G_ema``, ``augment_pipe``,
        ``training_set_kwargs`` (whichever the file has).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: the pickle names a global outside the allow-list (nothing it names has run).
        LegacyFormatError: the file is not a persistence pickle (e.g. a torch zip file, or malformed records).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"persistence pickle {path} does not exist")
    with path.open("rb") as file:
        if file.read(2) == b"PK":
            raise LegacyFormatError(
                f"{path} is a torch.save zip file, not a persistence pickle; read it with load_torch_file"
            )
        file.seek(0)
        try:
            loaded = _RestrictedUnpickler(file, path).load()
        except UnsafePickleError:
            raise
        except LegacyFormatError as error:
            raise LegacyFormatError(f"{path}: {error}") from None
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, RuntimeError) as error:
            raise LegacyFormatError(f"{path} is not a readable persistence pickle: {error}") from None
    if isinstance(loaded, int) and loaded == _LEGACY_TORCH_MAGIC:
        raise LegacyFormatError(
            f"{path} is a legacy torch.save file, not a persistence pickle; read it with load_torch_file"
        )
    return _plain(loaded)
