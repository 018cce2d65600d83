"""Normalisation against numpy formulas, for numpy and torch inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from insilico_core.data import clamp_to_range, normalize_minmax, normalize_percentile


@pytest.fixture
def stack() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.gamma(2.0, 300.0, size=(2, 3, 21, 17)).astype(np.float32)


def test_minmax_per_plane_matches_numpy(stack):
    low = stack.min(axis=(-2, -1), keepdims=True)
    high = stack.max(axis=(-2, -1), keepdims=True)
    expected = (stack - low) / (high - low)
    np.testing.assert_allclose(normalize_minmax(stack), expected, rtol=1e-6, atol=1e-7)
    got = normalize_minmax(torch.from_numpy(stack))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_minmax_over_chosen_dims_and_integer_input(stack):
    counts = stack.astype(np.uint16)
    got = normalize_minmax(counts, dims=(1, 2, 3))
    assert got.dtype == np.float32
    flat = counts.reshape(2, -1).astype(np.float64)
    expected = (flat - flat.min(1, keepdims=True)) / np.ptp(flat, axis=1, keepdims=True)
    np.testing.assert_allclose(got.reshape(2, -1), expected, rtol=1e-6, atol=1e-6)
    assert np.all(normalize_minmax(np.full((4, 4), 7.0)) == 0.0)


@pytest.mark.parametrize(("low", "high"), [(1.0, 99.8), (0.0, 100.0), (25.0, 75.0)])
def test_percentile_matches_numpy(stack, low, high):
    p_low = np.percentile(stack, low, axis=(-2, -1), keepdims=True)
    p_high = np.percentile(stack, high, axis=(-2, -1), keepdims=True)
    unclipped = (stack - p_low) / (p_high - p_low)
    np.testing.assert_allclose(
        normalize_percentile(stack, low, high, clip=False), unclipped, rtol=1e-5, atol=1e-5
    )
    clipped = normalize_percentile(torch.from_numpy(stack), low, high).numpy()
    np.testing.assert_allclose(clipped, np.clip(unclipped, 0, 1), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="percentiles"):
        normalize_percentile(stack, 60.0, 40.0)


def test_clamp_to_range_fixed_window():
    gfp = np.array([0, 150, 1175, 2200, 5000], dtype=np.uint16)
    np.testing.assert_allclose(clamp_to_range(gfp, 150, 2200), [0, 0, 0.5, 1, 1])
    signed = clamp_to_range(torch.tensor([0.0, 127.5, 255.0, 300.0]), 0, 255, target=(-1.0, 1.0))
    torch.testing.assert_close(signed, torch.tensor([-1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="high > low"):
        clamp_to_range(gfp, 10, 10)
