"""Capture and restore every random number generator a training run draws from, in a weights_only-safe form.

An exactly resumable run must continue with the same random numbers it would have drawn had it not been
stopped: Python's ``random``, numpy's global ``RandomState``, torch's CPU generator, each CUDA device's
generator (and MPS where present), plus any explicit ``torch.Generator`` the run owns (data order, noise). The
captured state is a dict of tensors, ints, floats and ``None`` only, so checkpoints that contain it still load
with ``torch.load(weights_only=True)``: the numpy and Python Mersenne-Twister keys are stored as int64
tensors, never as numpy objects.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def _python_state() -> dict[str, Any]:
    version, internal, gauss_next = random.getstate()
    return {
        "version": version,
        "internal": torch.tensor(internal, dtype=torch.int64),
        "gauss_next": gauss_next,
    }


def _set_python_state(state: Mapping[str, Any]) -> None:
    internal = tuple(int(v) for v in state["internal"].tolist())
    random.setstate((int(state["version"]), internal, state["gauss_next"]))


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    if name != "MT19937":
        raise RuntimeError(f"numpy's global generator is {name}; only MT19937 can be captured")
    return {
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }


def _set_numpy_state(state: Mapping[str, Any]) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        ("MT19937", keys, int(state["pos"]), int(state["has_gauss"]), float(state["cached_gaussian"]))
    )


def capture_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Snapshot of the global generators (python, numpy, torch CPU, CUDA, MPS) and the named ``generators``.

    Returns ``{"python": ..., "numpy": ..., "torch": uint8 tensor, "cuda": [uint8 tensor per device],
    "mps": uint8 tensor or None, "generators": {name: uint8 tensor}}``.
    """
    mps_state = None
    if hasattr(torch, "mps") and torch.backends.mps.is_available():
        mps_state = torch.mps.get_rng_state()
    return {
        "python": _python_state(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": mps_state,
        "generators": {name: generator.get_state() for name, generator in (generators or {}).items()},
    }


def restore_rng_state(
    state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None
) -> None:
    """Put every generator back into the state captured by :func:`capture_rng_state`.

    ``generators`` are the run's own ``torch.Generator`` objects under the names used when capturing; a name
    that was not captured raises ``KeyError``. CUDA states are restored for the devices present (a GPU run
    resumed on a machine without CUDA simply skips them, with a warning); MPS likewise.
    """
    _set_python_state(state["python"])
    _set_numpy_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = list(state.get("cuda", []))
    if cuda_states:
        if torch.cuda.is_available():
            for index, cuda_state in enumerate(cuda_states[: torch.cuda.device_count()]):
                torch.cuda.set_rng_state(cuda_state.cpu(), index)
        else:
            warnings.warn(
                "checkpoint holds CUDA generator states but CUDA is not available; they are skipped",
                stacklevel=2,
            )
    if state.get("mps") is not None and hasattr(torch, "mps") and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"].cpu())
    saved = state.get("generators", {})
    for name, generator in (generators or {}).items():
        if name not in saved:
            raise KeyError(
                f"no state for generator {name!r} in the captured RNG state (it has {sorted(saved)})"
            )
        generator.set_state(saved[name].cpu())
