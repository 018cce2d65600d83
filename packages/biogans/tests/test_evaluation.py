"""C2ST (on the core's implementation), reconstruction by latent optimisation, report tables."""

from __future__ import annotations

import math

import biogans
import pytest
import torch
from biogans.evaluation import c2st_generated_vs_real, c2st_real_vs_real, classifier_factory, format_scores
from biogans.reconstruction import gaussian_nll, reconstruct_batch, rmse01
from biogans.report import format_table, median_mad, parse_scores, table1, table2


def blobs(n: int, shift: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, 2, 16, 32, generator=generator)
    smooth = torch.nn.functional.avg_pool2d(noise, 3, 1, 1) * 2
    return torch.tanh(smooth + shift)


def c2st_of_blobs(shift_a: float, shift_b: float, seed: int):
    """GAN C2ST of two blob samples shifted by ``shift_a`` and ``shift_b``."""
    factory = classifier_factory("DCGAN", "GAN", (16, 32), ndf=8, n_classes=1)
    return c2st_real_vs_real(
        factory,
        blobs(96, shift_a, seed),
        blobs(96, shift_b, seed + 10),
        blobs(64, shift_a, seed + 20),
        blobs(64, shift_b, seed + 30),
        "GAN",
        num_iter=40,
        batch_size=16,
        lr=1e-3,
        seed=seed,
    )


@pytest.mark.parametrize("seed", [0])
def test_c2st_on_identical_distributions_is_near_chance(seed):
    same = c2st_of_blobs(0, 0, seed)
    different = c2st_of_blobs(-0.4, 0.4, seed)
    # GAN classifier: errD = BCE(real) + BCE(fake); a classifier at chance scores -2 log 2
    assert abs(same.mean_score + 2 * math.log(2)) < 0.15 and 0.3 < same.accuracy < 0.7
    assert different.mean_score > same.mean_score + 0.5 and different.accuracy > 0.9


def test_c2st_of_a_conditional_generator_scores_every_class():
    torch.manual_seed(0)
    G = biogans.build_generator("DCGAN-star-shaped", image_size=(16, 32), nz=12, ngf=8, n_classes=2)
    factory = classifier_factory("DCGAN-star-shaped", "WGAN-GP", (16, 32), ndf=8, n_classes=2)
    real = torch.stack([blobs(32, 0.0, 1), blobs(32, 0.3, 2)])
    result = c2st_generated_vs_real(G, factory, real, real, "WGAN-GP", nz=12, num_iter=3, batch_size=8)
    assert result.score.shape == (2,) and result.num_batches == 5 * 4  # 5 passes over 4 held-out batches
    text = format_scores(result, "WGAN-GP", ["Alp14", "Arp3"])
    mean, per_class = parse_scores(text)
    assert mean == pytest.approx(result.mean_score) and set(per_class) == {"Alp14", "Arp3"}


def test_reconstruction_recovers_a_generated_image():
    torch.manual_seed(0)
    G = biogans.build_generator("DCGAN-sep", image_size=(16, 32), nz=12, ngf=8)
    for module in G.modules():  # running statistics of one large batch, so eval-mode images have contrast
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    with torch.no_grad():
        G.train()(torch.randn(256, 12, 1, 1))
        target = G.eval()(torch.randn(3, 12, 1, 1))
    z0, z = reconstruct_batch(G, target, nz=12, steps=5, lr=0.5)
    assert torch.all(rmse01(target, G(z).detach()) < 0.2 * rmse01(target, G(z0)))
    z0, z = reconstruct_batch(G, target, nz=12, red_portion=0.5, steps=5, lr=0.5)
    assert rmse01(target, G(z).detach()).mean() < rmse01(target, G(z0)).mean()
    code = torch.randn(5, 12, 1, 1)
    reference = torch.distributions.Normal(0, 1).log_prob(code.double()).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(code), -reference)


def test_report_tables(tmp_path):
    for split, (ab, ba) in enumerate([(1.0, 2.0), (3.0, 4.0)]):
        for pair, value in (("Tea1Sid2", ab), ("Sid2Tea1", ba)):
            (tmp_path / f"seed0_split{split}_evalWGAN-GP_iter5000_classes{pair}.txt").write_text(
                f"[4999/5000] Loss_D: 1\nEvaluated on 10 batches\nWGAN-GP-score: equals {value}\n"
            )
        (tmp_path / f"seed0_split{split}_star_trainIter50000_evalWGAN-GP_iter5000.txt").write_text(
            "Evaluated on 3 batches\nWGAN-GP-scores per class. Sid2: 1.0; Tea1: 3.0;\n"
            f"WGAN-GP-score: equals {2.0 + split}\n"
        )
    rows = table1(tmp_path, ["Sid2", "Tea1"])
    assert rows[2][1] == "2.0±1.0" and rows[1][2] == "3.0±1.0" and rows[1][1] == ""
    rows = table2(tmp_path, ["Sid2", "Tea1"])
    assert (
        rows[0] == ["class", "star"] and rows[1] == ["Sid2", "1.00±0.00"] and rows[3] == ["all", "2.50±0.50"]
    )
    assert "Tea1" in format_table(rows)
    assert median_mad([1.0, 2.0, 4.0, 10.0]) == (3.0, 1.5)
