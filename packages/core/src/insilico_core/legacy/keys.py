"""Rename state-dict keys: strip wrapper prefixes (``module.``, ``discriminator.module.``) and remap names."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from .errors import LegacyFormatError

V = TypeVar("V")


def strip_prefix(state_dict: Mapping[str, V], prefixes: str | Iterable[str]) -> OrderedDict[str, V]:
    """Remove from every key the first of ``prefixes`` it starts with; keys without one are kept as they are.

    Prefixes are tried in the given order, so list longer ones first when one prefix begins another
    (``['discriminator.module.', 'discriminator.', 'module.']``). Order of entries is kept.

    Raises:
        LegacyFormatError: two keys become the same name.
    """
    candidates = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)

    def strip(key: str) -> str:
        for prefix in candidates:
            if prefix and key.startswith(prefix):
                return key[len(prefix) :]
        return key

    return remap_keys(state_dict, strip)


def remap_keys(
    state_dict: Mapping[str, V], mapping_or_function: Mapping[str, str] | Callable[[str], str | None]
) -> OrderedDict[str, V]:
    """Rename keys with a mapping (absent keys stay) or a function (returning ``None`` drops the entry).

    Order of entries is kept.

    Raises:
        LegacyFormatError: two source keys map to the same target name (both are named).
    """
    if isinstance(mapping_or_function, Mapping):
        mapping = mapping_or_function

        def rename(key: str) -> str | None:
            return mapping.get(key, key)
    elif callable(mapping_or_function):
        rename = mapping_or_function
    else:
        raise TypeError(
            f"mapping_or_function must be a mapping or a callable, got {type(mapping_or_function).__name__}"
        )

    renamed: OrderedDict[str, V] = OrderedDict()
    source_of: dict[str, str] = {}
    for key, value in state_dict.items():
        new_key = rename(key)
        if new_key is None:
            continue
        if new_key in source_of:
            raise LegacyFormatError(f"keys {source_of[new_key]!r} and {key!r} both become {new_key!r}")
        source_of[new_key] = key
        renamed[new_key] = value
    return renamed
