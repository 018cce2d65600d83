"""Running mean and covariance of feature vectors, so 50k samples never sit in memory at once.

Rows are shifted by a reference point ``s`` as they arrive: the running mean so far (the first batch's mean
at the start), rounded to the features' precision. Their products ``Σ (x-s)(x-s)ᵀ`` and sums ``Σ (x-s)`` are
accumulated, and every ``chunk_rows`` rows (8192) they are folded into a float64 mean and scatter about it,
``Σ (x-s)(x-s)ᵀ - n (m-s)(m-s)ᵀ``. As ``m - s`` is small next to the spread, that loses no digits to
cancellation, where a raw sum of outer products minus ``n m mᵀ`` would lose them all for features far from
zero. Folds, and accumulators from other workers, are merged with the pairwise update of Chan, Golub and
LeVeque (1979), the batched form of Welford's algorithm.

Float32 features (what feature networks return) are shifted and multiplied in float32: covariance entries
within ~1e-6 of float64, the FID within ~1e-8 in tools/bench/metrics.py, about twice as fast. Float64
features stay float64 throughout, where results match numpy to rounding; half-precision features are widened
to float32. On the CPU the products are BLAS ``syrk`` calls accumulating into one matrix (the lower triangle
of ``XᵀX`` only: half the work of a matrix product, which torch does not expose; as fast on slices of 1024
rows as on 8192), elsewhere matrix products. Memory is bounded by ``D x D`` in the features' precision, the
float64 scatter and a scratch slice of 1024 rows. The float64 scatter keeps only its lower triangle
meaningful, is updated in place (rank-one terms with BLAS ``dsyr``) and is mirrored once, when the covariance
is read. On the CPU everything between two BLAS calls runs in numpy, on one thread (see
:func:`_subtract_into`).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import blas

from .checks import as_feature_matrix

CHUNK_ROWS = 8192
SLICE_ROWS = 1024

_SYRK = {torch.float32: blas.ssyrk, torch.float64: blas.dsyrk}


def accumulate_lower_gram(x: torch.Tensor, out: torch.Tensor, beta: float) -> None:
    """``out = beta * out + xᵀx`` in place for ``x`` ``[K, D]`` and ``out`` ``[D, D]`` of ``x``'s dtype.

    Only ``out``'s lower triangle is meaningful (and, on the CPU, written).
    """
    if x.device.type == "cpu" and x.dtype in _SYRK:
        # the transpose of a row-major array is a column-major one: syrk reads and writes both uncopied, and
        # the column-major upper triangle of ``out.T`` is the row-major lower triangle of ``out``
        _SYRK[x.dtype](
            1.0, x.contiguous().numpy().T, beta=beta, c=out.numpy().T, trans=0, lower=0, overwrite_c=1
        )
    else:
        out.addmm_(x.T, x, beta=beta)


def mirror_lower_(matrix: torch.Tensor, block: int = 256) -> torch.Tensor:
    """Make ``matrix`` symmetric in place from its lower triangle (what lies above the diagonal is
    overwritten) and return it. Copied a block row at a time, which reads the transposed blocks
    cache-friendly; on the CPU by numpy (see :func:`_subtract_into`)."""
    array, tril = (matrix.numpy(), np.tril) if matrix.device.type == "cpu" else (matrix, torch.tril)
    for start in range(0, array.shape[0], block):
        stop = start + block
        array[start:stop, stop:] = array[stop:, start:stop].T
        diagonal = array[start:stop, start:stop]
        diagonal[:] = tril(diagonal) + tril(diagonal, -1).T
    return matrix


def _add_into(target: torch.Tensor, source: torch.Tensor) -> None:
    """``target += source`` for a float64 ``target`` and a float32/64 ``source`` of one shape.

    On the CPU through numpy, whose widening add is 5x faster than torch's mixed-dtype ``add_`` here.
    """
    if target.device.type == "cpu" and source.device.type == "cpu":
        np.add(target.numpy(), source.numpy(), out=target.numpy())
    else:
        target.add_(source.to(target.device))


def _add_outer_lower(target: torch.Tensor, vector: torch.Tensor, alpha: float) -> None:
    """``target += alpha * vector vectorᵀ`` on the lower triangle of a float64 ``target`` ``[D, D]``.

    On the CPU with BLAS ``dsyr`` (the column-major upper triangle of ``target.T``), in the BLAS threads.
    """
    if target.device.type == "cpu":
        blas.dsyr(alpha, vector.numpy(), lower=0, a=target.numpy().T, overwrite_a=1)
    else:
        target.addr_(vector, vector, alpha=alpha)


def _float64_copy(matrix: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A float64 copy of ``matrix`` on ``device`` (on the CPU by numpy, 6 ms against torch's 30-40 ms for
    2048 x 2048 right after a BLAS call, see :func:`_subtract_into`)."""
    if matrix.device.type == "cpu" and device.type == "cpu":
        return torch.from_numpy(matrix.numpy().astype(np.float64))
    return matrix.to(device=device, dtype=torch.float64, copy=True)


