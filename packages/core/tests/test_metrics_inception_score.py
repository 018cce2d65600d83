"""Inception Score against a direct numpy evaluation of exp(E KL(p(y|x) || p(y)))."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import InceptionScore, inception_score


def numpy_is(p):
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def random_probabilities(seed, n=60, k=7):
    logits = np.random.default_rng(seed).normal(size=(n, k)) * 2
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def test_matches_numpy_for_one_and_several_splits():
    p = random_probabilities(0)
    mean, std = inception_score(torch.from_numpy(p))
    assert mean == pytest.approx(numpy_is(p), rel=1e-10) and std == 0.0
    parts = [numpy_is(part) for part in np.split(p, 3)]
    mean, std = inception_score(torch.from_numpy(p), splits=3)
    assert mean == pytest.approx(np.mean(parts), rel=1e-10)
    assert std == pytest.approx(np.std(parts, ddof=1), rel=1e-8)


def test_bounds_one_for_constant_predictions_and_k_for_confident_uniform_ones():
    k = 5
    assert inception_score(torch.full((10, k), 1.0 / k))[0] == pytest.approx(1.0)
    assert inception_score(torch.eye(k).repeat(4, 1))[0] == pytest.approx(k, rel=1e-9)


def test_streaming_equals_functional_and_bad_input_raises():
    p = torch.from_numpy(random_probabilities(1))
    metric = InceptionScore(lambda x: x, splits=1)
    metric.update(fake=p[:25])
    metric.update(real=p, fake=p[25:])  # real is ignored
    assert metric.compute() == pytest.approx(inception_score(p)[0], rel=1e-12)
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(torch.rand(5, 3) + 1)
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        inception_score(torch.rand(5))
