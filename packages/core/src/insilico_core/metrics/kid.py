"""Kernel Inception Distance: unbiased MMD² with a cubic polynomial kernel, as StyleGAN2-ADA/3 compute it.

With k(x, y) = (xᵀy / d + 1)³ on d-dimensional features, each of ``num_subsets`` rounds draws m samples
without replacement from each set (m = min(subset_size, N_real, N_fake)) and computes the unbiased estimate

    MMD² = [Σ_{i≠j} k(xᵢ, xⱼ) + Σ_{i≠j} k(yᵢ, yⱼ)] / (m (m − 1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / m²;

KID is the mean over rounds (torchmetrics also reports the standard deviation over rounds).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .checks import as_feature_matrix


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1) ** 3


def kid_subset_estimates(
    features_real: torch.Tensor,
    features_fake: torch.Tensor,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> torch.Tensor:
    """The unbiased MMD² of each random subset pair, float64 ``[num_subsets]``; features ``[N, D]``."""
    real = as_feature_matrix(features_real, "features_real", min_samples=2)
    fake = as_feature_matrix(features_fake, "features_fake", min_samples=2).to(real.device)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"expected features of one dimension, got {real.shape[1]} (real) and {fake.shape[1]} (fake)"
        )
    if num_subsets < 1 or subset_size < 2:
        raise ValueError(
            f"expected num_subsets >= 1 and subset_size >= 2, got {num_subsets} and {subset_size}"
        )
    m = min(subset_size, real.shape[0], fake.shape[0])
    generator = torch.Generator().manual_seed(seed)
    estimates = torch.empty(num_subsets, dtype=torch.float64)
    for index in range(num_subsets):
        x = fake[torch.randperm(fake.shape[0], generator=generator)[:m].to(fake.device)]
        y = real[torch.randperm(real.shape[0], generator=generator)[:m].to(real.device)]
        within = _polynomial_kernel(x, x) + _polynomial_kernel(y, y)
        between = _polynomial_kernel(x, y)
        estimates[index] = (within.sum() - within.diagonal().sum()) / (m * (m - 1)) - 2 * between.sum() / m**2
    return estimates


def kid(
    features_real: torch.Tensor,
    features_fake: torch.Tensor,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """KID between feature sets ``[N_real, D]`` and ``[N_fake, D]``: the mean of the subset estimates."""
    return float(kid_subset_estimates(features_real, features_fake, num_subsets, subset_size, seed).mean())


class KernelDistance:
    """Streaming KID: ``update(real=..., fake=...)`` gathers features (through ``extractor`` when given).

    KID resamples subsets, so features are kept (float32, on the CPU: 50k × 2048 features take 400 MB).
    ``compute()`` returns the mean over subsets, ``compute_std()`` the standard deviation over subsets
    (population std, as torchmetrics reports it).
    """

    def __init__(
        self,
        extractor: Callable[[torch.Tensor], torch.Tensor] | None = None,
        num_subsets: int = 100,
        subset_size: int = 1000,
        seed: int = 0,
    ) -> None:
        self.extractor = extractor
        self.num_subsets, self.subset_size, self.seed = num_subsets, subset_size, seed
        self.real_features: list[torch.Tensor] = []
        self.fake_features: list[torch.Tensor] = []

    def _features(self, batch: torch.Tensor) -> torch.Tensor:
        if self.extractor is not None:
            with torch.no_grad():
                batch = self.extractor(batch)
        return as_feature_matrix(batch, "features").to(device="cpu", dtype=torch.float32)

    def update(self, real: torch.Tensor | None = None, fake: torch.Tensor | None = None) -> None:
        """Add a batch of real and/or generated samples."""
        if real is not None:
            self.real_features.append(self._features(real))
        if fake is not None:
            self.fake_features.append(self._features(fake))

    def compute_subsets(self) -> torch.Tensor:
        """Per-subset MMD² estimates ``[num_subsets]``."""
        for name, gathered in (("real", self.real_features), ("fake", self.fake_features)):
            if not gathered:
                raise ValueError(f"{name}: no samples, call update({name}=...) first")
        return kid_subset_estimates(
            torch.cat(self.real_features),
            torch.cat(self.fake_features),
            self.num_subsets,
            self.subset_size,
            self.seed,
        )

    def compute(self) -> float:
        """KID: mean of the per-subset estimates."""
        return float(self.compute_subsets().mean())

    def compute_std(self) -> float:
        """Standard deviation of the per-subset estimates."""
        return float(self.compute_subsets().std(unbiased=False))
