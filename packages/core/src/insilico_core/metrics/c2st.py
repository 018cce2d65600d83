"""Classifier two-sample test (C2ST) exactly as BioGANs (Osokin et al., ICCV 2017 workshops) evaluates.

A fresh classifier (a GAN discriminator/critic) is trained to tell sample A ("real") from sample B
("fake") and is then scored on held-out data with its own training loss. BioGANs' procedure
(``--mode eval-gen-vs-real`` and ``eval-real-vs-real``; ``gan.py`` ``train_disc_iterators`` and
``compute_dics_score_*``):

1. Seed everything (``--random_seed 0``), build the classifier (DCGAN discriminator, its ``weights_init``).
2. Train it for ``num_iter`` (5000) single steps, each on one batch of A and one batch of B (batch 64; data
   loaders loop over their epochs, random horizontal and vertical flips on; generated samples are fresh each
   step). No n_critic loop and no 100-step WGAN schedule; WGAN clips the weights after each step and WGAN-GP
   adds its gradient penalty. Optimiser per classifier type (the paper's flags):
   GAN: Adam(lr 2e-4, betas (0.5, 0.999)); WGAN: RMSprop(lr 5e-5); WGAN-GP: Adam(lr 1e-4, betas (0, 0.9)).
3. Switch the classifier to eval mode and score the held-out data: 5 passes over the held-out A loader; each A
   batch is paired with a fresh generated batch (generator-vs-real) or the next held-out B batch
   (real-vs-real, stopping when either loader is exhausted). The reported statistic is

       score = −(1 / n_batches) Σ_batches errD(A_batch, B_batch),

   where errD is the classifier's training loss: GAN: BCE(D(A), 1) + BCE(D(B), 0) (BCE on logits);
   WGAN: mean D(A) − mean D(B); WGAN-GP: mean D(A) − mean D(B) + λ·mean (‖∇D(x̂)‖₂ − 1)² (λ = 10,
   x̂ = ε A + (1 − ε) B, ε ~ U(0, 1) per sample, the penalty included at evaluation too).
   A higher score means the classifier separates the samples better (the generator is worse): for
   WGAN-type critics it estimates mean D(B) − mean D(A) (minus the penalty), about 0 (slightly below with
   WGAN-GP) for samples from one distribution and growing with their distance; for GAN it is
   −(BCE_A + BCE_B), about −2 log 2 at chance and rising towards 0 as the samples become separable. A
   class-conditional (star-shaped) classifier returns one row of scores per class and the score is then a
   vector (BioGANs prints it per class and their mean).

Inputs are image batches ``[B, C, H, W]`` or, for class-conditional classifiers, ``[K, B, C, H, W]``
(K classes); the classifier must return scores of shape ``[B]`` (or ``[K, B]``); trailing singleton dims
are squeezed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

ClassifierLoss = Literal["gan", "wgan", "wgan-gp"]

#: Optimiser settings of the BioGANs evaluation jobs, per classifier type.
CLASSIFIER_OPTIMIZERS: dict[str, dict] = {
    "gan": {"optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999)},
    "wgan": {"optimizer": "rmsprop", "lr": 5e-5},
    "wgan-gp": {"optimizer": "adam", "lr": 1e-4, "betas": (0.0, 0.9)},
}

#: A sample: a tensor of samples (``[N, C, H, W]`` or ``[K, N, C, H, W]``), a Dataset of samples (items
#: may be ``(image, label)`` tuples), an iterable of batches (e.g. a DataLoader), or a sampler
#: ``batch_size -> batch`` that returns fresh samples on each call
#: (e.g. ``lambda n: generator(torch.randn(n, nz, 1, 1))``).
SampleSource = torch.Tensor | Dataset | Iterable | Callable[[int], torch.Tensor]


@dataclass
class C2STResult:
    """Outcome of :func:`c2st`.

    ``score``: the reported statistic, −mean errD over the held-out batches (float64, shape ``[]``, or ``[K]``
    for class-conditional classifiers); ``mean_score``: its mean over classes (what BioGANs prints as
    ``<ALG>-score: equals``); ``accuracy``: fraction of held-out samples on the right side of ``threshold``
    (for GAN the logit 0; for WGAN-type critics the midpoint of the mean critic values of A and B on one
    training batch pair, computed after training, since critic values have an arbitrary offset) — a detail
    for reading the score, not part of the BioGANs protocol; ``num_batches``: held-out batches scored;
    ``train_losses``: errD (mean over classes) of every training step; ``classifier``: the trained model.
    """

    score: torch.Tensor
    accuracy: float
    threshold: float
    num_batches: int
    train_losses: list[float] = field(repr=False)
    classifier: nn.Module = field(repr=False)

    @property
    def mean_score(self) -> float:
        return float(self.score.mean())


def _first_element(batch):
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _random_flips(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each sample horizontally and (independently) vertically with probability 1/2."""
    sample_shape = batch.shape[:-3] + (1, 1, 1)
    flip_h = torch.rand(sample_shape, generator=generator).to(batch.device) < 0.5
    flip_v = torch.rand(sample_shape, generator=generator).to(batch.device) < 0.5
    batch = torch.where(flip_h, batch.flip(-1), batch)
    return torch.where(flip_v, batch.flip(-2), batch)


