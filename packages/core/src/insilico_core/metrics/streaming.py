"""Running mean and covariance of feature vectors, so 50k samples never sit in memory at once.

Rows are copied into a chunk buffer of ``chunk_rows`` rows (8192: 64 MiB of 2048-d float32 features), minus a
shift: the running mean so far (the first batch's mean for the first chunk), rounded to the buffer's dtype.
Subtracting it on the way in costs nothing over the copy and leaves rows whose mean ``m - s`` is small next to
their spread, so the scatter of each full chunk about its own mean, ``Σ (x-s)(x-s)ᵀ - n (m-s)(m-s)ᵀ``, loses
no digits to cancellation (a raw sum of outer products minus ``n m mᵀ`` would lose them all for features far
from zero). Chunks, and accumulators from other workers, are merged with the pairwise update of Chan, Golub
and LeVeque (1979), the batched form of Welford's algorithm, into a float64 mean and scatter.

Float32 features (what feature networks return) are shifted and multiplied in float32: covariance entries
within ~1e-6 of float64, the FID within ~1e-8 in tools/bench/metrics.py, about twice as fast. Float64
features stay float64 throughout, where results match numpy to rounding; half-precision features are widened
to float32. On the CPU the product is one BLAS ``syrk`` (the lower triangle of ``XᵀX`` only: half the work
of a matrix product, which torch does not expose); elsewhere a matrix product. The float64 scatter keeps
only its lower triangle meaningful, is updated in place (rank-one terms with ``addr_``: no [D, D]
temporaries) and is mirrored once, when the covariance is read.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import blas

from .checks import as_feature_matrix

CHUNK_ROWS = 8192

_SYRK = {torch.float32: blas.ssyrk, torch.float64: blas.dsyrk}


def lower_gram(x: torch.Tensor) -> torch.Tensor:
    """``xᵀx`` ``[D, D]`` of ``x`` ``[K, D]`` in ``x``'s dtype; only the lower triangle is meaningful."""
    if x.device.type == "cpu" and x.dtype in _SYRK:
        # the transpose of a row-major [K, D] array is a column-major [D, K] one: syrk reads it uncopied;
        # its column-major upper triangle, transposed back, is a row-major lower triangle
        columns = x.contiguous().numpy().T
        return torch.from_numpy(_SYRK[x.dtype](1.0, columns, trans=0, lower=0).T)
    return x.T @ x


def mirror_lower(matrix: torch.Tensor, block: int = 256) -> torch.Tensor:
    """The symmetric matrix with ``matrix``'s lower triangle (what lies above the diagonal is ignored).

    Copied a block row at a time, which reads the transposed blocks cache-friendly.
    """
    out = matrix.clone()
    for start in range(0, out.shape[0], block):
        stop = start + block
        out[start:stop, stop:] = out[stop:, start:stop].T
        diagonal = out[start:stop, start:stop]
        diagonal.copy_(diagonal.tril() + diagonal.tril(-1).T)
    return out


def _add_into(target: torch.Tensor, source: torch.Tensor) -> None:
    """``target += source`` for a float64 ``target`` and a float32/64 ``source`` of one shape.

    On the CPU through numpy, whose widening add is 5x faster than torch's mixed-dtype ``add_`` here.
    """
    if target.device.type == "cpu" and source.device.type == "cpu":
        np.add(target.numpy(), source.numpy(), out=target.numpy())
    else:
        target.add_(source.to(target.device))


