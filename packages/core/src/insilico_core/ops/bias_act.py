"""Fused bias + activation + gain + clamp, with the StyleGAN2-ADA / StyleGAN3 calling convention.

``bias_act(x, b, dim, act, alpha, gain, clamp)`` computes ``clamp(gain * act(x + b))``, ``b`` broadcast along
dimension ``dim`` of ``x``. The reference path composes PyTorch ops (autograd saves both ``x + b`` and the
activation output). The compiled paths (``cpu``: C++, ``cuda``: CUDA kernels) evaluate the whole chain in one
pass and save only what the derivative needs: the output ``y`` for the activations whose derivative is a
function of ``y`` (relu, lrelu, tanh, sigmoid, elu, selu, softplus), the input for swish. Their backward is
itself an op (:class:`_BiasActGrad`) whose backward is the op again, so second derivatives (R1, path-length
regularisation) work on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from insilico_core.ops._dispatch import resolve_impl


@dataclass(frozen=True)
class Activation:
    """One activation of the table: its function, defaults, kernel code and what its derivative reads.

    ``derivative_reads`` is ``"y"`` when the derivative is written in terms of the (un-gained) output, ``"x"``
    when in terms of the biased input, ``""`` for linear. ``has_second_derivative`` is False for the piecewise
    linear activations, whose second derivative is zero almost everywhere.
    """

    func: Callable[[torch.Tensor, float], torch.Tensor]
    default_alpha: float
    default_gain: float
    code: int
    derivative_reads: str
    has_second_derivative: bool


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(lambda x, a: x, 0.0, 1.0, 1, "", False),
    "relu": Activation(lambda x, a: F.relu(x), 0.0, math.sqrt(2), 2, "y", False),
    "lrelu": Activation(lambda x, a: F.leaky_relu(x, a), 0.2, math.sqrt(2), 3, "y", False),
    "tanh": Activation(lambda x, a: torch.tanh(x), 0.0, 1.0, 4, "y", True),
    "sigmoid": Activation(lambda x, a: torch.sigmoid(x), 0.0, 1.0, 5, "y", True),
    "elu": Activation(lambda x, a: F.elu(x), 0.0, 1.0, 6, "y", True),
    "selu": Activation(lambda x, a: F.selu(x), 0.0, 1.0, 7, "y", True),
    "softplus": Activation(lambda x, a: F.softplus(x), 0.0, 1.0, 8, "y", True),
    "swish": Activation(lambda x, a: torch.sigmoid(x) * x, 0.0, math.sqrt(2), 9, "x", True),
}


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: str = "linear",
    alpha: float | None = None,
    gain: float | None = None,
    clamp: float | None = None,
    impl: str | None = None,
) -> torch.Tensor:
    """Add ``b`` along ``dim`` of ``x``, apply ``act``, multiply by ``gain``, clamp to ``[-clamp, clamp]``.

    Args:
        x: activations of any shape and floating dtype.
        b: bias of shape ``[x.shape[dim]]`` and the dtype of ``x``, or None for no bias.
        dim: the dimension of ``x`` that ``b`` runs along (ignored without ``b``).
        act: one of ``ACTIVATIONS`` (linear, relu, lrelu, tanh, sigmoid, elu, selu, softplus, swish).
        alpha: shape parameter (the negative slope of lrelu); None: the activation's default (0.2 for lrelu).
        gain: output scale; None takes the activation's default (sqrt(2) for relu, lrelu and swish, else 1).
        clamp: clamp the output to ``[-clamp, clamp]``; None disables clamping.
        impl: ``"ref"``, ``"cpu"``, ``"cuda"`` or None for the fastest backend available for ``x``.

    Returns:
        A tensor with the shape and dtype of ``x``.
    """
    spec, alpha, gain, clamp = _validate(x, b, dim, act, alpha, gain, clamp)
    backend = resolve_impl(impl, x)
    if backend is None:
        return _bias_act_ref(x, b, dim, spec, alpha, gain, clamp)
    if b is not None and b.dtype != x.dtype:
        raise ValueError(f"bias_act: b must have the dtype of x ({x.dtype}), got {b.dtype}")
    cfg = _Config(backend, dim, spec, alpha, gain, clamp)
    if cfg.is_identity() and b is None:
        return x
    return _BiasAct.apply(x, b, cfg)


def _validate(
    x: torch.Tensor,
    b: torch.Tensor | None,
    dim: int,
    act: str,
    alpha: float | None,
    gain: float | None,
    clamp: float | None,
) -> tuple[Activation, float, float, float]:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"bias_act: x must be a floating-point tensor, got {type(x).__name__}")
    if act not in ACTIVATIONS:
        raise ValueError(f"bias_act: unknown act {act!r}; expected one of {', '.join(ACTIVATIONS)}")
    if clamp is not None and clamp < 0:
        raise ValueError(f"bias_act: clamp must be None or >= 0, got {clamp}")
    if b is not None:
        if not isinstance(b, torch.Tensor) or b.ndim != 1:
            raise ValueError(f"bias_act: b must be a 1-D tensor, got shape {getattr(b, 'shape', b)}")
        if not 0 <= dim < x.ndim:
            raise ValueError(
                f"bias_act: dim must be in [0, {x.ndim}) for x of shape {tuple(x.shape)}, got {dim}"
            )
        if b.shape[0] != x.shape[dim]:
            raise ValueError(
                f"bias_act: b must have length x.shape[{dim}] = {x.shape[dim]}, got {b.shape[0]}"
            )
    spec = ACTIVATIONS[act]
    alpha = float(alpha if alpha is not None else spec.default_alpha)
    gain = float(gain if gain is not None else spec.default_gain)
    clamp = float(clamp if clamp is not None else -1)
    return spec, alpha, gain, clamp


def _bias_act_ref(
    x: torch.Tensor,
    b: torch.Tensor | None,
    dim: int,
    spec: Activation,
    alpha: float,
    gain: float,
    clamp: float,
) -> torch.Tensor:
    """The reference: composed PyTorch ops (any device and dtype; autograd gives all derivatives)."""
    if b is not None:
        x = x + b.reshape([-1 if i == dim else 1 for i in range(x.ndim)])
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


@dataclass(frozen=True)
class _Config:
    """Everything the compiled op needs besides its tensors: the kernel module and the scalar arguments."""

    kernels: object
    dim: int
    spec: Activation
    alpha: float
    gain: float
    clamp: float

    def is_identity(self) -> bool:
        return self.spec.code == 1 and self.gain == 1 and self.clamp < 0


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """Keep channels-last activations channels-last (the kernels run over memory order)."""
    if x.ndim == 4 and x.stride(1) == 1 and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _sum_except(t: torch.Tensor, dim: int) -> torch.Tensor:
    return t.sum([i for i in range(t.ndim) if i != dim])


_EMPTY = torch.empty(0)


def _or_empty(t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return t if t is not None else _EMPTY.to(like.device, like.dtype)


class _BiasAct(torch.autograd.Function):
    """y = clamp(gain * act(x + b)) by a compiled kernel; saves y (x and b for swish, second derivatives)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, b: torch.Tensor | None, cfg: _Config) -> torch.Tensor:
        fmt = _memory_format(x)
        x = x.contiguous(memory_format=fmt)
        bb = _or_empty(b, x).contiguous()
        y, _ = cfg.kernels.bias_act(
            x, bb, _EMPTY, _EMPTY, _EMPTY, 0, cfg.dim, cfg.spec.code, cfg.alpha, cfg.gain, cfg.clamp, False
        )
        need_x = cfg.spec.derivative_reads == "x" or cfg.spec.has_second_derivative
        # the bias is saved always: it is tiny, and the gradient kernel takes its length for db
        ctx.save_for_backward(x if need_x else None, bb, y if cfg.spec.derivative_reads == "y" else None)
        ctx.cfg = cfg
        ctx.fmt = fmt
        ctx.has_bias = b is not None
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x, b, y = ctx.saved_tensors
        cfg: _Config = ctx.cfg
        dy = dy.contiguous(memory_format=ctx.fmt)
        want_db = ctx.has_bias and ctx.needs_input_grad[1]
        if not (ctx.needs_input_grad[0] or want_db):
            return None, None, None
        if cfg.is_identity():
            return dy, (_sum_except(dy, cfg.dim) if want_db else None), None
        dx, db = _BiasActGrad.apply(dy, x, b, y, cfg, want_db)
        return dx, (db if want_db else None), None


