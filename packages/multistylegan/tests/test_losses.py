"""Losses, regularisers, schedules and the ADA wrapper against hand-computed values."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from multistylegan.augment import AdaptiveDiscriminatorAugmentation
from multistylegan.losses import (
    PathLengthRegularization,
    TopK,
    cut_mix_logistic_loss,
    cut_mix_map,
    discriminator_logistic_loss,
    generator_logistic_loss,
    latent_noise,
    r1_penalty,
    wrong_order_permutation,
)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def test_logistic_losses_against_numpy():
    real, fake = torch.tensor([[0.3], [-1.2]]), torch.tensor([[2.0], [0.1]])
    loss_real, loss_fake = discriminator_logistic_loss(real, fake)
    assert float(loss_real) == pytest.approx(_softplus(-real.numpy()).mean(), rel=1e-6)
    assert float(loss_fake) == pytest.approx(_softplus(fake.numpy()).mean(), rel=1e-6)
    assert float(generator_logistic_loss(fake)) == pytest.approx(_softplus(-fake.numpy()).mean(), rel=1e-6)
    prediction = torch.randn(2, 1, 1, 4, 4)
    mask = (torch.arange(16).view(1, 1, 1, 4, 4) % 2).float()
    mix_real, mix_fake = cut_mix_logistic_loss(prediction, mask)
    p, m = prediction.numpy(), mask.numpy()
    assert float(mix_real) == pytest.approx((_softplus(-p) * m).mean(), rel=1e-5)
    assert float(mix_fake) == pytest.approx((_softplus(p) * (1 - m)).mean(), rel=1e-5)


def test_r1_penalty_of_a_linear_discriminator():
    # D_s(x) = <a, x_b>, D_pix(x) = <c, x_b>: the gradient per sample is a + c
    a, c = torch.randn(1, 2, 3, 4, 4, requires_grad=True), torch.randn(1, 2, 3, 4, 4)
    images = torch.randn(3, 2, 3, 4, 4, requires_grad=True)
    scalar = (images * a).flatten(1).sum(1, keepdim=True)
    pixel = (images * c).sum(dim=(1, 2), keepdim=True)
    penalty = r1_penalty(scalar, pixel, images)
    assert float(penalty.detach()) == pytest.approx(0.5 * float(((a + c) ** 2).sum().detach()), rel=1e-5)
    # the penalty keeps its graph: it trains the discriminator weights (here a)
    assert penalty.requires_grad


def test_path_length_running_mean_and_persistence():
    regularization = PathLengthRegularization()
    grads = torch.full((2, 4, 3), 2.0)  # sum over 3 of 4 = 12 per layer -> pl = sqrt(12)
    penalty, path_length = regularization(grads)
    expected_length = np.sqrt(12 + 1e-8)
    assert float(path_length) == pytest.approx(expected_length)
    mean = 0.01 * expected_length
    assert float(regularization.mean_path_length) == pytest.approx(mean)
    assert float(penalty) == pytest.approx((expected_length - mean) ** 2, rel=1e-5)
    restored = PathLengthRegularization()
    restored.load_state_dict(regularization.state_dict())
    assert torch.equal(restored.mean_path_length, regularization.mean_path_length)
    original_layout = PathLengthRegularization()
    original_layout.load_state_dict({})  # the original saves an empty state dict
    assert float(original_layout.mean_path_length) == 0.0


def test_top_k_schedule():
    top_k = TopK(starting_iteration=2, final_iteration=6)
    assert [top_k.fraction() for _ in range(7)] == pytest.approx([1, 1, 0.875, 0.75, 0.625, 0.5, 0.5])
    values, indices = TopK(0, 1)(torch.tensor([[0.1], [3.0], [-2.0], [1.0]]))
    assert indices.tolist() == [1, 3] and values.tolist() == [3.0, 1.0]
    assert TopK(0, 1)(torch.tensor([[0.5]]))[1].tolist() == [0]


def _corner_rectangle(region: torch.Tensor, height: int, width: int) -> tuple[int, int] | None:
    """(rows, columns) of ``region`` (nonzero indices) if it fills a rectangle at the top-left or
    bottom-right corner, else None."""
    if len(region) == 0:
        return None
    rows, columns = region[:, 0], region[:, 1]
    box_rows, box_columns = int(rows.max() - rows.min() + 1), int(columns.max() - columns.min() + 1)
    top_left = int(rows.min()) == 0 and int(columns.min()) == 0
    bottom_right = int(rows.max()) == height - 1 and int(columns.max()) == width - 1
    if box_rows * box_columns == len(region) and (top_left or bottom_right):
        return box_rows, box_columns
    return None


def test_cut_mix_map_is_a_corner_rectangle_and_its_complement():
    for seed in range(20):
        torch.manual_seed(seed)
        random.seed(seed)
        mask = cut_mix_map(20, 30)
        assert mask.shape == (1, 1, 1, 20, 30) and set(mask.unique().tolist()) <= {0.0, 1.0}
        plane = mask[0, 0, 0]
        boxes = [_corner_rectangle(region.nonzero(), 20, 30) for region in (plane, 1 - plane)]
        box = next(b for b in boxes if b is not None)
        # the cut point lies in [int(0.1 H), int(0.9 H)) x [int(0.1 W), int(0.9 W))
        assert 2 <= box[0] <= 18 and 3 <= box[1] <= 27


def test_wrong_order_permutation_is_never_the_identity():
    np.random.seed(0)
    orders = [wrong_order_permutation(3).tolist() for _ in range(200)]
    assert [0, 1, 2] not in orders and [2, 1, 0] in orders
    assert any(len(set(order)) < 3 for order in orders)  # the original draws with replacement
    permutations = [wrong_order_permutation(3, with_replacement=False).tolist() for _ in range(50)]
    assert all(sorted(order) == [0, 1, 2] and order != [0, 1, 2] for order in permutations)


def test_latent_noise_mixing_probability():
    random.seed(0)
    draws = [latent_noise(2, 8, 0.9, "cpu") for _ in range(200)]
    mixed = sum(isinstance(draw, list) for draw in draws)
    assert 160 <= mixed <= 195
    assert all(d.shape == (2, 8) for draw in draws for d in (draw if isinstance(draw, list) else [draw]))
    assert not isinstance(latent_noise(2, 8, 0.0, "cpu"), list)


class _MeanDiscriminator(torch.nn.Module):
    """Scalar = mean of the input minus 0.5 + bias, pixel map = the first plane minus 0.5."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flatten(1).mean(1, keepdim=True) - 0.5 + self.bias, x[:, :1, :1] - 0.5