def _divided(matrix: torch.Tensor, divisor: float) -> torch.Tensor:
    """``matrix / divisor`` as a new tensor (on the CPU by numpy, see :func:`_subtract_into`)."""
    if matrix.device.type == "cpu":
        return torch.from_numpy(matrix.numpy() / divisor)
    return matrix / divisor


def _subtract_into(rows: torch.Tensor, shift: torch.Tensor, out: torch.Tensor) -> None:
    """``out = rows - shift`` (``[K, D]`` minus ``[D]``, one dtype and device).

    On the CPU in numpy, on one thread: the per-batch work between two BLAS products is small, and torch's
    threads would wait on the BLAS threads still spinning after the last product (a 500 x 2048 batch took
    5 ms instead of 0.5 ms).
    """
    if out.device.type == "cpu":
        np.subtract(rows.numpy(), shift.numpy(), out=out.numpy())
    else:
        torch.sub(rows, shift, out=out)


def _add_column_sums(target: torch.Tensor, rows: torch.Tensor) -> None:
    """``target += rows.sum(0)`` for a float64 ``target`` ``[D]`` (on the CPU in numpy, as above)."""
    if rows.device.type == "cpu":
        np.add(target.numpy(), rows.numpy().sum(axis=0, dtype=np.float64), out=target.numpy())
    else:
        target.add_(rows.sum(dim=0))


