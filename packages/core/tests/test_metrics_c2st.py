"""C2ST (BioGANs' protocol), tiny seeded classifiers: near chance on one distribution, near 1 if separable."""

import pytest
import torch
from insilico_core.metrics import c2st
from torch import nn

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def tiny_classifier():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))


def samples(seed, n, offset=0.0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=generator) + offset


def test_gan_classifier_is_near_chance_on_one_distribution_and_near_one_when_separable():
    same = c2st(
        tiny_classifier,
        samples(0, 256),
        samples(1, 256),
        samples(2, 256),
        samples(3, 256),
        loss="gan",
        num_iter=150,
        batch_size=32,
        eval_passes=1,
        lr=2e-3,
        seed=0,
    )
    separable = c2st(
        tiny_classifier,
        samples(0, 256),
        samples(1, 256, 1.0),
        samples(2, 256),
        samples(3, 256, 1.0),
        loss="gan",
        num_iter=150,
        batch_size=32,
        eval_passes=1,
        lr=2e-3,
        seed=0,
    )
    assert abs(same.accuracy - 0.5) < 0.1
    assert separable.accuracy > 0.97
    assert same.num_batches == 8
    # the score is -(BCE_A + BCE_B): about -2 log 2 at chance, towards 0 when separable
    assert same.mean_score == pytest.approx(-2 * torch.log(torch.tensor(2.0)).item(), abs=0.15)
    assert separable.mean_score > -0.3


def test_wgan_gp_critic_with_a_sampler_scores_separable_samples_higher():
    def fake_sampler(offset):
        return lambda n: torch.randn(n, 1, 8, 8) + offset

    kwargs = dict(loss="wgan-gp", num_iter=100, batch_size=32, eval_passes=2, lr=1e-3, seed=1)
    same = c2st(
        tiny_classifier, samples(0, 128), fake_sampler(0.0), samples(2, 128), fake_sampler(0.0), **kwargs
    )
    separable = c2st(
        tiny_classifier, samples(0, 128), fake_sampler(1.0), samples(2, 128), fake_sampler(1.0), **kwargs
    )
    assert same.num_batches == 8  # 2 passes x 4 batches of held-out A, each paired with fresh B
    assert separable.mean_score > same.mean_score + 1.0
    assert separable.accuracy > 0.97 and abs(same.accuracy - 0.5) < 0.15


def test_seeded_runs_repeat_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    args = (tiny_classifier, samples(0, 64), samples(1, 64, 0.5), samples(2, 64), samples(3, 64, 0.5))
    first = c2st(*args, loss="wgan", num_iter=20, batch_size=16, eval_passes=1, seed=4)
    second = c2st(*args, loss="wgan", num_iter=20, batch_size=16, eval_passes=1, seed=4)
    assert torch.equal(first.score, second.score)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(p.abs().max() <= 0.01 for p in first.classifier.parameters())  # WGAN weight clipping


def test_class_conditional_classifier_gives_one_score_per_class():
    class PerClass(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleList(tiny_classifier() for _ in range(2))

        def forward(self, x):  # [K, B, C, H, W] -> [K, B]
            return torch.stack([head(x[k]).squeeze(-1) for k, head in enumerate(self.heads)])

    a = torch.stack([samples(0, 64), samples(1, 64)])
    b = torch.stack([samples(2, 64), samples(3, 64, 1.0)])  # class 1 separable, class 0 not
    result = c2st(
        PerClass, a, b, a.flip(1), b.flip(1), loss="gan", num_iter=100, batch_size=32, eval_passes=1, lr=2e-3
    )
    assert result.score.shape == (2,)
    assert result.score[1] > result.score[0] + 0.5


def test_bad_input_raises():
    with pytest.raises(ValueError, match="loss"):
        c2st(tiny_classifier, samples(0, 8), samples(1, 8), samples(2, 8), samples(3, 8), loss="hinge")
    with pytest.raises(ValueError, match="one score per sample"):
        c2st(
            lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 2)),
            samples(0, 8),
            samples(1, 8),
            samples(2, 8),
            samples(3, 8),
            num_iter=1,
        )
    with pytest.raises(ValueError, match="train_real"):
        c2st(tiny_classifier, torch.randn(8, 8), samples(1, 8), samples(2, 8), samples(3, 8), num_iter=1)


def test_datasets_of_labelled_images_are_accepted():
    real = torch.utils.data.TensorDataset(samples(0, 40), torch.zeros(40))  # items are (image, label)
    held_out = torch.utils.data.TensorDataset(samples(1, 40), torch.zeros(40))
    result = c2st(
        tiny_classifier, real, samples(2, 40), held_out, samples(3, 40), loss="gan", num_iter=3, batch_size=16
    )
    assert result.num_batches == 5 * 3  # 5 passes over 40 held-out images in batches of 16
    assert len(result.train_losses) == 3
