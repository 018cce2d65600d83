"""Choosing the backend of one op call: ``ref`` (PyTorch), ``cpu`` (C++) or ``cuda`` (CUDA kernels)."""

from __future__ import annotations

import torch

from insilico_core.ops import _build

IMPLS = ("ref", "cpu", "cuda")

# dtypes each compiled backend has kernels for (anything else goes to the reference path)
SUPPORTED_DTYPES: dict[str, frozenset[torch.dtype]] = {
    "cpu": frozenset({torch.float32, torch.float64, torch.bfloat16}),
    "cuda": frozenset({torch.float16, torch.float32, torch.float64}),
}


def resolve_impl(
    impl: str | None, x: torch.Tensor, auto_backends: frozenset[str] = frozenset(SUPPORTED_DTYPES)
):
    """The compiled kernel module to run ``x`` with, or None for the reference path.

    ``impl=None`` picks the compiled backend of ``x``'s device when it is one of ``auto_backends`` (the
    backends measured faster than the reference for this op), supports ``x``'s dtype and is built (or can be
    built, once per environment), else the reference path; ``INSILICO_OPS=ref`` forces the reference.
    A named backend is used as asked: a device or dtype it cannot run, or an unavailable backend, raises.
    """
    if impl is not None and impl not in IMPLS:
        raise ValueError(f"impl must be None or one of {', '.join(IMPLS)}; got {impl!r}")
    if impl == "ref":
        return None
    device_backend = x.device.type if x.device.type in SUPPORTED_DTYPES else None
    if impl is None:
        if (
            device_backend not in auto_backends
            or x.dtype not in SUPPORTED_DTYPES[device_backend]
            or _build.forced_ref()
        ):
            return None
        return _build.kernels(device_backend)
    if _build.forced_ref():
        raise RuntimeError(f"impl={impl!r} is disabled: INSILICO_OPS=ref forces the reference path")
    if device_backend != impl:
        raise ValueError(f"impl={impl!r} runs on {impl} tensors; got a tensor on {x.device}")
    if x.dtype not in SUPPORTED_DTYPES[impl]:
        supported = ", ".join(sorted(str(d).removeprefix("torch.") for d in SUPPORTED_DTYPES[impl]))
        raise ValueError(f"impl={impl!r} supports dtypes {supported}; got {x.dtype} (use impl=None or 'ref')")
    module = _build.kernels(impl)
    if module is None:
        state = _build.backend_status(impl)
        raise RuntimeError(f"impl={impl!r} is unavailable: {state.reason} (build log: {state.log})")
    return module
