"""Inception Score: exp(E_x KL(p(y|x) ‖ p(y))) from class probabilities, over ``splits`` equal parts."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .checks import as_feature_matrix


def inception_score(probabilities: torch.Tensor, splits: int = 1) -> tuple[float, float]:
    """Mean and standard deviation (over splits; 0 for one split) of the IS of ``probabilities`` ``[N, K]``.

    Each split takes consecutive rows (``torch.chunk``, as torchmetrics and torch-fidelity), its marginal
    p(y) is the mean of its rows, and its score exp(mean_x Σ_y p(y|x) (log p(y|x) − log p(y))). Multi-StyleGAN
    uses one split over 5000 samples; torchmetrics defaults to 10 (and reports the unbiased std).
    """
    probabilities = as_feature_matrix(probabilities, "probabilities", min_samples=max(splits, 1))
    if splits < 1:
        raise ValueError(f"splits: expected at least 1, got {splits}")
    if bool((probabilities < 0).any()) or not torch.allclose(
        probabilities.sum(dim=1), torch.ones(1, dtype=torch.float64, device=probabilities.device), atol=1e-3
    ):
        raise ValueError("probabilities: expected non-negative rows that sum to 1 (softmax outputs)")
    scores = []
    for part in probabilities.chunk(splits):
        marginal = part.mean(dim=0, keepdim=True)
        kl = (part * (part.clamp_min(1e-30).log() - marginal.clamp_min(1e-30).log())).sum(dim=1)
        scores.append(kl.mean().exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std()) if splits > 1 else 0.0


class InceptionScore:
    """Streaming IS: ``update(fake=images)`` gathers class probabilities from ``classifier``.

    ``classifier`` maps a batch to probabilities ``[B, K]`` (e.g. ``InceptionFeatures.probabilities``).
    ``compute()`` returns the mean IS over ``splits``.
    """

    def __init__(self, classifier: Callable[[torch.Tensor], torch.Tensor], splits: int = 1) -> None:
        self.classifier, self.splits = classifier, splits
        self.probabilities: list[torch.Tensor] = []

    def update(self, real: torch.Tensor | None = None, fake: torch.Tensor | None = None) -> None:
        """Add generated samples; ``real`` is accepted for a uniform interface and ignored (IS needs none)."""
        if fake is not None:
            with torch.no_grad():
                self.probabilities.append(self.classifier(fake).detach().to("cpu", torch.float64))

    def compute(self) -> float:
        if not self.probabilities:
            raise ValueError("no samples: call update(fake=...) first")
        return inception_score(torch.cat(self.probabilities), self.splits)[0]