def _tensor_batches(
    samples: torch.Tensor, batch_size: int, shuffle: bool, flips: bool, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """One pass over a tensor of samples (sample axis = dim -4), like a DataLoader with drop_last=False."""
    count = samples.shape[-4]
    order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
    for start in range(0, count, batch_size):
        batch = samples.index_select(-4, order[start : start + batch_size].to(samples.device))
        yield _random_flips(batch, generator) if flips else batch


class _Stream:
    """Batches from a :data:`SampleSource`: ``passes`` passes over data, or endless fresh samples."""

    def __init__(
        self,
        source: SampleSource,
        name: str,
        batch_size: int,
        shuffle: bool,
        flips: bool,
        generator: torch.Generator,
    ) -> None:
        self.source, self.name, self.batch_size = source, name, batch_size
        self.shuffle, self.flips, self.generator = shuffle, flips, generator
        self.is_sampler = callable(source) and not isinstance(source, (Dataset, Iterable))
        if isinstance(source, torch.Tensor) and (source.dim() not in (4, 5) or source.shape[-4] < 1):
            raise ValueError(
                f"{name}: expected samples [N, C, H, W] or [K, N, C, H, W], got {tuple(source.shape)}"
            )
        if isinstance(source, Dataset):
            self.source = DataLoader(source, batch_size=batch_size, shuffle=shuffle)
        elif not (self.is_sampler or isinstance(source, Iterable)):
            raise ValueError(
                f"{name}: expected a tensor, a Dataset, an iterable of batches or a sampler, "
                f"got {type(source)}"
            )

    def _one_pass(self) -> Iterator[torch.Tensor]:
        if isinstance(self.source, torch.Tensor):
            yield from _tensor_batches(self.source, self.batch_size, self.shuffle, self.flips, self.generator)
        else:
            for batch in self.source:
                yield _first_element(batch)

    def batches(self, passes: int | None) -> Iterator[torch.Tensor]:
        """Endless batches (``passes=None``) or ``passes`` passes over the data; samplers never end."""
        if self.is_sampler:
            while True:
                with torch.no_grad():
                    batch = self.source(self.batch_size)
                yield batch
        completed = 0
        while passes is None or completed < passes:
            empty = True
            for batch in self._one_pass():
                empty = False
                yield batch
            if empty:
                raise ValueError(f"{self.name}: the sample is empty")
            completed += 1


def _scores(classifier: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Classifier outputs shaped like the sample axes of ``batch`` (``[B]`` or ``[K, B]``)."""
    scores = classifier(batch)
    sample_shape = batch.shape[:-3]
    if scores.numel() != sample_shape.numel():
        raise ValueError(
            f"classifier: expected one score per sample, shape {tuple(sample_shape)}, "
            f"got {tuple(scores.shape)}"
        )
    return scores.reshape(sample_shape)


def gradient_penalty(
    classifier: nn.Module, a: torch.Tensor, b: torch.Tensor, create_graph: bool
) -> torch.Tensor:
    """WGAN-GP penalty (‖∇D(x̂)‖₂ − 1)² per interpolated sample, shape ``[B]`` or ``[K, B]``.

    Batches are cut to a common size; ε ~ U(0, 1) is drawn per sample from the global RNG.
    """
    size = min(a.shape[-4], b.shape[-4])
    a, b = a.narrow(-4, 0, size).detach(), b.narrow(-4, 0, size).detach()
    eps = torch.rand(a.shape[:-3] + (1, 1, 1)).to(a)
    interpolates = (eps * a + (1 - eps) * b).requires_grad_(True)
    with torch.enable_grad():
        outputs = _scores(classifier, interpolates)
        (gradients,) = torch.autograd.grad(outputs.sum(), interpolates, create_graph=create_graph)
    return (gradients.flatten(start_dim=-3).norm(2, dim=-1) - 1) ** 2


def classifier_loss(
    classifier: nn.Module,
    a: torch.Tensor,
    b: torch.Tensor,
    loss: ClassifierLoss,
    wgangp_lambda: float = 10.0,
    create_graph: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """errD of one batch pair (shape ``[]`` or ``[K]``) plus the raw scores of A and B."""
    scores_a, scores_b = _scores(classifier, a), _scores(classifier, b)
    if loss == "gan":
        err = F.binary_cross_entropy_with_logits(scores_a, torch.ones_like(scores_a), reduction="none").mean(
            -1
        )
        err = err + F.binary_cross_entropy_with_logits(
            scores_b, torch.zeros_like(scores_b), reduction="none"
        ).mean(-1)
    else:
        err = scores_a.mean(-1) - scores_b.mean(-1)
        if loss == "wgan-gp":
            err = err + wgangp_lambda * gradient_penalty(classifier, a, b, create_graph).mean(-1)
    return err, scores_a.detach(), scores_b.detach()


def _make_optimizer(params, optimizer: str, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"optimizer: expected 'adam' or 'rmsprop', got {optimizer!r}")


def _count_correct(scores_a: torch.Tensor, scores_b: torch.Tensor, threshold: float, loss: str) -> int:
    """A is the "real" class: logits above the threshold for GAN, critic values below it for WGAN-type."""
    if loss == "gan":
        return int((scores_a > threshold).sum() + (scores_b <= threshold).sum())
    return int((scores_a < threshold).sum() + (scores_b >= threshold).sum())


def c2st(
    classifier: nn.Module | Callable[[], nn.Module],
    train_real: SampleSource,
    train_fake: SampleSource,
    test_real: SampleSource,
    test_fake: SampleSource,
    *,
    loss: ClassifierLoss = "wgan-gp",
    num_iter: int = 5000,
    batch_size: int = 64,
    optimizer: str | None = None,
    lr: float | None = None,
    betas: tuple[float, float] | None = None,
    wgan_clamp: tuple[float, float] = (-0.01, 0.01),
    wgangp_lambda: float = 10.0,
    eval_passes: int = 5,
    random_flips: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> C2STResult:
    """BioGANs' C2ST: train a classifier on (train_real, train_fake), score it on (test_real, test_fake).

    Args:
        classifier: a module, or a factory called (after seeding) to build one — pass the factory to get
            BioGANs' seeded initialisation. Maps ``[B, C, H, W]`` (or ``[K, B, C, H, W]``) to ``[B]``
            (or ``[K, B]``) raw scores (logits for ``'gan'``, critic values otherwise).
        train_real, test_real: sample A (real images, in the generator's value range, BioGANs: [-1, 1]).
        train_fake, test_fake: sample B — a sampler ``n -> batch`` for a generator (fresh fakes each
            step, used in eval mode by the caller), or data for real-vs-real. See :data:`SampleSource`.
        loss: the classifier's objective, ``'gan'`` | ``'wgan'`` | ``'wgan-gp'``.
        num_iter: training steps (BioGANs: 5000).
        batch_size: batch of tensor and Dataset sources and of samplers (BioGANs: 64).
        optimizer, lr, betas: default to :data:`CLASSIFIER_OPTIMIZERS` of ``loss``.
        wgan_clamp: WGAN weight clipping range. wgangp_lambda: WGAN-GP penalty weight.
        eval_passes: passes over the held-out data (5). random_flips: flip tensor samples at random
            (BioGANs' loaders do, for training and held-out data; Datasets and loaders apply their own).
        seed: seeds the classifier's initialisation, the batching, flips, ε and samplers (global RNG is
            forked, so the caller's RNG state is left as it was). device: where the classifier runs.

    Returns:
        :class:`C2STResult` with the BioGANs score (−mean held-out errD) and details.
    """
    if loss not in CLASSIFIER_OPTIMIZERS:
        raise ValueError(f"loss: expected one of {sorted(CLASSIFIER_OPTIMIZERS)}, got {loss!r}")
    if num_iter < 1 or eval_passes < 1 or batch_size < 1:
        raise ValueError(
            f"expected num_iter, eval_passes and batch_size >= 1, got {num_iter}, {eval_passes}, {batch_size}"
        )
    settings = {**CLASSIFIER_OPTIMIZERS[loss]}
    settings.update(
        {k: v for k, v in (("optimizer", optimizer), ("lr", lr), ("betas", betas)) if v is not None}
    )
    device = torch.device(device)
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = classifier() if not isinstance(classifier, nn.Module) else classifier
        model = model.to(device)
        opt = _make_optimizer(
            model.parameters(), settings["optimizer"], settings["lr"], settings.get("betas", (0.9, 0.999))
        )

        def stream(source, name, shuffle, passes):
            return _Stream(source, name, batch_size, shuffle, random_flips, generator).batches(passes)

        train_a = stream(train_real, "train_real", True, None)
        train_b = stream(train_fake, "train_fake", True, None)
        train_losses = []
        model.train()
        for _ in range(num_iter):
            a, b = next(train_a).to(device), next(train_b).to(device).detach()
            err, _, _ = classifier_loss(model, a, b, loss, wgangp_lambda, create_graph=True)
            opt.zero_grad(set_to_none=True)
            err.mean().backward()
            opt.step()
            if loss == "wgan":
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter.clamp_(*wgan_clamp)
            train_losses.append(float(err.detach().mean()))

        model.eval()
        context = contextlib.nullcontext() if loss == "wgan-gp" else torch.no_grad()
        with context:
            if loss == "gan":
                threshold = 0.0
            else:
                _, scores_a, scores_b = classifier_loss(
                    model, next(train_a).to(device), next(train_b).to(device), loss, wgangp_lambda
                )
                threshold = float((scores_a.mean() + scores_b.mean()) / 2)
            test_a = stream(test_real, "test_real", False, eval_passes)
            test_b = stream(test_fake, "test_fake", False, eval_passes)
            total, correct, seen, num_batches = None, 0, 0, 0
            for a in test_a:
                b = next(test_b, None)
                if b is None:
                    break
                err, scores_a, scores_b = classifier_loss(
                    model, a.to(device), b.to(device).detach(), loss, wgangp_lambda
                )
                err = err.detach().to(torch.float64)
                total = err if total is None else total + err
                correct += _count_correct(scores_a, scores_b, threshold, loss)
                seen += scores_a.numel() + scores_b.numel()
                num_batches += 1
    return C2STResult(
        score=(-total / num_batches).cpu(),
        accuracy=correct / seen,
        threshold=threshold,
        num_batches=num_batches,
        train_losses=train_losses,
        classifier=model,
    )
