"""When to do periodic work (checkpoints, sample grids, metrics): every N steps and/or at milestones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cadence:
    """``cadence(step)`` is True when ``step`` is a positive multiple of ``every`` or one of ``milestones``.

    ``Cadence()`` (no period, no milestones) is never due. BioGANs, for instance, checkpoints at
    ``Cadence(every=save_iter, milestones=(10, 100, 1000, 2000, ...))`` applied to the 1-based iteration.
    """

    every: int | None = None
    milestones: Iterable[int] = frozenset()

    def __post_init__(self) -> None:
        if self.every is not None and self.every <= 0:
            raise ValueError(f"cadence period must be a positive number of steps or None, got {self.every}")
        object.__setattr__(self, "milestones", frozenset(int(m) for m in self.milestones))

    def __call__(self, step: int) -> bool:
        if step in self.milestones:
            return True
        return self.every is not None and step > 0 and step % self.every == 0
