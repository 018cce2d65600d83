"""Streaming mean of a paired image metric (SSIM, PSNR, LPIPS): per-image values gathered batch by batch."""

from __future__ import annotations

from collections.abc import Callable

import torch


def reduce_per_image(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """``'mean'``: the mean of per-image ``values`` ``[N]``; ``'none'``: the values themselves."""
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction: expected 'mean' or 'none', got {reduction!r}")


class PairedImageMetric:
    """``update(real=..., fake=...)`` with paired batches ``[B, C, H, W]``; ``compute()`` = mean over images.

    ``metric(real, fake)`` must return per-image values ``[B]`` (e.g. ``partial(ssim, data_range=1.0,
    reduction='none')``). Only the per-image values are kept (8 bytes per image).
    """

    def __init__(self, metric: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.metric = metric
        self.values: list[torch.Tensor] = []

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        """Add one batch of (real, generated) image pairs."""
        with torch.no_grad():
            self.values.append(self.metric(real, fake).detach().to("cpu", torch.float64).reshape(-1))

    def _all(self) -> torch.Tensor:
        if not self.values:
            raise ValueError("no samples: call update(real=..., fake=...) first")
        return torch.cat(self.values)

    def compute(self) -> float:
        """Mean of the per-image values."""
        return float(self._all().mean())

    def compute_std(self) -> float:
        """Population standard deviation of the per-image values."""
        return float(self._all().std(unbiased=False))