class RunningMoments:
    """Mean ``[D]`` and covariance ``[D, D]`` of a stream of feature batches ``[B, D]``.

    ``update(features)`` adds a batch; ``merge(other)`` adds another accumulator (e.g. from another rank);
    ``mean`` and ``covariance(ddof)`` read the statistics. ``ddof=1`` (numpy ``cov`` default) is what
    pytorch-fid, torchmetrics and Multi-StyleGAN use; StyleGAN2-ADA/3's ``metric_utils`` uses ``ddof=0``.
    Rows wait in a buffer of ``chunk_rows x D`` values (float64 for float64 features, float32 otherwise)
    so that each product is large enough to run at full speed; a batch of another precision or device
    first folds in what is waiting.
    """

    def __init__(self, chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows: expected a positive number of rows, got {chunk_rows}")
        self.chunk_rows = chunk_rows
        self._count = 0  # rows folded into _mean and _scatter
        self._dims: int | None = None
        self._mean: torch.Tensor | None = None  # float64 [D]
        self._scatter: torch.Tensor | None = None  # float64 [D, D], lower triangle meaningful
        self._buffer: torch.Tensor | None = None  # [chunk_rows, D]: rows minus _shift
        self._shift: torch.Tensor | None = None  # [D], the buffer's dtype
        self._buffered_rows = 0

    @property
    def count(self) -> int:
        """Number of samples added so far."""
        return self._count + self._buffered_rows

    def update(self, features: torch.Tensor) -> None:
        """Add a batch ``[B, D]`` (any float dtype/device; statistics kept in float64 on that device)."""
        batch = as_feature_matrix(features, "features", dtype=None).detach()
        if self._dims is not None and batch.shape[1] != self._dims:
            raise ValueError(f"features: expected {self._dims} features per row, got {batch.shape[1]}")
        self._dims = batch.shape[1]
        dtype = torch.float64 if batch.dtype == torch.float64 else torch.float32
        if self._buffer is not None and (self._buffer.dtype, self._buffer.device) != (dtype, batch.device):
            self._flush()
            self._buffer = None
        if self._buffer is None:
            self._buffer = torch.empty(self.chunk_rows, self._dims, dtype=dtype, device=batch.device)
        start = 0
        while start < batch.shape[0]:  # copied: the caller may reuse its buffer before the flush
            if self._buffered_rows == 0:
                guess = batch.to(dtype).mean(dim=0) if self._mean is None else self._mean
                self._shift = guess.to(dtype=dtype, device=batch.device)
            rows = min(batch.shape[0] - start, self.chunk_rows - self._buffered_rows)
            stop = self._buffered_rows + rows
            torch.sub(batch[start : start + rows], self._shift, out=self._buffer[self._buffered_rows : stop])
            self._buffered_rows = stop
            start += rows
            if self._buffered_rows == self.chunk_rows:
                self._flush()

    def merge(self, other: RunningMoments) -> None:
        """Add the samples summarised by ``other``."""
        if other.count and self._dims is not None and other._dims != self._dims:
            raise ValueError(f"merge: expected statistics of {self._dims} features, got {other._dims}")
        other._flush()
        self._flush()
        if other._count:
            self._dims = other._dims
            self._combine(other._count, other._mean, other._scatter)

    def _flush(self) -> None:
        """Fold the buffered rows into the statistics as one chunk."""
        rows, self._buffered_rows = self._buffered_rows, 0
        if not rows:
            return
        shifted = self._buffer[:rows]
        offset = shifted.sum(dim=0).to(torch.float64) / rows  # m - s: small next to the spread
        self._combine(rows, self._shift.to(torch.float64) + offset, lower_gram(shifted), offset)

    def _combine(
        self, count: int, mean: torch.Tensor, scatter: torch.Tensor, offset: torch.Tensor | None = None
    ) -> None:
        """Add ``count`` samples of mean ``mean`` (float64 ``[D]``) and scatter ``[D, D]`` (lower triangle).

        ``scatter`` is taken about ``mean - offset``: ``Σ (x - mean + offset)(x - mean + offset)ᵀ``, which is
        the scatter about the mean plus ``count offset offsetᵀ`` (``offset=None``: about the mean itself).
        """
        if self._scatter is None:
            self._count, self._mean = 0, torch.zeros_like(mean)
            self._scatter = scatter.to(device=mean.device, dtype=torch.float64, copy=True)
        else:
            _add_into(self._scatter, scatter)
        mean = mean.to(self._mean)
        total = self._count + count
        delta = mean - self._mean
        if offset is not None:
            self._scatter.addr_(offset.to(self._mean), offset.to(self._mean), alpha=-count)
        self._scatter.addr_(delta, delta, alpha=self._count * count / total)
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
        """Covariance ``[D, D]`` (float64, exactly symmetric) with ``count - ddof`` in the denominator."""
        self._flush()
        if self._scatter is None or self.count - ddof < 1:
            raise ValueError(f"covariance: expected more than {ddof} samples, got {self.count}")
        return mirror_lower(self._scatter).div_(self.count - ddof)
