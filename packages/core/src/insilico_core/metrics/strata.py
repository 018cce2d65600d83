"""MSSG's strata prediction score (Lai et al., ``eval_strata_mse.py`` / ``eval_weighted_regr.py``).

How well a conditional generator renders each covariate, stratum by stratum of covariate space:

1. Stratify: pool the RAW covariate values of the test sets of all sources; per covariate, tertile edges
   q(1/3), q(2/3) (numpy linear quantiles); strata are the boxes [lo, hi) over all covariates with
   (lo, hi) in {(min, q1), (q1, q2), (q2, max)} — half-open, so samples at a covariate's global maximum
   belong to no stratum (kept as MSSG does). MSSG stratifies 3 covariates (27 strata; retina 2, 9 strata).
2. For each stratum holding at least ``min_count`` (5) test samples of all sources together, repeat
   ``num_samples // batch_size`` times: draw test samples of the stratum at random with replacement —
   ``batch_size // 2`` from each of two sources (MSSG's 32 + 32), in general the batch split evenly over
   the sources that have samples in the stratum (MSSG crashes when only source 2 is empty; here the other
   sources fill the batch) — take their normalised label vectors and generate one image per label with
   fresh latents.
3. For each covariate k, its predictor f_k (MSSG: a ResNet regressor per covariate) predicts on the
   generated and on the paired real images; per stratum: MSE and MAE between the two prediction vectors and
   their Pearson r. For binary covariates also accuracy, precision, recall, F1 and balanced accuracy of
   sigmoid(f_k(generated)) > 0.5 against the true (conditioning) label.
4. Summary per covariate and score: the strata-size-weighted average Σ_s (n_s / Σ n) score_s (the reported
   number), plus the plain mean and population standard deviation over strata.

Images, real and generated, are ``[B, C, H, W]`` in [0, 1] (MSSG divides uint8 by 255 before predicting).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

Predictor = Callable[[torch.Tensor], torch.Tensor]
REGRESSION_SCORES = ("mse", "mae", "corr")
BINARY_SCORES = ("accuracy", "precision", "recall", "f1", "balanced_accuracy")


@dataclass
class StratumScore:
    """Scores of one covariate's predictor in one stratum; ``bounds``: (lo, hi) per stratified covariate."""

    bounds: tuple[tuple[float, float], ...]
    num_real: int
    scores: dict[str, float]

    def row(self) -> list[float]:
        """MSSG's CSV row ``[num_real, c1_lo, c1_hi, c2_lo, c2_hi, ..., mse, mae, corr, (binary scores)]``."""
        return [float(self.num_real), *itertools.chain(*self.bounds), *self.scores.values()]


@dataclass
class StrataPredictionResult:
    """Per covariate, the scores of every evaluated stratum (``strata[name]``), and their summaries."""

    edges: torch.Tensor
    strata: dict[str, list[StratumScore]] = field(default_factory=dict)

    def weighted(self, covariate: str, score: str = "mse") -> float:
        """Σ_s (n_s / Σ n) score_s over the evaluated strata: the number MSSG reports."""
        rows = self.strata[covariate]
        total = sum(row.num_real for row in rows)
        return float(sum(row.num_real / total * row.scores[score] for row in rows))

    def mean(self, covariate: str, score: str = "mse") -> float:
        return float(
            torch.tensor([row.scores[score] for row in self.strata[covariate]], dtype=torch.float64).mean()
        )

    def std(self, covariate: str, score: str = "mse") -> float:
        values = torch.tensor([row.scores[score] for row in self.strata[covariate]], dtype=torch.float64)
        return float(values.std(unbiased=False))


def strata_edges(raw_covariates: Sequence[torch.Tensor], num_bins: int = 3) -> torch.Tensor:
    """Bin edges ``[K, num_bins + 1]``: (min, quantiles 1/num_bins ... , max) of the pooled raw covariates."""
    pooled = torch.cat([torch.as_tensor(c, dtype=torch.float64).reshape(len(c), -1) for c in raw_covariates])
    if pooled.shape[0] < 2:
        raise ValueError(f"raw_covariates: expected at least 2 samples in all, got {pooled.shape[0]}")
    if not bool(torch.isfinite(pooled).all()):
        raise ValueError("raw_covariates: expected finite values, found NaN or infinity")
    levels = torch.arange(1, num_bins, dtype=torch.float64) / num_bins
    inner = torch.quantile(pooled, levels, dim=0).T  # linear interpolation, as numpy's default
    return torch.cat([pooled.min(dim=0).values[:, None], inner, pooled.max(dim=0).values[:, None]], dim=1)


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.square().sum().sqrt() * b.square().sum().sqrt()))


def regression_scores(predicted_fake: torch.Tensor, predicted_real: torch.Tensor) -> dict[str, float]:
    """MSE, MAE and Pearson r between two prediction vectors (nan r when one is constant)."""
    a, b = predicted_fake.reshape(-1).double(), predicted_real.reshape(-1).double()
    return {"mse": float((a - b).square().mean()), "mae": float((a - b).abs().mean()), "corr": _pearson(a, b)}


