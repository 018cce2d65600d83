"""The dtype a StyleGAN block or layer computes in (stock ``use_fp16`` / ``force_fp32`` switches).

StyleGAN2/3 give the highest-resolution blocks ``use_fp16=True`` (``num_fp16_res``) and let a caller force
float32 (``force_fp32``). Half precision is used only on CUDA: float16 convolutions on the CPU are slow or
unsupported, so there every block runs in float32 whatever its flag says.
"""

from __future__ import annotations

import torch


def compute_dtype(use_fp16: bool, force_fp32: bool, device: torch.device) -> torch.dtype:
    """``torch.float16`` for a ``use_fp16`` block on CUDA unless ``force_fp32``; else ``torch.float32``."""
    return torch.float16 if use_fp16 and not force_fp32 and device.type == "cuda" else torch.float32
