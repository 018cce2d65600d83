"""The numpy estimators behind MSSG's latent covariate models: Gaussian-mixture EM, Gaussian-mixture
regression, unpenalised multinomial logistic regression; each against an independent reference (known
generating parameters, closed forms computed by hand, Bayes' rule evaluated directly, optimality conditions,
scikit-learn when it happens to be installed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from mssg.latent.gaussian_mixture import GaussianMixture, fit_gaussian_mixture, kmeans_plusplus
from mssg.latent.logistic import MultinomialLogisticRegression
from mssg.latent.mixture_regression import GaussianMixtureRegression

TRUE_MIXTURE = GaussianMixture(
    weights=[0.5, 0.3, 0.2],
    means=[[0.0, 0.0], [6.0, 1.0], [1.0, 7.0]],
    covariances=[
        [[1.0, 0.3], [0.3, 0.5]],
        [[0.6, -0.2], [-0.2, 1.2]],
        [[0.8, 0.0], [0.0, 0.4]],
    ],
)


def _sorted_by_first_mean(mixture: GaussianMixture) -> GaussianMixture:
    order = np.lexsort((mixture.means[:, 1], mixture.means[:, 0]))
    return GaussianMixture(mixture.weights[order], mixture.means[order], mixture.covariances[order])


def test_em_recovers_a_known_three_component_mixture():
    points = TRUE_MIXTURE.sample(6000, np.random.default_rng(0))
    fitted = _sorted_by_first_mean(fit_gaussian_mixture(points, 3, seed=0))
    truth = _sorted_by_first_mean(TRUE_MIXTURE)
    np.testing.assert_allclose(fitted.weights, truth.weights, atol=0.02)
    np.testing.assert_allclose(fitted.means, truth.means, atol=0.08)
    np.testing.assert_allclose(fitted.covariances, truth.covariances, atol=0.1)
    # Maximum likelihood: at least as likely as the generating parameters, up to EM's tolerance.
    assert fitted.mean_log_likelihood(points) >= TRUE_MIXTURE.mean_log_likelihood(points) - 1e-3


def test_em_is_reproducible_from_its_seed_and_regularises_covariances():
    points = TRUE_MIXTURE.sample(600, np.random.default_rng(1))
    a, b = fit_gaussian_mixture(points, 3, seed=7), fit_gaussian_mixture(points, 3, seed=7)
    np.testing.assert_array_equal(a.means, b.means)
    # Two components on one repeated point: the covariances are reg_covar, never singular.
    degenerate = fit_gaussian_mixture(np.ones((10, 1)), 2, seed=0)
    np.testing.assert_allclose(degenerate.covariances[:, 0, 0], 1e-6, rtol=1e-6)


def test_mixture_log_density_matches_the_gaussian_formula():
    x = np.array([[0.5, -0.2], [5.0, 2.0]])
    expected = np.zeros(2)
    for w, m, c in zip(TRUE_MIXTURE.weights, TRUE_MIXTURE.means, TRUE_MIXTURE.covariances, strict=True):
        d = x - m
        quad = np.einsum("ni,ij,nj->n", d, np.linalg.inv(c), d)
        expected += w * np.exp(-0.5 * quad) / (2 * np.pi * np.sqrt(np.linalg.det(c)))
    np.testing.assert_allclose(TRUE_MIXTURE.log_likelihood(x), np.log(expected), rtol=1e-12)


def test_kmeans_plusplus_picks_distinct_data_points():
    points = TRUE_MIXTURE.sample(300, np.random.default_rng(2))
    centres = kmeans_plusplus(points, 3, np.random.default_rng(0))
    assert len({tuple(c) for c in centres}) == 3
    assert all((points == c).all(axis=1).any() for c in centres)


def test_em_matches_sklearn_mean_log_likelihood():
    mixture_module = pytest.importorskip("sklearn.mixture")
    points = TRUE_MIXTURE.sample(3000, np.random.default_rng(3))
    reference = mixture_module.GaussianMixture(3, random_state=0).fit(points)
    ours = fit_gaussian_mixture(points, 3, seed=0)
    assert abs(ours.mean_log_likelihood(points) - reference.score(points)) < 5e-3


def test_gmr_single_gaussian_is_the_hand_computed_conditional():
    # mu = (1, 2, -1), x = first coordinate; S_xx = 2, S_yx = (1, -0.5), S_yy = [[3, 0.4], [0.4, 1]].
    cov = np.array([[2.0, 1.0, -0.5], [1.0, 3.0, 0.4], [-0.5, 0.4, 1.0]])
    gmr = GaussianMixtureRegression(GaussianMixture([1.0], [[1.0, 2.0, -1.0]], [cov]), n_inputs=1)
    # E[y | x = 3] = mu_y + S_yx / S_xx (3 - 1) = (2 + 1, -1 - 0.5) = (3, -1.5)
    np.testing.assert_allclose(gmr.predict(np.array([[3.0]])), [[3.0, -1.5]])
    # conditional covariance S_yy - S_yx S_xy / S_xx = [[3 - 0.5, 0.4 + 0.25], [0.65, 1 - 0.125]]
    np.testing.assert_allclose(gmr.output_covariances(True)[0], [[2.5, 0.65], [0.65, 0.875]])
    np.testing.assert_allclose(gmr.output_covariances(False)[0], cov[1:, 1:])


def test_gmr_two_components_match_bayes_rule():
    mixture = GaussianMixture(
        [0.4, 0.6],
        [[0.0, 1.0], [3.0, -2.0]],
        [[[1.0, 0.5], [0.5, 2.0]], [[2.0, -1.0], [-1.0, 1.5]]],
    )
    gmr = GaussianMixtureRegression(mixture, n_inputs=1)
    x = np.array([-1.0, 1.2, 4.0])
    # Direct computation: p(k | x) proportional to w_k N(x; mu_xk, S_xxk); E[y | x, k] by the 2x2 formula.
    prior = np.array([0.4, 0.6])
    mx, my = np.array([0.0, 3.0]), np.array([1.0, -2.0])
    sxx, sxy = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    density = prior * np.exp(-0.5 * (x[:, None] - mx) ** 2 / sxx) / np.sqrt(2 * np.pi * sxx)
    posterior = density / density.sum(axis=1, keepdims=True)
    conditional = my + sxy / sxx * (x[:, None] - mx)
    responsibilities, means = gmr.condition(x)
    np.testing.assert_allclose(responsibilities, posterior, rtol=1e-12)
    np.testing.assert_allclose(means[:, :, 0], conditional, rtol=1e-12)
    np.testing.assert_allclose(gmr.predict(x)[:, 0], (posterior * conditional).sum(axis=1), rtol=1e-12)


def test_gmr_conditioning_matches_the_gmr_package():
    gmr_package = pytest.importorskip("gmr")
    rng = np.random.default_rng(0)
    factors = rng.normal(0, 1, (3, 3, 3))
    weights, means = np.array([0.2, 0.5, 0.3]), rng.normal(0, 2, (3, 3))
    covariances = factors @ factors.transpose(0, 2, 1) + 0.5 * np.eye(3)
    reference = gmr_package.GMM(3, priors=weights, means=means, covariances=covariances)
    ours = GaussianMixtureRegression(GaussianMixture(weights, means, covariances), n_inputs=1)
    x = np.array([[-1.0], [0.3], [2.0]])
    np.testing.assert_allclose(ours.predict(x), reference.predict(np.array([0]), x), atol=1e-12)
    for row in range(len(x)):
        conditional = reference.condition(np.array([0]), x[row])
        responsibilities, conditional_means = ours.condition(x[row : row + 1])
        np.testing.assert_allclose(responsibilities[0], conditional.priors, atol=1e-12)
        np.testing.assert_allclose(conditional_means[0], conditional.means, atol=1e-12)
        np.testing.assert_allclose(ours.output_covariances(True), conditional.covariances, atol=1e-12)


def test_gmr_sampling_uses_marginal_covariance_unless_asked_for_the_conditional():
    cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    gmr = GaussianMixtureRegression(GaussianMixture([1.0], [[0.0, 0.0]], [cov]), n_inputs=1)
    x = np.zeros(20000)
    marginal = gmr.sample(x, np.random.default_rng(0))
    conditional = gmr.sample(x, np.random.default_rng(0), conditional_covariance=True)
    assert abs(marginal.var() - 1.0) < 0.03  # MSSG: S_yy
    assert abs(conditional.var() - 0.19) < 0.01  # 1 - 0.9^2
    # The same seed gives the same samples (components and noise drawn from the generator only).
    np.testing.assert_array_equal(marginal, gmr.sample(x, np.random.default_rng(0)))


def test_gmr_fit_recovers_a_linear_gaussian_relation():
    rng = np.random.default_rng(4)
    x = rng.uniform(40, 80, 4000)
    y = 0.05 * x + 3 + rng.normal(0, 0.2, x.shape)
    gmr = GaussianMixtureRegression.fit(x, y, n_components=3, seed=0)
    grid = np.array([45.0, 60.0, 75.0])
    np.testing.assert_allclose(gmr.predict(grid)[:, 0], 0.05 * grid + 3, atol=0.05)


def _logistic_sample(coef: np.ndarray, intercept: np.ndarray, n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(40, 80, (n, 1))
    logits = x @ coef.T + intercept
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return x, y


def test_binary_logistic_regression_recovers_known_coefficients():
    # centred two-class parameters: logit difference 0.2 (age - 60) -> coef (-0.1, 0.1), intercept (6, -6)
    coef, intercept = np.array([[-0.1], [0.1]]), np.array([6.0, -6.0])
    x, y = _logistic_sample(coef, intercept, 40000, seed=0)
    model = MultinomialLogisticRegression.fit(x, y)
    np.testing.assert_allclose(model.coef, coef, atol=0.006)
    np.testing.assert_allclose(model.intercept, intercept, atol=0.4)
    np.testing.assert_allclose(model.coef.sum(axis=0), 0.0, atol=1e-12)
    # sklearn's binary multinomial convention: p(1) = sigmoid(2 (x coef[1] + intercept[1])); MSSG's sampler
    # uses sigmoid(x coef[1] + intercept[1]) (half_logit)
    z = x[:5] @ model.coef[1] + model.intercept[1]
    np.testing.assert_allclose(model.predict_proba(x[:5])[:, 1], 1 / (1 + np.exp(-2 * z)), rtol=1e-10)
    np.testing.assert_allclose(model.binary_probability(x[:5]), 1 / (1 + np.exp(-z)), rtol=1e-10)


def test_logistic_regression_solves_the_likelihood_equations():
    coef, intercept = np.array([[0.05], [0.0], [-0.05]]), np.array([-2.0, 0.5, 1.5])
    x, y = _logistic_sample(coef, intercept, 3000, seed=1)
    model = MultinomialLogisticRegression.fit(x, y)
    # Gradient of the log-likelihood = sum_n (onehot_n - p_n) [x_n, 1] = 0 for every class.
    residual = np.eye(3)[y] - model.predict_proba(x)
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    np.testing.assert_allclose(residual.T @ design, 0.0, atol=1e-6 * len(x))
    np.testing.assert_allclose(model.classes, [0.0, 1.0, 2.0])
    draws = model.sample(np.full(20000, 60.0), np.random.default_rng(0))
    frequencies = np.bincount(draws.astype(int), minlength=3) / len(draws)
    np.testing.assert_allclose(frequencies, model.predict_proba(np.array([[60.0]]))[0], atol=0.01)


def test_logistic_regression_matches_sklearn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = _logistic_sample(np.array([[0.05], [0.0], [-0.05]]), np.array([-2.0, 0.5, 1.5]), 2000, seed=2)
    with warnings.catch_warnings():  # sklearn >= 1.8 deprecates penalty=None (C=inf), older lacks the latter
        warnings.simplefilter("ignore", FutureWarning)
        reference = linear_model.LogisticRegression(penalty=None, max_iter=10000).fit(x, y)
    ours = MultinomialLogisticRegression.fit(x, y)
    np.testing.assert_allclose(ours.predict_proba(x), reference.predict_proba(x), atol=1e-4)


def test_binary_coefficients_are_sklearns_multinomial_ones():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 8):
        pytest.skip("sklearn >= 1.8 has no multi_class='multinomial' (MSSG's setting)")
    x, y = _logistic_sample(np.array([[-0.1], [0.1]]), np.array([6.0, -6.0]), 3000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        reference = LogisticRegression(multi_class="multinomial", penalty=None, max_iter=10000).fit(x, y)
    ours = MultinomialLogisticRegression.fit(x, y)
    # One row for two classes: the class-1 row of the centred parameters, i.e. half the logit difference.
    np.testing.assert_allclose(reference.coef_[0], ours.coef[1], rtol=1e-3)
    np.testing.assert_allclose(reference.intercept_[0], ours.intercept[1], rtol=1e-3)


def test_logistic_regression_rejects_a_single_class():
    with pytest.raises(ValueError, match="at least two classes"):
        MultinomialLogisticRegression.fit(np.arange(5.0), np.zeros(5))
