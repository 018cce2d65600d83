"""neuron-gan's epoch-based schedules (spec §6.4): learning rate per phase, adaptive critic steps.

An epoch is one pass over the dataset. Phases are delimited by ``B = [0, *transit_sch, N_epochs]``; in each
phase the learning rate restarts at the base value and decays exponentially to 1/100 of it over the first
half of the phase, then stays there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LR_TOTAL_DECAY = 0.01


def learning_rate_at(epoch: int, base_lr: float, transit_sch: Sequence[int], n_epochs: int) -> float:
    """The learning rate the original sets after ``epoch`` (for the next epoch; ``epoch_init - 1`` at start).

    ``epoch`` on a phase boundary -> ``base_lr``; otherwise with phase start ``S``, length ``L`` and
    ``k = epoch - S``: ``base_lr * gamma**min(k, floor(L / 2))``, ``gamma = 0.01**(2 / L)``. (The original
    leaves the rate unchanged in the second half of a phase; the closed form gives the same value and also
    the right one when a run resumes there, where the original restarted at ``base_lr``.)
    """
    boundaries = [0, *transit_sch, n_epochs]
    if epoch in boundaries:
        return base_lr
    phase = sum(epoch > t for t in transit_sch)
    start, length = boundaries[phase], boundaries[phase + 1] - boundaries[phase]
    gamma = math.exp(math.log(LR_TOTAL_DECAY) / (length / 2))
    steps = min(epoch - start, math.floor(length / 2))
    return base_lr * gamma**steps


def adaptive_critic_steps(
    score_real: Sequence[float], score_fake: Sequence[float], n_min: int, n_max: int, period: int = 100
) -> int:
    """``--adapt_critic``: ``round(std(real) / mean|fake - real| * n_max)`` over the last ``period`` epochs,
    clipped to ``[n_min, n_max]`` (``n_max`` while there is no history). The original crashed here (B4)."""
    real = np.asarray(score_real[-period:], dtype=np.float64)
    fake = np.asarray(score_fake[-period:], dtype=np.float64)
    if real.size == 0:
        return n_max
    difference = np.mean(np.abs(fake - real))
    if difference == 0:
        return n_max
    return int(min(max(round(float(np.std(real) / difference * n_max)), n_min), n_max))
