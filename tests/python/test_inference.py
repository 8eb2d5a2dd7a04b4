"""GP inference and the infinite ensemble through Python, against the formulas of docs/mathematics.md §4
written in NumPy (dense solves and eigendecompositions)."""
import math

import numpy as np
import pytest

import ntkit

ARCH = "Dense(64, W_std=1.5, b_std=0.1), Relu, Dense(64, W_std=1.5, b_std=0.1), Relu, Dense(1, W_std=1.5, b_std=0.1)"


@pytest.fixture
def blocks(rng):
    x, x_test = rng.standard_normal((15, 3)), rng.standard_normal((5, 3))
    y = rng.standard_normal(15)
    train = ntkit.kernel(ARCH, x, get=("nngp", "ntk"))
    test_train = ntkit.kernel(ARCH, x_test, x, get=("nngp", "ntk"))
    test_test = ntkit.kernel(ARCH, x_test, get=("nngp", "ntk"))
    return train, test_train, test_test, y


def test_nngp_and_ntkgp_posteriors(blocks):
    (k, theta), (k_s, theta_s), (k_ss, theta_ss), y = blocks
    mean, cov = ntkit.gp_inference((k, theta), y, (k_s, theta_s), (k_ss, theta_ss), get="nngp")
    np.testing.assert_allclose(mean, k_s @ np.linalg.solve(k, y), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov, k_ss - k_s @ np.linalg.solve(k, k_s.T), rtol=1e-7, atol=1e-9)
    mean, cov = ntkit.gp_inference((None, theta), y, (None, theta_s), (None, theta_ss), get="ntkgp")
    np.testing.assert_allclose(mean, theta_s @ np.linalg.solve(theta, y), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov, theta_ss - theta_s @ np.linalg.solve(theta, theta_s.T), rtol=1e-7, atol=1e-9)
    # Means only without the test-test blocks; 2-D targets keep their columns.
    mean2, none = ntkit.gp_inference((k, theta), np.column_stack([y, -y]), (k_s, theta_s), get="nngp")
    assert none is None and mean2.shape == (5, 2)


@pytest.mark.parametrize("t", [0.5, 4.0, math.inf])
def test_ntk_ensemble_mean_and_covariance(blocks, t):
    (k, theta), (k_s, theta_s), (k_ss, _), y = blocks
    lam, v = np.linalg.eigh(theta)
    # M_t = Θ⁻¹(I − e^(−Θt)) (t = ∞: Θ⁻¹).
    m_t = np.linalg.inv(theta) if math.isinf(t) else v @ np.diag(-np.expm1(-lam * t) / lam) @ v.T
    mean_ref = theta_s @ m_t @ y
    cross = theta_s @ m_t @ k_s.T
    cov_ref = k_ss + theta_s @ m_t @ k @ m_t.T @ theta_s.T - (cross + cross.T)
    ensemble = ntkit.EnsemblePredictor((k, theta), y, get="ntk")
    means, covs = ensemble.test([t], (k_s, theta_s), k_ss)
    assert means.shape == (1, 5) and covs.shape == (1, 5, 5)
    np.testing.assert_allclose(means[0], mean_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(covs[0], cov_ref, rtol=1e-6, atol=1e-8)
    if math.isinf(t):  # t = ∞ is the "ntk" posterior of gp_inference
        mean, cov = ntkit.gp_inference((k, theta), y, (k_s, theta_s), (k_ss, None), get="ntk")
        np.testing.assert_allclose(mean, means[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cov, covs[0], rtol=1e-8, atol=1e-10)


def test_nngp_ensemble_on_train_and_test_points(blocks):
    (k, _), (k_s, _), (k_ss, _), y = blocks
    ensemble = ntkit.EnsemblePredictor((k, None), y, get="nngp")
    times = [0.0, 1.0, 10.0]
    means, covs = ensemble.test(times, (k_s, None), k_ss)
    train_means, train_covs = ensemble.train(times, covariance=True)
    lam, v = np.linalg.eigh(k)
    for i, t in enumerate(times):
        decay = v @ np.diag(np.exp(-lam * t)) @ v.T  # E_t
        m_t = v @ np.diag(-np.expm1(-lam * t) / lam) @ v.T
        np.testing.assert_allclose(means[i], k_s @ m_t @ y, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(covs[i], k_ss - k_s @ m_t @ (np.eye(15) + decay) @ k_s.T, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(train_means[i], (np.eye(15) - decay) @ y, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(train_covs[i], k @ decay @ decay, rtol=1e-6, atol=1e-8)
    assert ensemble.train(times)[1] is None


def test_max_learning_rate(blocks):
    (_, theta), _, _, _ = blocks
    lam_max = np.linalg.eigvalsh(theta)[-1]
    assert ntkit.max_learning_rate(theta) == pytest.approx(2 / lam_max, rel=1e-10)
    assert ntkit.max_learning_rate(theta, loss="mean", y_size=15, momentum=0.5) == pytest.approx(2 * 1.5 / lam_max * 15,
                                                                                                 rel=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda b: ntkit.gp_inference(b[0], b[3], b[1], get="gp"), "gp"),
    (lambda b: ntkit.gp_inference(b[0][0], b[3], b[1]), "k_train: expected a pair (nngp, ntk)"),
    (lambda b: ntkit.gp_inference((np.ones((15, 15)), None), b[3], b[1]), "positive definite"),
    (lambda b: ntkit.gp_inference(b[0], b[3][:4], b[1]), "4"),
    (lambda b: ntkit.EnsemblePredictor(b[0], b[3], get="gp"), "gp"),
    (lambda b: ntkit.EnsemblePredictor(b[0], b[3], loss="median"), "unknown loss normalization 'median'"),
    (lambda b: ntkit.EnsemblePredictor(b[0], b[3]).test([-1.0], b[1]), "EnsemblePredictor: times must be >= 0 (or inf)"),
    (lambda b: ntkit.EnsemblePredictor(b[0], b[3]).test([], b[1]), "give at least one time"),
])
def test_errors(blocks, call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(blocks)
