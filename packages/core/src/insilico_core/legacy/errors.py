"""Errors raised while reading foreign checkpoint files."""

from __future__ import annotations


class LegacyFormatError(ValueError):
    """A foreign checkpoint file cannot be read: wrong format, forbidden content or clashing keys.

    The message always names the file (or the argument) and what was found instead of what was expected.
    """


class UnsafePickleError(LegacyFormatError):
    """A pickle references a Python global outside the allow-list.

    Raised before the global is resolved, so nothing it names is imported or called.
    ``global_name`` is the dotted name the pickle asked for, e.g. ``"posix.system"``.
    """

    def __init__(self, message: str, global_name: str | None = None) -> None:
        super().__init__(message)
        self.global_name = global_name