def test_ada_wrapper_prefix_bypass_and_controller():
    wrapper = AdaptiveDiscriminatorAugmentation(_MeanDiscriminator())
    assert list(wrapper.state_dict()) == ["discriminator.bias"]
    assert wrapper.p == pytest.approx(0.05)
    images = torch.rand(4, 2, 3, 8, 8)
    plain = wrapper.discriminator(images)
    for output, expected in zip(wrapper(images, is_cut_mix=True), plain, strict=True):
        assert torch.equal(output, expected)
    # all fakes scored "real" (r = 1 > 0.6): p rises by 0.005 after every 8 fake calls, reals do not count
    with torch.no_grad():
        wrapper.discriminator.bias.fill_(10.0)
    for _ in range(8):
        wrapper(images, is_real=True)
    assert wrapper.p == pytest.approx(0.05)
    for _ in range(8):
        wrapper(images, is_real=False)
    assert wrapper.p == pytest.approx(0.055)
    # at p = 0 the discriminator sees the images unchanged
    wrapper.controller.p = 0.0
    torch.testing.assert_close(wrapper(images, is_real=True)[1], plain[1])
    with pytest.raises(ValueError, match="heuristic_on"):
        AdaptiveDiscriminatorAugmentation(_MeanDiscriminator(), heuristic_on="both")
