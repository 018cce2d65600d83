"""Load ``torch.save`` files written by any PyTorch since 0.2 without executing pickled code.

Both serialisation formats are read by ``torch.load(weights_only=True)``: the zip format (torch >= 1.6) and
the legacy format (magic number, protocol, sys-info and storage pickles; torch 0.2 - 1.5), which is what
BioGANs and TA-GAN ship. ``weights_only`` permits tensors, storages, containers and numbers only.
Checkpoints such as neuron-gan's also hold numpy arrays and scalars; with ``allow_numpy=True`` exactly the
numpy reconstruction globals (numpy-1 and numpy-2 spellings) are added for the duration of the call,
nothing else.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from .errors import LegacyFormatError, UnsafePickleError
from .numpy_globals import numpy_dtype_classes, numpy_pickle_globals

MapLocation = str | torch.device | dict[str, str] | None

_GLOBAL_IN_MESSAGE = re.compile(r"GLOBAL ([\w.]+)")


def _numpy_safe_globals() -> list[Any]:
    """``torch.serialization.safe_globals`` entries: ``(object, dotted name)`` pairs and dtype classes.

    ``bytes`` is among them because an empty array pickles its (empty) data buffer as a call ``bytes()``.
    """
    named = [(obj, name) for name, obj in numpy_pickle_globals().items()]
    return [*named, *numpy_dtype_classes(), bytes]


def load_torch_file(path: str | Path, allow_numpy: bool = False, map_location: MapLocation = "cpu") -> Any:
    """Read a zip or legacy ``torch.save`` file with ``weights_only=True``.

    Args:
        path: the file.
        allow_numpy: also accept numpy arrays, dtypes and scalars (as saved under numpy 1 or numpy 2).
        map_location: passed to ``torch.load``; ``'cpu'`` by default so files saved on CUDA or MPS load
            anywhere.

    Returns:
        The unpickled object (usually a dict or ``OrderedDict`` of tensors).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: the file references a global outside the allow-list (named in the message).
        LegacyFormatError: the file is not a readable torch file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"torch checkpoint {path} does not exist")
    extra_globals = _numpy_safe_globals() if allow_numpy else []
    try:
        with torch.serialization.safe_globals(extra_globals):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        message = str(error)
        found = _GLOBAL_IN_MESSAGE.search(message)
        if found:
            name = found.group(1)
            hint = (
                ""
                if allow_numpy or not name.startswith("numpy")
                else " (pass allow_numpy=True for numpy data)"
            )
            raise UnsafePickleError(
                f"{path} contains a pickled class or function {name}; not allowed{hint}", global_name=name
            ) from None
        raise LegacyFormatError(
            f"{path} holds pickled content that weights_only loading refuses: {message}"
        ) from None
    except (RuntimeError, EOFError, ValueError, IndexError, KeyError, TypeError) as error:
        # torch's parsers fail on corrupt or foreign files with any of these; report them as a format problem.
        raise LegacyFormatError(
            f"{path} is not a readable torch file ({type(error).__name__}: {error})"
        ) from None
