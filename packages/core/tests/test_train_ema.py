"""EMA of weights against hand-computed values: fixed beta, StyleGAN2-ADA half-life, ramp-up, buffers."""

from __future__ import annotations

import math

import pytest
import torch
from insilico_core.train import EMA, beta_from_half_life
from torch import nn


class Scalar(nn.Module):
    """One parameter and one buffer, so every EMA value can be computed by hand."""

    def __init__(self, value: float):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([value], dtype=torch.float64))
        self.register_buffer("count", torch.tensor([0.0], dtype=torch.float64))

    def set(self, value: float, count: float = 0.0) -> Scalar:
        with torch.no_grad():
            self.weight.fill_(value)
            self.count.fill_(count)
        return self


def test_half_life_to_beta():
    assert beta_from_half_life(32, 10_000) == pytest.approx(0.5 ** (32 / 10_000))
    # after half_life / batch updates the old weights count exactly one half
    assert beta_from_half_life(8, 800) ** 100 == pytest.approx(0.5)
    assert beta_from_half_life(4, 0) == 0.0
    with pytest.raises(ValueError):
        beta_from_half_life(0, 100)


def test_fixed_beta_three_updates_match_hand_computation():
    model = Scalar(1.0)
    ema = EMA(model, beta=0.9)
    # 0.9 * 1 + 0.1 * 2 = 1.1; 0.9 * 1.1 + 0.1 * (-3) = 0.69; 0.9 * 0.69 + 0.1 * 5 = 1.121
    for value, expected in ((2.0, 1.1), (-3.0, 0.69), (5.0, 1.121)):
        assert ema.update(model.set(value)) == 0.9
        assert ema.module.weight.item() == pytest.approx(expected, abs=1e-12)


def test_half_life_with_rampup_three_updates_match_hand_computation():
    model = Scalar(0.0)
    ema = EMA(model, half_life_images=16, rampup=0.5)
    # update 1: images_seen 0 -> half-life min(16, 0) = 0 -> beta 0 (copy)
    assert ema.update(model.set(4.0), batch_size=4) == 0.0
    assert ema.module.weight.item() == 4.0
    # update 2: images_seen 4 -> half-life min(16, 2) = 2 -> beta 0.5 ** (4 / 2) = 0.25
    assert ema.update(model.set(8.0), batch_size=4) == pytest.approx(0.25)
    assert ema.module.weight.item() == pytest.approx(8.0 + 0.25 * (4.0 - 8.0))
    # update 3: images_seen 8 -> half-life min(16, 4) = 4 -> beta 0.5
    assert ema.update(model.set(2.0), batch_size=4) == pytest.approx(0.5)
    assert ema.module.weight.item() == pytest.approx(2.0 + 0.5 * (7.0 - 2.0))
    assert ema.images_seen == 12


def test_half_life_without_rampup_and_buffers():
    model = Scalar(1.0)
    ema = EMA(model, half_life_images=16)
    beta = 0.5 ** (4 / 16)
    ema.update(model.set(3.0, count=7.0), batch_size=4)
    assert ema.module.weight.item() == pytest.approx(3.0 + beta * (1.0 - 3.0))
    assert ema.module.count.item() == 7.0  # buffers are copied, not averaged
    frozen = EMA(Scalar(1.0), beta=0.5, copy_buffers=False)
    frozen.update(Scalar(3.0).set(3.0, count=7.0))
    assert frozen.module.count.item() == 0.0
    with pytest.raises(ValueError, match="batch_size"):
        ema.update(model)


def test_ema_copy_is_frozen_and_unwraps_data_parallel():
    inner = nn.Linear(3, 2)
    ema = EMA(nn.DataParallel(inner), beta=0.5)
    assert isinstance(ema.module, nn.Linear)
    assert set(ema.module.state_dict()) == {"weight", "bias"}
    assert not ema.module.training
    assert all(not p.requires_grad for p in ema.module.parameters())
    with torch.no_grad():
        inner.weight.add_(2.0)
    before = ema.module.weight.clone()
    ema.update(nn.DataParallel(inner))
    assert torch.allclose(ema.module.weight, 0.5 * before + 0.5 * inner.weight)


def test_state_dict_round_trip_continues_identically():
    model = Scalar(0.0)
    first = EMA(model, half_life_images=16, rampup=0.5)
    for value in (1.0, 2.0):
        first.update(model.set(value), batch_size=4)
    second = EMA(Scalar(-1.0), half_life_images=16, rampup=0.5)
    second.load_state_dict(first.state_dict())
    assert second.images_seen == 8
    first.update(model.set(9.0), batch_size=4)
    second.update(model, batch_size=4)
    assert second.module.weight.item() == first.module.weight.item()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"beta": 0.9, "half_life_images": 10}, {"beta": 1.5}, {"beta": 0.9, "rampup": 0.05}],
)
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        EMA(nn.Linear(1, 1), **kwargs)


def test_stylegan_default_beta():
    # MSSG / StyleGAN2-ADA: ema_kimg = batch * 10 / 32, i.e. 10 kimg for batch 32
    assert EMA(nn.Linear(1, 1), half_life_images=32 * 10 / 32 * 1000).current_beta(32) == pytest.approx(
        math.exp(math.log(0.5) * 32 / 10_000)
    )
