"""AdaptiveP: p follows the overfitting heuristic, clamps, and resumes from its state dict."""

from __future__ import annotations

import pytest
import torch
from insilico_core.augment import AdaptiveP, overfitting_heuristic


def test_p_rises_while_d_overfits_and_falls_otherwise():
    controller = AdaptiveP()  # Multi-StyleGAN: target 0.6, 8 calls, step 0.005, p0 0.05, p_max 0.8
    trace = [controller.update(0.9) for _ in range(8 * 20)]
    assert controller.p == pytest.approx(0.05 + 20 * 0.005)
    assert all(later >= earlier for earlier, later in zip(trace[:-1], trace[1:], strict=True))
    for _ in range(8 * 40):
        controller.update(0.1)
    assert controller.p == 0.0  # fell by 40 steps from 0.15, clamped at 0
    assert controller.history[:20] == [pytest.approx(0.9)] * 20


def test_p_is_adjusted_only_every_interval():
    controller = AdaptiveP()
    for _ in range(7):
        assert controller.update(1.0) == 0.05
    assert controller.update(1.0) == pytest.approx(0.055)


def test_clamped_to_p_max():
    controller = AdaptiveP(step=0.1)
    for _ in range(8 * 20):
        controller.update(1.0)
    assert controller.p == pytest.approx(0.8)


def test_synthetic_discriminator_signal():
    """Real logits of a D that overfits (p climbs while mean sign > 0.6), then of one that does not."""
    generator = torch.Generator().manual_seed(0)
    controller = AdaptiveP.stylegan2_ada(batch_size=64, interval=4, ada_kimg=1.0)
    margins = [2.0] * 40 + [-1.0] * 40
    p_trace = []
    for margin in margins:
        real_logits = margin + torch.randn(64, generator=generator)
        controller.update(overfitting_heuristic(real_logits), count=64)
        p_trace.append(controller.p)
    assert p_trace[39] > p_trace[3] > 0
    assert p_trace[-1] < p_trace[39]


def test_stylegan2_ada_step_and_tie():
    controller = AdaptiveP.stylegan2_ada(batch_size=32)  # step = 32 * 4 / 500000
    assert controller.step == pytest.approx(2.56e-4) and controller.p == 0.0 and controller.p_max == 1.0
    for _ in range(4):
        controller.update(0.9, count=32)
    assert controller.p == pytest.approx(2.56e-4)
    for _ in range(4):
        controller.update(0.6, count=32)
    assert controller.p == pytest.approx(2.56e-4)  # a tie leaves p unchanged
    tie_decreases = AdaptiveP(p=0.5)
    for _ in range(8):
        tie_decreases.update(0.6)
    assert tie_decreases.p == pytest.approx(0.495)


def test_weighted_by_sample_count():
    controller = AdaptiveP(interval=2, target=0.5, p=0.5, step=0.1)
    controller.update(1.0, count=1)
    controller.update(0.0, count=3)  # r_t = 0.25 < 0.5 although the unweighted mean is 0.5
    assert controller.p == pytest.approx(0.4)


def test_overfitting_heuristic_values():
    scalar = torch.tensor([[1.5], [-0.2], [3.0], [0.7]])
    assert overfitting_heuristic(scalar) == pytest.approx(0.5)
    pixel = torch.stack([torch.full((1, 2, 2), v) for v in (1.0, -1.0, -2.0, -0.5)])
    assert overfitting_heuristic(scalar, pixel) == pytest.approx(0.5 * 0.5 + 0.5 * -0.5)


def test_state_survives_a_round_trip_through_a_weights_only_file(tmp_path):
    uninterrupted = AdaptiveP()
    resumed_source = AdaptiveP()
    signal = [0.9] * 21 + [0.1] * 13 + [0.7] * 9
    for r in signal[:27]:
        uninterrupted.update(r)
        resumed_source.update(r)
    path = tmp_path / "ada.pt"
    torch.save({"ada": resumed_source.state_dict()}, path)
    resumed = AdaptiveP(target=0.1, interval=3, step=1.0)
    resumed.load_state_dict(torch.load(path, weights_only=True)["ada"])
    for r in signal[27:]:
        assert resumed.update(r) == uninterrupted.update(r)
    assert resumed.state_dict() == uninterrupted.state_dict()


def test_load_only_p():
    controller = AdaptiveP.stylegan2_ada(batch_size=8)
    controller.load_state_dict({"p": torch.tensor(0.3)})
    assert controller.p == pytest.approx(0.3) and controller.interval == 4


def test_bad_arguments():
    with pytest.raises(ValueError, match="interval"):
        AdaptiveP(interval=0)
    with pytest.raises(ValueError, match="p_max"):
        AdaptiveP(p=0.9, p_max=0.8)
    with pytest.raises(KeyError, match="'p'"):
        AdaptiveP().load_state_dict({})
