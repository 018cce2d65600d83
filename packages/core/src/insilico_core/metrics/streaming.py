"""Running mean and covariance of feature vectors, so 50k samples never sit in memory at once.

Each batch contributes its own mean and centred scatter matrix; batches (and accumulators from other workers)
are merged with the pairwise update of Chan, Golub and LeVeque (1979), the batched form of Welford's
algorithm.
Everything is kept in float64: centring per batch keeps the scatter accurate where a raw sum of outer products
minus ``n * mean mean^T`` would cancel catastrophically.
"""

from __future__ import annotations

import torch

from .checks import as_feature_matrix


class RunningMoments:
    """Mean ``[D]`` and covariance ``[D, D]`` of a stream of feature batches ``[B, D]``.

    ``update(features)`` adds a batch; ``merge(other)`` adds another accumulator (e.g. from another rank);
    ``mean`` and ``covariance(ddof)`` read the statistics. ``ddof=1`` (numpy ``cov`` default) is what
    pytorch-fid, torchmetrics and Multi-StyleGAN use; StyleGAN2-ADA/3's ``metric_utils`` uses ``ddof=0``.
    """

    def __init__(self) -> None:
        self.count = 0
        self._mean: torch.Tensor | None = None
        self._scatter: torch.Tensor | None = None

    def update(self, features: torch.Tensor) -> None:
        """Add a batch ``[B, D]`` (any float dtype/device; accumulated in float64 on that device)."""
        batch = as_feature_matrix(features, "features")
        if self._mean is not None and batch.shape[1] != self._mean.shape[0]:
            raise ValueError(
                f"features: expected {self._mean.shape[0]} features per row, got {batch.shape[1]}"
            )
        batch_mean = batch.mean(dim=0)
        centred = batch - batch_mean
        self._combine(batch.shape[0], batch_mean, centred.T @ centred)

    def merge(self, other: RunningMoments) -> None:
        """Add the samples summarised by ``other``."""
        if other.count:
            self._combine(other.count, other._mean, other._scatter)

    def _combine(self, count: int, mean: torch.Tensor, scatter: torch.Tensor) -> None:
        if self._mean is None:
            self.count, self._mean, self._scatter = count, mean.clone(), scatter.clone()
            return
        total = self.count + count
        delta = mean.to(self._mean) - self._mean
        self._scatter.add_(scatter.to(self._scatter)).add_(
            torch.outer(delta, delta), alpha=self.count * count / total
        )
        self._mean.add_(delta, alpha=count / total)
        self.count = total

    @property
    def mean(self) -> torch.Tensor:
        """Mean feature vector ``[D]`` (float64; a copy, later updates do not change it)."""
        if self._mean is None:
            raise ValueError("no samples: call update() with at least one batch first")
        return self._mean.clone()

    def covariance(self, ddof: int = 1) -> torch.Tensor:
        """Covariance ``[D, D]`` (float64) with ``count - ddof`` in the denominator."""
        if self._scatter is None or self.count - ddof < 1:
            raise ValueError(f"covariance: expected more than {ddof} samples, got {self.count}")
        return self._scatter / (self.count - ddof)