class _BiasActGrad(torch.autograd.Function):
    """(dx, db) = derivative of bias_act applied to dy; differentiable once more (for double backward)."""

    @staticmethod
    def forward(ctx, dy, x, b, y, cfg: _Config, want_db: bool):
        dx, db = cfg.kernels.bias_act(
            dy,
            _or_empty(b, dy),
            _or_empty(x, dy),
            _or_empty(y, dy),
            _EMPTY,
            1,
            cfg.dim,
            cfg.spec.code,
            cfg.alpha,
            cfg.gain,
            cfg.clamp,
            want_db,
        )
        ctx.save_for_backward(dy if cfg.spec.has_second_derivative else None, x, b, y)
        ctx.cfg = cfg
        if not want_db:
            ctx.mark_non_differentiable(db)
        return dx, db

    @staticmethod
    def backward(ctx, d_dx, d_db):
        dy, x, b, y = ctx.saved_tensors
        cfg: _Config = ctx.cfg
        if d_dx is None:
            d_dx = torch.zeros_like(dy if dy is not None else (x if x is not None else y))
        if d_db is not None and d_db.numel() > 0:
            d_dx = d_dx + d_db.reshape([-1 if i == cfg.dim else 1 for i in range(d_dx.ndim)])
        d_dx = d_dx.contiguous(memory_format=_memory_format(d_dx))
        d_dy = d_x = d_b = None
        if ctx.needs_input_grad[0]:
            d_dy, _ = _BiasActGrad.apply(d_dx, x, b, y, cfg, False)
        if cfg.spec.has_second_derivative and (ctx.needs_input_grad[1] or ctx.needs_input_grad[2]):
            d_x, d_b = cfg.kernels.bias_act(
                d_dx,
                _or_empty(b, d_dx),
                _or_empty(x, d_dx),
                _or_empty(y, d_dx),
                dy,
                2,
                cfg.dim,
                cfg.spec.code,
                cfg.alpha,
                cfg.gain,
                cfg.clamp,
                bool(ctx.needs_input_grad[2]),
            )
        return d_dy, d_x, (d_b if ctx.needs_input_grad[2] else None), None, None, None
