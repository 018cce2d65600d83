"""Symmetric matrix products computed block-triangle by block-triangle.

The two large products behind the Fréchet distance are symmetric: a Gram matrix ``XᵀX`` (the covariance of
10,000 x 2048 features) and the congruence ``LᵀSL`` of a covariance with a Cholesky factor (whose
eigenvalues give ``Tr (Σ₁Σ₂)^{1/2}``). torch exposes no ``syrk`` / ``trmm``, so a plain ``@`` computes both
halves, and for ``LᵀSL`` also multiplies the zero half of ``L``. Working in column blocks and computing only
the lower block triangle (mirrored afterwards) does about 56 % of the Gram's work and 40 % of the
congruence's at 2048 dimensions; blocks of 256 columns keep every GEMM large enough to run at full speed.
"""

from __future__ import annotations

import torch

BLOCK_COLUMNS = 256


def _column_blocks(size: int, block: int) -> list[tuple[int, int]]:
    return [(start, min(start + block, size)) for start in range(0, size, block)]


def _from_lower_triangle(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric matrix with ``matrix``'s lower triangle (what lies above the diagonal is ignored)."""
    lower = matrix.tril()
    return lower + lower.tril(-1).T


def gram(x: torch.Tensor, block: int = BLOCK_COLUMNS) -> torch.Tensor:
    """``xᵀx`` ``[D, D]`` of ``x`` ``[K, D]`` in ``x``'s dtype, exactly symmetric."""
    size = x.shape[1]
    out = x.new_empty(size, size)
    for start, stop in _column_blocks(size, block):
        out[start:, start:stop] = x[:, start:].T @ x[:, start:stop]
    return _from_lower_triangle(out)


def congruence(lower: torch.Tensor, symmetric: torch.Tensor, block: int = BLOCK_COLUMNS) -> torch.Tensor:
    """``LᵀSL`` ``[D, D]`` for a lower-triangular ``L`` and a symmetric ``S``, exactly symmetric.

    Column block j of ``SL`` only needs rows ``j..`` of ``L`` (the rest are zero), and the lower block
    triangle of ``Lᵀ(SL)`` only rows ``j..`` of both factors.
    """
    size = symmetric.shape[0]
    blocks = _column_blocks(size, block)
    s_l = torch.empty_like(symmetric)
    for start, stop in blocks:
        s_l[:, start:stop] = symmetric[:, start:] @ lower[start:, start:stop]
    out = torch.empty_like(symmetric)
    for start, stop in blocks:
        out[start:, start:stop] = lower[start:, start:].T @ s_l[start:, start:stop]
    return _from_lower_triangle(out)
