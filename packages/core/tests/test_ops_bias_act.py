"""bias_act on every backend of this machine against a numpy oracle and against the reference path."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import torch
from insilico_core import ops
from insilico_core.ops import _build

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _numpy_act(name: str, v: np.ndarray, alpha: float) -> np.ndarray:
    """The activations written out independently in float64 numpy."""
    if name == "linear":
        return v
    if name == "relu":
        return np.maximum(v, 0)
    if name == "lrelu":
        return np.where(v > 0, v, alpha * v)
    if name == "tanh":
        return np.tanh(v)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-v))
    if name == "elu":
        return np.where(v >= 0, v, np.expm1(np.minimum(v, 0)))
    if name == "selu":
        return SELU_SCALE * np.where(v >= 0, v, SELU_ALPHA * np.expm1(np.minimum(v, 0)))
    if name == "softplus":
        return np.logaddexp(0, v)
    if name == "swish":
        return v / (1 + np.exp(-v))
    raise AssertionError(name)


# default (alpha, gain) per activation, as StyleGAN2-ADA defines them
DEFAULTS = {
    "linear": (0.0, 1.0),
    "relu": (0.0, math.sqrt(2)),
    "lrelu": (0.2, math.sqrt(2)),
    "tanh": (0.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "elu": (0.0, 1.0),
    "selu": (0.0, 1.0),
    "softplus": (0.0, 1.0),
    "swish": (0.0, math.sqrt(2)),
}


def oracle(x, b, dim, act, alpha, gain, clamp) -> np.ndarray:
    v = x.detach().double().cpu().numpy()
    if b is not None:
        shape = [1] * v.ndim
        shape[dim] = -1
        v = v + b.detach().double().cpu().numpy().reshape(shape)
    default_alpha, default_gain = DEFAULTS[act]
    v = _numpy_act(act, v, default_alpha if alpha is None else alpha) * (
        default_gain if gain is None else gain
    )
    if clamp is not None:
        v = np.clip(v, -clamp, clamp)
    return v


TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 1e-2}


def assert_close(actual: torch.Tensor, expected: np.ndarray, dtype: torch.dtype) -> None:
    """max |actual - expected| relative to max |expected| within the dtype's tolerance."""
    a = actual.detach().double().cpu().numpy()
    assert a.shape == expected.shape
    if expected.size == 0:
        return
    error = np.abs(a - expected).max() / max(np.abs(expected).max(), 1e-30)
    assert error <= TOLERANCE[dtype], f"relative error {error:.3g} > {TOLERANCE[dtype]:g} for {dtype}"


@pytest.fixture(scope="module", params=["ref", "cpu", "cuda"])
def impl(request) -> str:
    """Each backend available here (the C++ build happens once, cached across processes)."""
    if request.param != "ref" and _build.kernels(request.param) is None:
        pytest.skip(f"{request.param} backend unavailable: {_build.backend_status(request.param).reason}")
    return request.param


def device_of(impl: str) -> str:
    return "cuda" if impl == "cuda" else "cpu"


def dtypes_of(impl: str) -> list[torch.dtype]:
    return [torch.float64, torch.float32] + ([torch.float16] if impl == "cuda" else [torch.bfloat16])


def make_input(shape, dtype, device, layout: str, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 2
    if layout == "channels_last" and len(shape) == 4:
        x = x.to(memory_format=torch.channels_last)
    elif layout == "strided":
        x = torch.randn([*shape[:-1], shape[-1] * 2], generator=g, dtype=torch.float64)[..., ::2] * 2
    return x.to(device=device, dtype=dtype)


GRID = list(
    itertools.product(
        list(DEFAULTS),
        [(2, 5, 4, 3), (0, 3, 2, 2), (1, 7), (3, 4, 5)],
        ["contiguous", "channels_last", "strided"],
        [None, 0.5],  # clamp
        [1, 0, -1],  # dim of the bias (-1: no bias)
    )
)


@pytest.mark.parametrize("case", random.Random(0).sample(GRID, 36), ids=str)
def test_forward_matches_oracle_and_ref(impl, case):
    act, shape, layout, clamp, dim = case
    for dtype in dtypes_of(impl):
        x = make_input(shape, dtype, device_of(impl), layout, seed=len(shape))
        b = None
        if dim >= 0:
            b = torch.linspace(-1, 1, shape[dim], dtype=torch.float64).to(device=x.device, dtype=dtype)
        y = ops.bias_act(x, b, dim=max(dim, 0), act=act, clamp=clamp, impl=impl)
        assert y.dtype == dtype and y.shape == x.shape
        expected = oracle(x, b, max(dim, 0), act, None, None, clamp)
        assert_close(y, expected, dtype)
        reference = ops.bias_act(x, b, dim=max(dim, 0), act=act, clamp=clamp, impl="ref")
        assert_close(y, reference.double().cpu().numpy(), dtype)


@pytest.mark.parametrize("act", list(DEFAULTS))
def test_explicit_alpha_and_gain(impl, act):
    x = make_input((2, 3, 4), torch.float64, device_of(impl), "contiguous", seed=1)
    b = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64, device=x.device)
    y = ops.bias_act(x, b, act=act, alpha=0.3, gain=0.7, impl=impl)
    assert_close(y, oracle(x, b, 1, act, 0.3, 0.7, None), torch.float64)


