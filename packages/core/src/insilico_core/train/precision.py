"""Mixed precision behind one flag: ``--precision fp32 | bf16 | fp16``.

* ``fp32``: plain float32, the reference; :func:`autocast` is a no-op.
* ``bf16``: ``torch.autocast`` to bfloat16 on CPU or CUDA. bfloat16 keeps float32's exponent range, so no loss
  scaling is needed; on CPUs with AVX-512 BF16 / AMX matrix work runs several times faster.
* ``fp16``: ``torch.autocast`` to float16 on CUDA only, with gradient scaling (:func:`grad_scaler`) against
  underflow. CPUs have no fast fp16 path, so asking for it there is an error, not a silent slowdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

PRECISIONS = ("fp32", "bf16", "fp16")

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _check(device: str | torch.device, precision: str) -> torch.device:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision 'fp16' needs a CUDA device (got {device}); use 'bf16' on CPU")
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise ValueError(f"precision 'bf16' is supported on CPU and CUDA devices, got {device}")
    return device


@contextlib.contextmanager
def autocast(device: str | torch.device, precision: str = "fp32") -> Iterator[None]:
    """Run the enclosed forward pass (and loss) in ``precision`` on ``device``; see the module docstring.

    Invalid combinations (``fp16`` on CPU, an unknown precision) raise ``ValueError`` before anything runs.
    """
    device = _check(device, precision)
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=_AUTOCAST_DTYPES[precision]):
        yield


def grad_scaler(device: str | torch.device, precision: str = "fp32") -> torch.amp.GradScaler:
    """A ``torch.amp.GradScaler`` that is active for ``fp16`` and a transparent pass-through otherwise.

    Training loops can then always write ``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()``.
    Its ``state_dict()`` belongs in the checkpoint for an exact fp16 resume.
    """
    device = _check(device, precision)
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
