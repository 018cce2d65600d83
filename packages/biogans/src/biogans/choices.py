"""Matching of the original's string choices (``--model_type``, ``--GAN_algorithm``, ``--dataset_type``,
``--mode``, ``--optimizer``): in any capitalisation but in full (the original's substring tests are not
kept), returning the canonical spelling, so every later comparison is against one known string."""

from __future__ import annotations

from collections.abc import Sequence


def canonical_choice(value: str, choices: Sequence[str], what: str) -> str:
    """The entry of ``choices`` equal to ``value`` up to case.

    Raises ValueError naming ``what`` (e.g. ``"model type"``), the value and the accepted spellings.
    """
    for choice in choices:
        if value.casefold() == choice.casefold():
            return choice
    raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")
