"""MSSG's strata prediction score on a synthetic conditional 'generator' with known behaviour."""

import numpy as np
import pytest
import torch
from insilico_core.metrics import strata_edges, strata_prediction_score


def make_sources(seed, sizes=(60, 50)):
    """Two sources; covariates (c1, c2) raw; an 'image' is 1x4x4 filled with the normalised c1."""
    generator = torch.Generator().manual_seed(seed)
    raw, images, labels = [], [], []
    for n in sizes:
        covariates = torch.rand(n, 2, generator=generator) * torch.tensor([10.0, 4.0])
        normalised = covariates / torch.tensor([10.0, 4.0])
        raw.append(covariates)
        labels.append(torch.cat([normalised, (normalised[:, 1:] > 0.5).float()], dim=1))  # 3rd column: binary
        images.append(normalised[:, :1, None, None].expand(-1, 1, 4, 4).clone())
    return raw, images, labels


def mean_intensity(images):
    return images.mean(dim=(1, 2, 3))


def test_edges_are_numpy_tertiles_of_the_pooled_raw_covariates():
    raw, _, _ = make_sources(0)
    pooled = torch.cat(raw).double().numpy()
    expected = np.stack(
        [
            pooled.min(0),
            np.quantile(pooled, 1 / 3, axis=0),
            np.quantile(pooled, 2 / 3, axis=0),
            pooled.max(0),
        ],
        1,
    )
    np.testing.assert_allclose(strata_edges(raw).numpy(), expected, rtol=1e-12)


def test_perfect_generator_scores_zero_and_biased_one_scores_its_bias():
    raw, images, labels = make_sources(1)

    def perfect(conditions):
        return conditions[:, :1, None, None].expand(-1, 1, 4, 4)

    def biased(conditions):
        return perfect(conditions) + 0.1

    kwargs = dict(num_samples=64, batch_size=16, seed=3)
    good = strata_prediction_score(raw, images, labels, perfect, {"c1": mean_intensity}, **kwargs)
    bad = strata_prediction_score(raw, images, labels, biased, {"c1": mean_intensity}, **kwargs)
    strata = good.strata["c1"]
    assert 0 < len(strata) <= 9
    assert all(row.num_real >= 5 for row in strata)
    # counts: every evaluated stratum holds exactly the samples inside its half-open box
    pooled = torch.cat(raw)
    for row in strata:
        (lo1, hi1), (lo2, hi2) = row.bounds
        inside = (pooled[:, 0] >= lo1) & (pooled[:, 0] < hi1) & (pooled[:, 1] >= lo2) & (pooled[:, 1] < hi2)
        assert int(inside.sum()) == row.num_real
    assert good.weighted("c1", "mse") == pytest.approx(0.0, abs=1e-12)
    assert bad.weighted("c1", "mae") == pytest.approx(0.1, rel=1e-5)
    assert bad.weighted("c1", "mse") == pytest.approx(0.01, rel=1e-4)
    assert bad.weighted("c1", "corr") == pytest.approx(1.0, abs=1e-6)
    total = sum(row.num_real for row in strata)
    manual = sum(row.num_real / total * row.scores["mae"] for row in bad.strata["c1"])
    assert bad.weighted("c1", "mae") == pytest.approx(manual)
    assert len(strata[0].row()) == 1 + 4 + 3  # [n, c1_lo, c1_hi, c2_lo, c2_hi, mse, mae, corr]


def test_binary_covariate_scores_and_an_empty_source():
    raw, images, labels = make_sources(2, sizes=(40, 40))
    raw[0][:, 0] = 0.0  # source 1 only in the lowest c1 tertile: other strata draw from source 2 alone

    def generate(conditions):
        return conditions[:, :1, None, None].expand(-1, 1, 4, 4)

    def logit_of_c2(images):  # sees c2 through nothing: always predicts "positive"
        return torch.full((len(images),), 5.0)

    result = strata_prediction_score(
        raw,
        images,
        labels,
        generate,
        {"c2": logit_of_c2},
        binary_targets={"c2": 2},
        num_samples=32,
        batch_size=16,
    )
    assert result.strata["c2"]
    for row in result.strata["c2"]:  # everything predicted positive:
        assert row.scores["precision"] == pytest.approx(row.scores["accuracy"])  # = share of true positives
        assert row.scores["recall"] == (1.0 if row.scores["accuracy"] > 0 else 0.0)
        assert row.scores["balanced_accuracy"] == pytest.approx(row.scores["recall"] / 2)  # specificity 0


def test_bad_input_raises():
    raw, images, labels = make_sources(3)
    with pytest.raises(ValueError, match="same sources"):
        strata_prediction_score(raw, images[:1], labels, lambda c: c, {})
    with pytest.raises(ValueError, match="one covariate row, image and label"):
        strata_prediction_score(raw, [images[0][:5], images[1]], labels, lambda c: c, {})
    with pytest.raises(ValueError, match="NaN"):
        strata_edges([torch.tensor([[float("nan")], [1.0]])])
