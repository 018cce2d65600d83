"""Choosing the device a run computes on, and the channels-last memory layout for convolution-heavy models."""

from __future__ import annotations

import torch
from torch import nn


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """Turn a ``--device`` value into a ``torch.device``, checking that it exists.

    ``'auto'`` picks CUDA when a GPU is visible, else Apple's MPS, else the CPU. ``'cpu'``, ``'cuda'``,
    ``'cuda:N'`` and ``'mps'`` are taken literally; asking for a device this machine lacks raises a
    ``ValueError`` that says what is available instead of failing later inside a kernel.
    """
    if isinstance(spec, torch.device):
        text = str(spec)
    elif isinstance(spec, str):
        text = spec.strip().lower()
    else:
        raise ValueError(f"device must be a string or torch.device, got {type(spec).__name__}")
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise ValueError(
            f"unknown device {spec!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from exc
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            built = (
                "without CUDA support" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}"
            )
            raise ValueError(
                f"device {spec!r} was requested but CUDA is not available (torch {torch.__version__} is "
                f"built {built} and sees no GPU); use --device cpu or --device auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {spec!r} was requested but only {count} CUDA device(s) are visible")
        return device
    if device.type == "mps":
        if not _mps_available():
            raise ValueError(f"device {spec!r} was requested but Apple MPS is not available on this machine")
        return device
    raise ValueError(f"unsupported device {spec!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")


def to_channels_last(module: nn.Module) -> nn.Module:
    """Store ``module``'s 4-D weights channels-last (NHWC) in place and return it.

    Convolutions on CUDA tensor cores (fp16/bf16) and oneDNN on CPU run faster in this layout; feed the model
    ``x.contiguous(memory_format=torch.channels_last)`` too. Numerics are unchanged (same values, other
    strides).
    """
    return module.to(memory_format=torch.channels_last)
