"""BioGANs' reconstruction errors with generators whose exact codes are known."""

import math

import pytest
import torch
from insilico_core.metrics import gaussian_nll, nearest_neighbour_distance, reconstruct
from insilico_core.metrics.reconstruction import rmse01
from torch import nn

pytestmark = pytest.mark.usefixtures("single_torch_thread")


class LinearGenerator(nn.Module):
    """z [N, nz, 1, 1] -> images [N, 2, 3, 3]; block-diagonal so channel 0 depends on z[:, :split] only."""

    def __init__(self, nz=6, split=2):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        weight = torch.zeros(18, nz)
        weight[:9, :split] = torch.randn(9, split, generator=generator) * 0.3
        weight[9:, split:] = torch.randn(9, nz - split, generator=generator) * 0.3
        self.weight = nn.Parameter(weight)

    def forward(self, z):
        return (z.flatten(start_dim=1) @ self.weight.T).view(-1, 2, 3, 3)


@pytest.mark.parametrize("split", [None, 2])
def test_recovers_images_in_the_generator_range(split):
    generator = LinearGenerator().eval()
    z_true = torch.randn(4, 6, 1, 1, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        targets = generator(z_true)
    result = reconstruct(generator, targets, nz=6, trials=1, steps=3, lr=1.0, separable_split=split)
    assert result.l2.shape == (4,) and float(result.l2.max()) < 1e-4
    torch.testing.assert_close(result.reconstructions, targets, atol=1e-3, rtol=0)
    torch.testing.assert_close(result.nll, gaussian_nll(result.codes))
    assert generator.weight.grad is None and generator.weight.requires_grad  # untouched, flag restored


def test_keeps_the_best_trial_per_image_and_records_its_initial_code():
    generator = LinearGenerator().eval()
    targets = torch.rand(3, 2, 3, 3) * 2 - 1  # mostly outside the generator's range: residual errors remain
    one = reconstruct(generator, targets, nz=6, trials=1, steps=2, seed=5)
    three = reconstruct(generator, targets, nz=6, trials=3, steps=2, seed=5)  # first trial is the same draw
    assert bool((three.l2 <= one.l2 + 1e-12).all())
    torch.testing.assert_close(three.l2, rmse01(three.reconstructions, targets))
    assert bool((three.nll_init > 0).all())


def test_gaussian_nll_and_nearest_neighbour_by_hand():
    z = torch.tensor([[3.0, 4.0]])
    assert float(gaussian_nll(z)) == pytest.approx(12.5 + math.log(2 * math.pi))
    targets = torch.tensor([[[[1.0, -1.0]]], [[[0.0, 0.0]]]])  # [2, 1, 1, 2]
    references = torch.tensor([[[[1.0, 1.0]]], [[[0.2, 0.0]]]])
    # target 0: to ref 1 -> ([0.8, -1] * 0.5)^2 mean = (0.16 + 0.25) / 2; to ref 0 -> (0 + 1) / 2
    expected = torch.tensor([math.sqrt((0.16 + 0.25) / 2), math.sqrt(0.01 / 2)], dtype=torch.float64)
    torch.testing.assert_close(nearest_neighbour_distance(targets, references, batch_size=1), expected)


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        reconstruct(LinearGenerator(), torch.zeros(2, 18), nz=6)
    with pytest.raises(ValueError, match="separable_split"):
        reconstruct(LinearGenerator(), torch.zeros(2, 2, 3, 3), nz=6, separable_split=6)
