"""When to do periodic work (checkpoints, sample grids, metrics): every N steps and/or at milestones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cadence:
    """``cadence(step)`` is True when ``step`` is a positive multiple of ``every`` or one of ``milestones``.

    ``Cadence(every=None)`` with no milestones is never due. BioGANs, for instance, checkpoints at
    ``Cadence(every=save_iter, milestones=(10, 100, 1000, 2000, ...))`` applied to the 1-based iteration.
    """

    every: int | None = None
    milestones: frozenset[int] = field(default_factory=frozenset)

    def __init__(self, every: int | None = None, milestones: Iterable[int] = ()):
        if every is not None and every <= 0:
            raise ValueError(f"cadence period must be a positive number of steps or None, got {every}")
        object.__setattr__(self, "every", every)
        object.__setattr__(self, "milestones", frozenset(int(m) for m in milestones))

    def __call__(self, step: int) -> bool:
        if step in self.milestones:
            return True
        return self.every is not None and step > 0 and step % self.every == 0
