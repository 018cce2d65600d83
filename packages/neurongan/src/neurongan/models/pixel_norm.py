"""Pixel normalisation with a hand-written, twice-differentiable backward.

``y = x * r`` with ``r = rsqrt(mean_c(x^2) + eps)`` over the channels of ``[N, C, H, W]``: the same forward
arithmetic as ``insilico_core.nn.PixelNorm`` (bit-identical values). Autograd's backward of that expression
takes about seven full-size passes and its double backward (the gradient penalty differentiates the critic
twice) many more; the closed form used here,

    dx = r * (dy - y * mean_c(dy * y)) - (r^2 / C) * y * dr,

needs three and is written in the *outputs* ``y`` and ``r`` of the forward, which is therefore returned as a
pair: autograd then differentiates the backward again through this same function, to any order. Results
agree with autograd's to float32 rounding; fwd + bwd + double bwd take about half the time on CPU.
"""

from __future__ import annotations

import torch
from torch import nn


class _PixelNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
        r = (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()
        y = x * r
        ctx.save_for_backward(y, r)
        ctx.set_materialize_grads(False)
        return y, r

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor | None, grad_r: torch.Tensor | None):
        y, r = ctx.saved_tensors
        grad_x = None
        if grad_y is not None:
            projection = (grad_y * y).mean(dim=1, keepdim=True)
            grad_x = torch.addcmul(grad_y, y, projection, value=-1) * r
        if grad_r is not None:
            through_r = y * (grad_r * r.square() / y.shape[1])
            grad_x = -through_r if grad_x is None else grad_x - through_r
        return grad_x, None


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``x [N, C, ...]`` -> same shape, each feature vector (``dim=1``) scaled to unit mean square."""
    return _PixelNorm.apply(x, eps)[0]


class PixelNorm(nn.Module):
    """Module form of :func:`pixel_norm` (no parameters, nothing in the state dict)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x, self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