def binary_scores(logits_fake: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and balanced accuracy of sigmoid(logits) > 0.5 against 0/1 targets."""
    predicted = torch.sigmoid(logits_fake.reshape(-1).double()) > 0.5
    truth = targets.reshape(-1) > 0.5
    tp, tn = float((predicted & truth).sum()), float((~predicted & ~truth).sum())
    fp, fn = float((predicted & ~truth).sum()), float((~predicted & truth).sum())

    def ratio(num: float, den: float) -> float:
        return num / den if den else 0.0

    precision, recall, specificity = ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(tn, tn + fp)
    return {
        "accuracy": ratio(tp + tn, tp + tn + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * precision * recall, precision + recall),
        "balanced_accuracy": (recall + specificity) / 2,
    }


def _gather(images, indices: torch.Tensor) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images[indices]
    return torch.stack([torch.as_tensor(images[int(i)]) for i in indices])


def _predict(predictor: Predictor, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [predictor(chunk).reshape(len(chunk), -1)[:, 0] for chunk in images.split(batch_size)]
        )


def strata_prediction_score(
    raw_covariates: Sequence[torch.Tensor],
    real_images: Sequence[torch.Tensor | Sequence[torch.Tensor]],
    labels: Sequence[torch.Tensor],
    generate: Callable[[torch.Tensor], torch.Tensor],
    predictors: Mapping[str, Predictor],
    *,
    binary_targets: Mapping[str, int] | None = None,
    num_samples: int = 10000,
    batch_size: int = 64,
    num_bins: int = 3,
    min_count: int = 5,
    seed: int = 0,
) -> StrataPredictionResult:
    """MSSG's strata prediction score of a conditional generator (see the module docstring).

    Args:
        raw_covariates: per source s, the raw values ``[N_s, K]`` of the K stratifying covariates of its
            test samples (MSSG: the first three label columns, before normalisation).
        real_images: per source, its test images, a tensor ``[N_s, C, H, W]`` or an indexable of ``[C, H, W]``
            (e.g. a Dataset returning images), in [0, 1].
        labels: per source, the generator's conditioning vectors ``[N_s, L]`` of the same samples (MSSG's
            ``get_norm_label``; for a single-source GAN pass only its own columns).
        generate: ``labels [B, L] -> images [B, C, H, W]`` in [0, 1], drawing fresh latents itself (with
            ``torch.randn``; the global RNG is seeded with ``seed`` for the call and restored after).
        predictors: covariate name -> predictor ``images -> [B]`` or ``[B, 1]`` (regressor or logit).
        binary_targets: covariate name -> column of ``labels`` holding its 0/1 truth; those covariates
            also get :data:`BINARY_SCORES`.
        num_samples: generated images per stratum (rounded down to whole batches; MSSG: 10000).
        batch_size: images per draw and per predictor call (MSSG: 64). num_bins: bins per covariate (3).
        min_count: smallest stratum (test samples of all sources together) that is evaluated (5).

    Returns:
        :class:`StrataPredictionResult`; ``.weighted(name, 'mse')`` is the reported number.
    """
    sources = len(raw_covariates)
    if not (sources == len(real_images) == len(labels)) or sources == 0:
        raise ValueError(
            f"expected raw_covariates, real_images and labels for the same sources, got "
            f"{len(raw_covariates)}, {len(real_images)} and {len(labels)}"
        )
    if num_samples < batch_size:
        raise ValueError(f"num_samples: expected at least batch_size ({batch_size}), got {num_samples}")
    raw = [torch.as_tensor(c, dtype=torch.float64).reshape(len(c), -1) for c in raw_covariates]
    for s in range(sources):
        if not (len(raw[s]) == len(real_images[s]) == len(labels[s])):
            raise ValueError(
                f"source {s}: expected one covariate row, image and label per sample, got "
                f"{len(raw[s])}, {len(real_images[s])} and {len(labels[s])}"
            )
    binary_targets = dict(binary_targets or {})
    edges = strata_edges(raw, num_bins)
    result = StrataPredictionResult(edges=edges, strata={name: [] for name in predictors})
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for box in itertools.product(range(num_bins), repeat=edges.shape[0]):
            bounds = tuple((float(edges[k, b]), float(edges[k, b + 1])) for k, b in enumerate(box))
            members = [_inside(raw[s], bounds).nonzero().flatten() for s in range(sources)]
            num_real = sum(len(m) for m in members)
            if num_real < min_count:
                continue
            fake, real, conditions = _draw_stratum(
                members, real_images, labels, generate, num_samples // batch_size, batch_size, generator
            )
            for name, predictor in predictors.items():
                predicted_fake = _predict(predictor, fake, batch_size)
                scores = regression_scores(predicted_fake, _predict(predictor, real, batch_size))
                if name in binary_targets:
                    scores.update(binary_scores(predicted_fake, conditions[:, binary_targets[name]]))
                result.strata[name].append(StratumScore(bounds, num_real, scores))
    return result


def _inside(values: torch.Tensor, bounds: tuple[tuple[float, float], ...]) -> torch.Tensor:
    mask = torch.ones(len(values), dtype=torch.bool)
    for k, (low, high) in enumerate(bounds):
        mask &= (values[:, k] >= low) & (values[:, k] < high)
    return mask


def _draw_stratum(members, real_images, labels, generate, repeats, batch_size, generator):
    """``repeats`` batches of (generated, real, conditioning labels) for one stratum."""
    present = [s for s, m in enumerate(members) if len(m)]
    shares = [batch_size // len(present) + (i < batch_size % len(present)) for i in range(len(present))]
    fakes, reals, conditions = [], [], []
    for _ in range(repeats):
        batch_real, batch_labels = [], []
        for s, share in zip(present, shares, strict=True):
            picks = members[s][torch.randint(len(members[s]), (share,), generator=generator)]
            batch_real.append(_gather(real_images[s], picks).float())
            batch_labels.append(torch.as_tensor(labels[s])[picks].float())
        batch_labels = torch.cat(batch_labels)
        with torch.no_grad():
            fakes.append(generate(batch_labels).float().cpu())
        reals.append(torch.cat(batch_real))
        conditions.append(batch_labels)
    return torch.cat(fakes), torch.cat(reals), torch.cat(conditions)