def test_default_gains_and_slope_by_hand():
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert ops.bias_act(x, act="lrelu", impl="ref").tolist() == pytest.approx(
        [-0.2 * math.sqrt(2), 2 * math.sqrt(2)]
    )
    assert ops.bias_act(x, act="relu", impl="ref").tolist() == pytest.approx([0, 2 * math.sqrt(2)])
    assert ops.bias_act(x, act="tanh", impl="ref").tolist() == pytest.approx([math.tanh(-1), math.tanh(2)])


@pytest.mark.parametrize("act", list(DEFAULTS))
@pytest.mark.parametrize("clamp", [None, 0.8])
def test_gradcheck_and_gradgradcheck(impl, act, clamp):
    device = device_of(impl)
    g = torch.Generator().manual_seed(3)
    # keep |x + b| away from the kinks (0 and the clamp level), where finite differences are meaningless
    x = torch.rand(2, 3, 3, 2, generator=g, dtype=torch.float64) * 0.4 + 0.3
    x = x * torch.where(torch.rand(x.shape, generator=g) < 0.5, -1.0, 1.0).double()
    x = x.to(device).requires_grad_(True)
    b = torch.tensor([0.0, 0.02, -0.02], dtype=torch.float64, device=device, requires_grad=True)

    def f(x, b):
        return ops.bias_act(x, b, act=act, alpha=0.25, clamp=clamp, impl=impl)

    assert torch.autograd.gradcheck(f, (x, b))
    assert torch.autograd.gradgradcheck(f, (x, b))


@pytest.mark.parametrize("act", ["lrelu", "tanh", "swish", "softplus"])
def test_second_derivatives_match_ref(impl, act):
    """The R1-style double backward (gradient of a gradient norm) agrees with the reference path."""
    x0 = make_input((2, 4, 3, 3), torch.float64, device_of(impl), "channels_last", seed=5)
    b0 = torch.linspace(-0.5, 0.5, 4, dtype=torch.float64, device=x0.device)
    results = []
    for which in (impl, "ref"):
        x, b = x0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
        y = ops.bias_act(x, b, act=act, impl=which)
        (gx,) = torch.autograd.grad((y * y.detach().flip(0)).sum(), x, create_graph=True)
        penalty = gx.square().sum()
        results.append(torch.autograd.grad(penalty, (x, b)))
    for actual, expected in zip(*results, strict=True):
        assert_close(actual, expected.cpu().numpy(), torch.float64)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=torch.zeros(2, 3), b=torch.zeros(4)), "length"),
        (dict(x=torch.zeros(2, 3), b=torch.zeros(3, 1)), "1-D"),
        (dict(x=torch.zeros(2, 3), act="gelu"), "unknown act"),
        (dict(x=torch.zeros(2, 3), clamp=-1), "clamp"),
        (dict(x=torch.zeros(2, 3), b=torch.zeros(3), dim=2), "dim"),
        (dict(x=torch.zeros(2, 3, dtype=torch.long)), "floating"),
        (dict(x=torch.zeros(2, 3), impl="triton"), "impl"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ops.bias_act(**kwargs)


def test_named_backend_rejects_what_it_cannot_run():
    with pytest.raises(ValueError, match="cuda"):
        ops.bias_act(torch.zeros(2, 3), impl="cuda")
    if _build.kernels("cpu") is not None:
        with pytest.raises(ValueError, match="dtypes"):
            ops.bias_act(torch.zeros(2, 3, dtype=torch.float16), impl="cpu")
