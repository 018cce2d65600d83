"""FID / FVD / IS of the EMA generator during training, with Multi-StyleGAN's definitions (spec section 6).

The feature networks (torchvision Inception-v3 ImageNet weights for FID and IS, piergiaj's I3D
``rgb_imagenet.pt`` for FVD) are never downloaded: their files are given with ``--inception_weights`` and
``--i3d_weights``. Without them, or while the core's Multi-StyleGAN metric definitions are unavailable, the
validation is skipped with one message saying what is missing; training is unaffected.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__all__ = ["validate"]

_reported: set[str] = set()


def _skip(reason: str) -> dict[str, float]:
    if reason not in _reported:
        print(f"[multistylegan] FID/FVD/IS skipped: {reason}")
        _reported.add(reason)
    return {}


def validate(trainer: Any, options: Any) -> dict[str, float]:
    """``{FID_bf, FID_gfp, FVD_bf, FVD_gfp, IS_bf, IS_gfp}`` of ``trainer.ema.module`` against the training
    data, or ``{}`` (with a message) when the weights or the metric implementation are missing."""
    if not trainer.info.is_main:
        return {}
    weights = {"--inception_weights": options.inception_weights, "--i3d_weights": options.i3d_weights}
    absent = [flag for flag, path in weights.items() if not path or not Path(path).is_file()]
    if absent:
        return _skip(f"no weight files given or found for {', '.join(absent)} (see the README, 'Metrics')")
    try:
        metrics = importlib.import_module("insilico_core.metrics.multistylegan")
    except ImportError:
        return _skip(
            "insilico_core.metrics has no Multi-StyleGAN FID/FVD/IS definitions in this installation"
        )
    return metrics.evaluate_generator(
        trainer.ema.module,
        trainer.loader,
        inception_weights=options.inception_weights,
        i3d_weights=options.i3d_weights,
        samples=options.metric_samples,
        batch_size=trainer.local_batch,
        device=trainer.device,
    )