class RunningMoments:
    """Mean ``[D]`` and covariance ``[D, D]`` of a stream of feature batches ``[B, D]``.

    ``update(features)`` adds a batch; ``merge(other)`` adds another accumulator (e.g. from another rank);
    ``mean`` and ``covariance(ddof)`` read the statistics. ``ddof=1`` (numpy ``cov`` default) is what
    pytorch-fid, torchmetrics and Multi-StyleGAN use; StyleGAN2-ADA/3's ``metric_utils`` uses ``ddof=0``.
    Products are accumulated in float64 for float64 features and in float32 otherwise, and folded into the
    float64 statistics every ``chunk_rows`` rows; a batch of another precision or device folds first.
    """

    def __init__(self, chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows: expected a positive number of rows, got {chunk_rows}")
        self.chunk_rows = chunk_rows
        self._slice_rows = min(SLICE_ROWS, chunk_rows)  # a fold never splits a slice
        self._count = 0  # rows folded into _mean and _scatter
        self._dims: int | None = None
        self._mean: torch.Tensor | None = None  # float64 [D]
        self._scatter: torch.Tensor | None = None  # float64 [D, D], lower triangle meaningful
        # rows since the last fold, shifted by _shift: their products (lower triangle) and sums
        self._shift: torch.Tensor | None = None  # [D], the products' dtype
        self._shifted_gram: torch.Tensor | None = None  # [D, D], lower triangle meaningful (zeros above)
        self._shifted_sum: torch.Tensor | None = None  # float64 [D]
        self._scratch: torch.Tensor | None = None  # [slice rows, D]: shifted rows before their product
        self._scratch_rows = 0
        self._pending_rows = 0  # rows in _shifted_gram and _shifted_sum

    @property
    def count(self) -> int:
        """Number of samples added so far."""
        return self._count + self._pending_rows + self._scratch_rows

    def update(self, features: torch.Tensor) -> None:
        """Add a batch ``[B, D]`` (any float dtype/device; statistics kept in float64 on that device)."""
        batch = as_feature_matrix(features, "features", dtype=None).detach()
        if self._dims is not None and batch.shape[1] != self._dims:
            raise ValueError(f"features: expected {self._dims} features per row, got {batch.shape[1]}")
        self._dims = batch.shape[1]
        dtype = torch.float64 if batch.dtype == torch.float64 else torch.float32
        batch = batch.to(dtype)
        if self._scratch is not None and (self._scratch.dtype, self._scratch.device) != (dtype, batch.device):
            self._fold()
            self._scratch = self._shifted_gram = None
        if self._scratch is None:
            self._scratch = torch.empty(self._slice_rows, self._dims, dtype=dtype, device=batch.device)
            self._shifted_gram = torch.zeros(self._dims, self._dims, dtype=dtype, device=batch.device)
            self._shifted_sum = torch.zeros(self._dims, dtype=torch.float64, device=batch.device)
        start = 0
        while start < batch.shape[0]:  # copied: the caller may reuse its buffer before the next product
            if self._pending_rows == self._scratch_rows == 0:
                guess = (
                    batch[start : start + self._slice_rows].mean(dim=0) if self._mean is None else self._mean
                )
                self._shift = guess.to(dtype=dtype, device=batch.device)
            rows = min(batch.shape[0] - start, self._slice_rows - self._scratch_rows)
            stop = self._scratch_rows + rows
            _subtract_into(batch[start : start + rows], self._shift, self._scratch[self._scratch_rows : stop])
            self._scratch_rows = stop
            start += rows
            if self._scratch_rows == self._slice_rows:
                self._accumulate()
                if self._pending_rows >= self.chunk_rows:
                    self._fold()

    def merge(self, other: RunningMoments) -> None:
        """Add the samples summarised by ``other``."""
        if other.count and self._dims is not None and other._dims != self._dims:
            raise ValueError(f"merge: expected statistics of {self._dims} features, got {other._dims}")
        other._fold()
        self._fold()
        if other._count:
            self._dims = other._dims
            self._combine(other._count, other._mean, other._scatter)

    def _accumulate(self) -> None:
        """Add the products and sums of the shifted rows waiting in the scratch slice."""
        shifted = self._scratch[: self._scratch_rows]
        accumulate_lower_gram(shifted, self._shifted_gram, beta=float(self._pending_rows > 0))
        _add_column_sums(self._shifted_sum, shifted)
        self._pending_rows += self._scratch_rows
        self._scratch_rows = 0

    def _fold(self) -> None:
        """Fold the rows added since the last fold into the float64 mean and scatter."""
        if self._scratch_rows:
            self._accumulate()
        rows, self._pending_rows = self._pending_rows, 0
        if not rows:
            return
        offset = self._shifted_sum / rows  # m - s: small next to the spread
        self._shifted_sum.zero_()
        self._combine(rows, self._shift.to(torch.float64) + offset, self._shifted_gram, offset)

    def _combine(
        self, count: int, mean: torch.Tensor, scatter: torch.Tensor, offset: torch.Tensor | None = None
    ) -> None:
        """Add ``count`` samples of mean ``mean`` (float64 ``[D]``) and scatter ``[D, D]`` (lower triangle).

        ``scatter`` is taken about ``mean - offset``: ``Σ (x - mean + offset)(x - mean + offset)ᵀ``, which is
        the scatter about the mean plus ``count offset offsetᵀ`` (``offset=None``: about the mean itself).
        """
        if self._scatter is None:
            self._count, self._mean = 0, torch.zeros_like(mean)
            self._scatter = _float64_copy(scatter, mean.device)
        else:
            _add_into(self._scatter, scatter)
        mean = mean.to(self._mean)
        total = self._count + count
        delta = mean - self._mean
        if offset is not None:
            _add_outer_lower(self._scatter, offset.to(self._mean), -count)
        _add_outer_lower(self._scatter, delta, self._count * count / total)
        self._mean.add_(delta, alpha=count / total)
        self._count = total

    @property
    def mean(self) -> torch.Tensor:
        """Mean feature vector ``[D]`` (float64; a copy, later updates do not change it)."""
        self._fold()
        if self._mean is None:
            raise ValueError("no samples: call update() with at least one batch first")
        return self._mean.clone()

    def covariance(self, ddof: int = 1) -> torch.Tensor:
        """Covariance ``[D, D]`` (float64, exactly symmetric) with ``count - ddof`` in the denominator."""
        self._fold()
        if self._scatter is None or self.count - ddof < 1:
            raise ValueError(f"covariance: expected more than {ddof} samples, got {self.count}")
        return mirror_lower_(_divided(self._scatter, self.count - ddof))
