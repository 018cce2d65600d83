"""MSSG's UKB / retina / ADNI / NACC / RFMiD / EyePACS latent covariate models: the original's settings and
normalisation rules (spec §5.4), checked against hand computations on synthetic train labels with a known
generating process; JSON files round-trip to identical samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mssg.latent import (
    AgeConditionalModel,
    BernoulliCovariateModel,
    MorphoCovariateModel,
    fit_latent_model,
    load_latent_model,
)
from mssg.latent.age_prior import BetaAgePrior, MixtureAgePrior


def _labels(data_name: str, n: int = 1500, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Synthetic RAW train labels of a source: (column names, ``[n, K]``), age first where there is one."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(45, 80, n)
    ventricle = np.exp(9.5 + 0.04 * (age - 60) + rng.normal(0, 0.3, n))
    grey = np.exp(13.4 - 0.004 * (age - 60) + rng.normal(0, 0.05, n))
    cataract = (rng.random(n) < 1 / (1 + np.exp(-0.15 * (age - 70)))).astype(float)
    spherical = -0.08 * (age - 60) + rng.normal(0, 2.0, n)
    columns = {
        "ukb-source1": {"age": age, "ventricle": ventricle},
        "ukb-source2": {"age": age, "grey_matter": grey},
        "retinal-source1": {"age": age, "cataract": cataract},
        "retinal-source2": {"age": age, "spherical_power_left": spherical},
        "ukb_real": {"age": age, "ventricle": ventricle, "grey_matter": grey},
        "adni": {
            "Age": age,
            "left_hippocampus": 3500 - 20 * (age - 60) + rng.normal(0, 150, n),
            "right_hippocampus": 3600 - 18 * (age - 60) + rng.normal(0, 150, n),
        },
        "retinal_real": {"age": age, "cataract": cataract, "spherical_power_left": spherical},
        "nacc": {"Age": age, "Apoe4": rng.choice([0.0, 1.0, 2.0, 9.0], n, p=[0.55, 0.3, 0.1, 0.05])},
        "rfmid": {
            "Disease_Risk": rng.integers(0, 2, n).astype(float),
            "MH": (rng.random(n) < 0.15).astype(float),
            "TSLN": (rng.random(n) < 0.08).astype(float),
        },
        "eyepacs": {"level": rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], n, p=[0.55, 0.2, 0.15, 0.05, 0.05])},
    }[data_name]
    return list(columns), np.stack(list(columns.values()), axis=1)


def _fit(key: str, seed: int = 0):
    data_name, _, source = key.partition("-")
    names, raw = _labels(key)
    return fit_latent_model(data_name, source or None, names, raw, seed=seed), names, raw


SETTINGS = [
    "ukb-source1",
    "ukb-source2",
    "retinal-source1",
    "retinal-source2",
    "ukb_real",
    "adni",
    "retinal_real",
    "nacc",
    "rfmid",
    "eyepacs",
]


def test_beta_age_prior_by_moments_matches_the_formula():
    age = np.array([50.0, 55.0, 61.0, 70.0, 72.0, 80.0])
    prior = BetaAgePrior.fit(age)
    x = (age - 50 + 1e-4) / (30 + 2e-4)
    m, v = x.mean(), x.var()
    assert prior.alpha == pytest.approx(m * (m * (1 - m) / v - 1))
    assert prior.beta == pytest.approx((1 - m) * (m * (1 - m) / v - 1))
    samples = prior.sample(5000, np.random.default_rng(0))
    assert samples.min() >= 50 and samples.max() <= 80
    assert samples.mean() == pytest.approx(50 + 30 * prior.alpha / (prior.alpha + prior.beta), abs=0.3)


def test_mixture_age_prior_samples_only_inside_the_training_range():
    age = np.clip(np.random.default_rng(0).normal(50, 8, 800), 30, 75)  # mixture mass beyond the range
    prior = MixtureAgePrior.fit(age, n_components=3, seed=0)
    samples = prior.sample(4000, np.random.default_rng(1))
    assert len(samples) == 4000 and samples.min() >= 30 and samples.max() <= 75
    assert samples.mean() == pytest.approx(age.mean(), abs=0.5)


@pytest.mark.parametrize("key", ["ukb-source1", "ukb-source2"])
def test_semi_ms_ukb_model_normalises_as_sampling_given_age(key):
    model, names, raw = _fit(key)
    assert isinstance(model, AgeConditionalModel) and isinstance(model.age, MixtureAgePrior)
    assert model.age.mixture.n_components == 10 and model.regression.mixture.n_components == 10
    # Hand normalisation: age min-max with the model's own training range, log volume z-scored with the
    # pandas (ddof 1) std of the logged training column.
    age, volume = np.array([50.0, 64.0]), np.array([[9000.0], [20000.0]])
    log_train = np.log(raw[:, 1])
    expected = np.stack(
        [
            (age - raw[:, 0].min()) / (raw[:, 0].max() - raw[:, 0].min()),
            (np.log(volume[:, 0]) - log_train.mean()) / log_train.std(ddof=1),
        ],
        axis=1,
    )
    np.testing.assert_allclose(model.normalize(age, volume), expected, rtol=1e-6)
    # The regression follows the generating relation: E[log volume | age] for many draws.
    draws = model.sample_given_age(np.full(6000, 70.0), np.random.default_rng(0))
    slope, centre = (0.04, 9.5) if names[1] == "ventricle" else (-0.004, 13.4)
    assert np.log(draws).mean() == pytest.approx(centre + 10 * slope, abs=0.03)
    out = model.sample_given_age_normalized(np.full(3, 70.0), np.random.default_rng(0))
    assert out.shape == (3, 2) and out.dtype == np.float32


def test_semi_ms_retina_cataract_is_sampled_at_the_fitted_probability_or_mssgs_half_logit():
    model, _, raw = _fit("retinal-source1")
    assert model.regression is None and model.classified.name == "cataract"
    logistic = model.classified.model
    age = np.full(40000, 75.0)
    # the fitted probability at 75 is the data's: sigmoid(0.15 * 5) = 0.68, and the default samples it
    assert logistic.predict_proba(np.array([[75.0]]))[0, 1] == pytest.approx(0.68, abs=0.05)
    fitted = model.sample_given_age(age, np.random.default_rng(0))[:, 0]
    assert set(np.unique(fitted)) <= {0.0, 1.0}
    assert fitted.mean() == pytest.approx(logistic.predict_proba(np.array([[75.0]]))[0, 1], abs=0.01)
    model.half_logit = True  # MSSG's sigmoid(logit / 2), for parity
    z = 75.0 * logistic.coef[1, 0] + logistic.intercept[1]
    values = model.sample_given_age(age, np.random.default_rng(0))[:, 0]
    assert values.mean() == pytest.approx(1 / (1 + np.exp(-z)), abs=0.01)
    normalized = model.sample_given_age_normalized(np.array([60.0, 70.0]), np.random.default_rng(0))
    assert set(np.unique(normalized[:, 1])) <= {0.0, 1.0}  # cataract stays raw


def test_spherical_power_is_logged_with_shift_100():
    model, _, raw = _fit("retinal-source2")
    assert model.regressed[0].log_shift == 100.0 and raw[:, 1].min() < 0
    shifted = np.log(raw[:, 1] + 100)
    value = np.array([[-3.0]])
    expected = (np.log(97.0) - shifted.mean()) / shifted.std(ddof=1)
    assert model.normalize(np.array([60.0]), value)[0, 1] == pytest.approx(expected, rel=1e-6)
    samples = model.sample_given_age(np.full(2000, 60.0), np.random.default_rng(0))
    assert samples.min() > -100 and samples.mean() == pytest.approx(0.0, abs=0.2)


def test_fit_options_select_the_correct_sampling_and_survive_the_file(tmp_path):
    names, raw = _labels("retinal_real")
    model = fit_latent_model("retinal_real", None, names, raw, conditional_covariance=True, half_logit=False)
    loaded = load_latent_model(model.save(tmp_path / "m.json"))
    assert loaded.conditional_covariance and not loaded.half_logit
    # Conditional draws spread less than MSSG's marginal ones around the same conditional means.
    age = np.full(8000, 60.0)
    conditional = loaded.sample_given_age(age, np.random.default_rng(0))[:, 1]
    loaded.conditional_covariance = False
    marginal = loaded.sample_given_age(age, np.random.default_rng(0))[:, 1]
    assert np.log(conditional + 100).std() < np.log(marginal + 100).std()


def test_real_ms_models_have_the_originals_settings():
    ukb, _, _ = _fit("ukb_real")
    assert isinstance(ukb.age, BetaAgePrior) and ukb.regression.mixture.n_components == 10
    assert [r.name for r in ukb.regressed] == ["ventricle", "grey_matter"]
    assert ukb.regression.n_outputs == 2 and all(r.log_shift == 0.0 for r in ukb.regressed)
    adni, _, _ = _fit("adni")
    assert isinstance(adni.age, BetaAgePrior) and adni.regression.mixture.n_components == 8
    assert all(r.log_shift is None for r in adni.regressed)
    retina, _, _ = _fit("retinal_real")
    assert isinstance(retina.age, MixtureAgePrior) and retina.age.mixture.n_components == 13
    assert retina.output_names == ["cataract", "spherical_power_left"] and retina.normalized_width == 3


def test_sample_normalize_uses_the_population_std_of_logged_columns():
    model, _, raw = _fit("retinal_real")
    shifted = np.log(raw[:, 2] + 100)
    age, values = model.sample(50, np.random.default_rng(0))
    normalized = model.sample_normalized(50, np.random.default_rng(0))
    np.testing.assert_allclose(normalized[:, 1], values[:, 0])
    expected = (np.log(values[:, 1] + 100) - shifted.mean()) / shifted.std(ddof=0)
    np.testing.assert_allclose(normalized[:, 2], expected, rtol=1e-5)
    np.testing.assert_allclose(
        normalized[:, 0], (age - raw[:, 0].min()) / np.ptp(raw[:, 0]), rtol=1e-5, atol=1e-7
    )


def test_nacc_drops_the_missing_code_and_one_hot_encodes_apoe4():
    model, _, raw = _fit("nacc")
    np.testing.assert_array_equal(model.classified.model.classes, [0.0, 1.0, 2.0])
    out = model.sample_given_age_normalized(np.full(3000, 65.0), np.random.default_rng(0))
    assert out.shape == (3000, 4)
    np.testing.assert_array_equal(out[:, 1:].sum(axis=1), 1.0)
    kept = raw[raw[:, 1] != 9]
    frequencies = [(kept[:, 1] == k).mean() for k in range(3)]
    np.testing.assert_allclose(out[:, 1:].mean(axis=0), frequencies, atol=0.03)


def test_rfmid_disease_risk_is_any_disease_and_eyepacs_counts_levels_above_zero():
    rfmid, _, raw = _fit("rfmid")
    assert isinstance(rfmid, BernoulliCovariateModel)
    assert rfmid.probabilities == pytest.approx({"MH": raw[:, 1].mean(), "TSLN": raw[:, 2].mean()})
    samples = rfmid.sample(20000, np.random.default_rng(0))
    np.testing.assert_array_equal(samples[:, 0], np.maximum(samples[:, 1], samples[:, 2]))
    np.testing.assert_allclose(samples[:, 1:].mean(axis=0), raw[:, 1:].mean(axis=0), atol=0.01)
    eyepacs, _, raw = _fit("eyepacs")
    assert eyepacs.probabilities["level"] == pytest.approx((raw[:, 0] > 0).mean())
    assert eyepacs.sample_normalized(5, np.random.default_rng(0)).shape == (5, 1)


@pytest.mark.parametrize("key", SETTINGS)
def test_json_round_trip_gives_identical_samples(tmp_path, key):
    model, _, _ = _fit(key)
    path = model.save(tmp_path / "model.json")
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["kind"] in ("age_conditional", "bernoulli")
    loaded = load_latent_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(
        loaded.sample_normalized(64, np.random.default_rng(5)),
        model.sample_normalized(64, np.random.default_rng(5)),
    )
    if isinstance(model, AgeConditionalModel):
        age = np.linspace(46, 79, 32)
        np.testing.assert_array_equal(
            loaded.sample_given_age_normalized(age, np.random.default_rng(6)),
            model.sample_given_age_normalized(age, np.random.default_rng(6)),
        )


def test_fits_are_reproducible_from_the_seed():
    a, _, _ = _fit("ukb_real", seed=3)
    b, _, _ = _fit("ukb_real", seed=3)
    assert a.to_dict() == b.to_dict()


def test_model_files_are_checked(tmp_path):
    legacy = MorphoCovariateModel.ground_truth("slant").to_dict()
    legacy.pop("version")  # files written before versioning still load
    assert isinstance(load_latent_model(legacy), MorphoCovariateModel)
    model, _, _ = _fit("eyepacs")
    with pytest.raises(ValueError, match="version 2 is newer"):
        load_latent_model({**model.to_dict(), "version": 2})
    with pytest.raises(ValueError, match="unknown latent model kind 'gmr'"):
        load_latent_model({**model.to_dict(), "kind": "gmr"})
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_latent_model(tmp_path / "missing.json")


def test_unknown_data_names_and_missing_columns_are_reported():
    with pytest.raises(ValueError, match="adni: 5 complete training labels are too few for a latent model"):
        fit_latent_model("adni", None, ["Age", "left_hippocampus", "right_hippocampus"], np.ones((5, 3)))
    with pytest.raises(ValueError, match="no latent covariate model for data name 'oasis3'"):
        fit_latent_model("oasis3", None, ["Age"], np.zeros((3, 1)))
    names, raw = _labels("ukb_real")
    with pytest.raises(ValueError, match=r"have no \['grey_matter'\]"):
        fit_latent_model("ukb_real", None, names[:2], raw[:, :2])
    with pytest.raises(ValueError, match=r"log\(v\), which needs v > 0; the labels have v = -2"):
        fit_latent_model("ukb", "source1", ["age", "ventricle"], np.array([[50.0, 1.0], [60.0, -2.0]] * 20))
