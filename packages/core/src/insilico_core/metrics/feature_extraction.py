"""Running a feature network over many images in batches, with bounded memory and a progress bar.

Only one batch of inputs and its features are alive at a time; what is kept across batches is the
metric's own state (running moments for FID/FVD, features for KID, probabilities for IS).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from ..train.progress import progress


def batched(samples: Iterable[torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
    """Stack single samples (e.g. images ``[C, H, W]`` read one by one) into batches of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected at least 1, got {batch_size}")
    pending: list[torch.Tensor] = []
    for sample in samples:
        pending.append(sample)
        if len(pending) == batch_size:
            yield torch.stack(pending)
            pending = []
    if pending:
        yield torch.stack(pending)


def extract_features(
    extractor: torch.nn.Module,
    batches: Iterable[torch.Tensor],
    device: str | torch.device = "cpu",
    total: int | None = None,
    desc: str | None = None,
) -> Iterator[torch.Tensor]:
    """Yield ``extractor(batch)`` for each input batch (moved to ``device``), without gradients.

    ``total`` (number of batches) lets the progress bar show an ETA; ``desc`` labels it.
    """
    extractor = extractor.to(device).eval()
    with torch.no_grad():
        for batch in progress(batches, total=total, desc=desc):
            yield extractor(batch.to(device))
