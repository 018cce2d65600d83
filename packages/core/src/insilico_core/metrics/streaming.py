"""Running mean and covariance of feature vectors, so 50k samples never sit in memory at once.

Rows are gathered into chunks of ``chunk_rows`` (8192: 64 MiB of 2048-d float32 features); each chunk
contributes its own mean and centred scatter matrix, and chunks (and accumulators from other workers) are
merged with the pairwise update of Chan, Golub and LeVeque (1979), the batched form of Welford's algorithm.
Means and the merged scatter are float64; centring per chunk keeps the scatter accurate where a raw sum of
outer products minus ``n * mean mean^T`` would cancel catastrophically. Float32 features (what feature
networks return) are centred and multiplied in float32 (entries within ~1e-5 relative, the FID within ~1e-8
of float64 in tools/bench/metrics.py, about three times faster); the only error of centring on the
float32-rounded mean is a rank-one term, which is removed exactly. Float64 features stay float64
throughout, where results match numpy to rounding.
"""

from __future__ import annotations

import torch

from .checks import as_feature_matrix
from .symmetric_products import gram

CHUNK_ROWS = 8192


class RunningMoments:
    """Mean ``[D]`` and covariance ``[D, D]`` of a stream of feature batches ``[B, D]``.

    ``update(features)`` adds a batch; ``merge(other)`` adds another accumulator (e.g. from another rank);
    ``mean`` and ``covariance(ddof)`` read the statistics. ``ddof=1`` (numpy ``cov`` default) is what
    pytorch-fid, torchmetrics and Multi-StyleGAN use; StyleGAN2-ADA/3's ``metric_utils`` uses ``ddof=0``.
    Small batches wait in a buffer of at most ``chunk_rows`` rows (``chunk_rows x D`` values) so that each
    product is large enough to run at full speed.
    """

    def __init__(self, chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows: expected a positive number of rows, got {chunk_rows}")
        self.chunk_rows = chunk_rows
        self._count = 0
        self._dims: int | None = None
        self._mean: torch.Tensor | None = None
        self._scatter: torch.Tensor | None = None
        self._pending: list[torch.Tensor] = []
        self._pending_rows = 0

    @property
    def count(self) -> int:
        """Number of samples added so far."""
        return self._count + self._pending_rows

    def update(self, features: torch.Tensor) -> None:
        """Add a batch ``[B, D]`` (any float dtype/device; statistics kept in float64 on that device)."""
        batch = as_feature_matrix(features, "features", dtype=None)
        if self._dims is not None and batch.shape[1] != self._dims:
            raise ValueError(f"features: expected {self._dims} features per row, got {batch.shape[1]}")
        self._dims = batch.shape[1]
        self._pending.append(batch.detach().clone())  # the caller may reuse its buffer before the flush
        self._pending_rows += batch.shape[0]
        if self._pending_rows >= self.chunk_rows:
            self._flush()

    def merge(self, other: RunningMoments) -> None:
        """Add the samples summarised by ``other``."""
        if other.count and self._dims is not None and other._dims != self._dims:
            raise ValueError(f"merge: expected statistics of {self._dims} features, got {other._dims}")
        other._flush()
        self._flush()
        if other._count:
            self._combine(other._count, other._mean, other._scatter)
            self._dims = other._dims

    def _flush(self) -> None:
        """Fold the buffered rows into the statistics as one chunk."""
        if not self._pending:
            return
        chunk = torch.cat(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        rows = chunk.shape[0]
        chunk_mean = chunk.sum(dim=0, dtype=torch.float64) / rows
        if chunk.dtype == torch.float64:
            self._combine(rows, chunk_mean, gram(chunk - chunk_mean))
            return
        # Centre on the float32-rounded mean m' = m + d: sum (x - m')(x - m')^T = scatter + rows d d^T exactly
        # (the rows sum to rows * m), so subtracting rows d d^T afterwards gives the scatter about m itself.
        rounded_mean = chunk_mean.to(torch.float32)
        scatter = gram(chunk.to(torch.float32) - rounded_mean).to(torch.float64)
        offset = rounded_mean.to(torch.float64) - chunk_mean
        scatter.sub_(torch.outer(offset, offset), alpha=rows)
        self._combine(rows, chunk_mean, scatter)

    def _combine(self, count: int, mean: torch.Tensor, scatter: torch.Tensor) -> None:
        if self._mean is None:
            self._count, self._mean, self._scatter = count, mean.clone(), scatter.clone()
            return
        total = self._count + count
        delta = mean.to(self._mean) - self._mean
        self._scatter.add_(scatter.to(self._scatter)).add_(
            torch.outer(delta, delta), alpha=self._count * count / total
        )
        self._mean.add_(delta, alpha=count / total)
        self._count = total

    @property
    def mean(self) -> torch.Tensor:
        """Mean feature vector ``[D]`` (float64; a copy, later updates do not change it)."""
        self._flush()
        if self._mean is None:
            raise ValueError("no samples: call update() with at least one batch first")
        return self._mean.clone()

    def covariance(self, ddof: int = 1) -> torch.Tensor:
        """Covariance ``[D, D]`` (float64) with ``count - ddof`` in the denominator."""
        self._flush()
        if self._scatter is None or self.count - ddof < 1:
            raise ValueError(f"covariance: expected more than {ddof} samples, got {self.count}")
        return self._scatter / (self.count - ddof)
