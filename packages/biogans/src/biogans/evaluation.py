"""The classifier two-sample test of the paper (``--mode eval-gen-vs-real`` / ``eval-real-vs-real``), on
the core's :func:`insilico_core.metrics.c2st`.

A fresh discriminator of the training family (DCGAN_D, or the per-class star-shaped D for conditional
models; ndf from ``--ndf``; BatchNorm unless WGAN-GP) is trained for ``num_iter`` single steps with its own
loss (``--GAN_algorithm``) on the real data of ``--dataroot`` vs fresh samples of G (eval mode) — or vs the
real data of ``--test_data`` — and scored on held-out data: score = −mean errD over 5 passes (WGAN-GP
includes its penalty). Higher = the samples are easier to tell apart = worse. Conditional models get one
score per class and their mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from insilico_core.metrics import C2STResult, c2st
from torch import nn

from .models import CONDITIONAL_TYPES, MULTICHANNEL_TYPES, build_discriminator
from .train_step import latent_noise


class ImageBatches:
    """Re-iterable batches of a loader with the first ``nc`` channels kept (labels dropped)."""

    def __init__(self, loader, nc: int = 2) -> None:
        self.loader, self.nc = loader, nc

    def __iter__(self) -> Iterator[torch.Tensor]:
        for images, _ in self.loader:
            yield images[..., : self.nc, :, :]


def classifier_factory(
    model_type: str,
    algorithm: str,
    image_size: tuple[int, int],
    ndf: int,
    n_classes: int,
    n_extra_layers: int = 0,
) -> Callable[[], nn.Module]:
    """Builds the C2ST classifier with the original init (called by the C2ST after seeding).

    Conditional and multi-channel models are judged per class (star-shaped D on 2-channel images); the
    original left the multi-channel classifier at PyTorch's default init (a bug, fixed here).
    """
    conditional = model_type in CONDITIONAL_TYPES or model_type in MULTICHANNEL_TYPES
    classifier_type = "DCGAN-star-shaped" if conditional else "DCGAN"

    def build() -> nn.Module:
        return build_discriminator(
            classifier_type,
            image_size,
            2,
            ndf,
            n_classes,
            n_extra_layers,
            use_batch_norm=algorithm != "WGAN-GP",
        )

    return build


def generator_sampler(G: nn.Module, nz: int, device: torch.device) -> Callable[[int], torch.Tensor]:
    """``n -> G(z)`` with z ~ N(0, 1) ``[n, nz, 1, 1]``, G in eval mode (BatchNorm running statistics)."""
    G.eval()

    def sample(n: int) -> torch.Tensor:
        with torch.no_grad():
            return G(latent_noise(n, nz, device))

    return sample


def c2st_real_vs_real(
    classifier: Callable[[], nn.Module], train_a, train_b, test_a, test_b, algorithm: str, **options: Any
) -> C2STResult:
    """C2ST of two samples (Table 1: two real ones): A plays "real", B "fake"; scored until either held-out
    set ends. B may also be a sampler ``n -> batch`` (see :func:`c2st_generated_vs_real`).

    ``algorithm`` (``--GAN_algorithm``) is the classifier's loss; ``options`` are the training settings of
    :func:`insilico_core.metrics.c2st` (``num_iter``, ``batch_size``, ``optimizer``, ``lr``, ``betas``,
    ``wgan_clamp``, ``wgangp_lambda``, ``seed``, ``device``) with its defaults, which are the paper's. The
    samples are used as given (no random flips: BioGANs' loaders flip their own).
    """
    return c2st(
        classifier,
        train_a,
        train_b,
        test_a,
        test_b,
        loss=algorithm.casefold(),
        random_flips=False,
        **options,
    )


def c2st_generated_vs_real(
    G: nn.Module,
    classifier: Callable[[], nn.Module],
    train_real,
    test_real,
    algorithm: str,
    nz: int,
    device: str | torch.device = "cpu",
    **options: Any,
) -> C2STResult:
    """C2ST of G's samples against real data: train on (``train_real``, fresh fakes), score on
    (``test_real`` 5 passes, a fresh fake batch per real batch). Real sources: iterables of image batches
    in [-1, 1] (e.g. :class:`ImageBatches`) or tensors. ``options``: the training settings, as for
    :func:`c2st_real_vs_real`."""
    device = torch.device(device)
    sampler = generator_sampler(G, nz, device)
    return c2st_real_vs_real(
        classifier, train_real, sampler, test_real, sampler, algorithm, device=device, **options
    )


def format_scores(result: C2STResult, algorithm: str, class_names: list[str]) -> str:
    """The original's last lines: ``Evaluated on N batches``, per-class scores (conditional), mean score."""
    lines = [f"Evaluated on {result.num_batches} batches"]
    score = result.score.reshape(-1)
    if score.numel() > 1:
        if score.numel() != len(class_names):
            raise ValueError(f"{score.numel()} class scores for {len(class_names)} class names")
        per_class = " ".join(f"{name}: {float(v)};" for name, v in zip(class_names, score, strict=True))
        lines.append(f"{algorithm}-scores per class. {per_class}")
    lines.append(f"{algorithm}-score: equals {result.mean_score}")
    return "\n".join(lines)
