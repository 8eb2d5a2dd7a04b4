"""Predictions and the kernel methods through Python: KernelDynamics against NumPy's
eigendecomposition and solve (docs/mathematics.md §4) and against `ntkit two-layer predict`; kernel ridge,
cross-validation, the explicit feature map and primal/dual gradient descent."""
import math

import numpy as np
import pytest

import ntkit
from references import gradient_flow


@pytest.fixture
def problem(rng):
    x, x_test = rng.standard_normal((25, 3)), rng.standard_normal((6, 3))
    y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(25)
    k = ntkit.kernel("Dense(8, W_std=1.5, b_std=0.1), Relu, Dense(1)", x)
    k_test = ntkit.kernel("Dense(8, W_std=1.5, b_std=0.1), Relu, Dense(1)", x_test, x)
    return x, y, x_test, k, k_test


@pytest.mark.parametrize("t", [0.0, 0.3, 5.0, math.inf])
def test_gradient_flow_matches_numpy(problem, t):
    _, y, _, k, k_test = problem
    dynamics = ntkit.KernelDynamics(k, y)
    train_ref, test_ref = gradient_flow(k, y, k_test, t)
    np.testing.assert_allclose(dynamics.train_at_time(t), train_ref, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(dynamics.test_at_time(t, k_test), test_ref, rtol=1e-8, atol=1e-8)
    # Two outputs at once: column by column the same.
    two = np.column_stack([y, 2 * y])
    both = ntkit.KernelDynamics(k, two).test_at_time(t, k_test)
    assert both.shape == (6, 2)
    np.testing.assert_allclose(both[:, 1], 2 * dynamics.test_at_time(t, k_test), rtol=1e-10, atol=1e-12)


def test_gradient_descent_mean_loss_and_regularization(problem):
    _, y, _, k, k_test = problem
    # 'mean' divides K by y.size; diag_reg adds diag_reg·tr(K)/n.
    k_reg = (k + 0.01 * np.trace(k) / 25 * np.eye(25)) / 25
    dynamics = ntkit.KernelDynamics(k, y, loss="mean", diag_reg=0.01)
    np.testing.assert_allclose(dynamics.eigenvalues, np.linalg.eigvalsh(k_reg), rtol=1e-10, atol=1e-14)
    eta = 0.9 * dynamics.max_stable_learning_rate()
    np.testing.assert_allclose(eta, 0.9 * 2 / np.linalg.eigvalsh(k_reg)[-1], rtol=1e-12)
    u = -y.copy()
    f_test = np.zeros(6)
    for _ in range(7):  # gradient descent on the 'mean' loss, in function space
        f_test -= eta * (k_test / 25) @ u
        u -= eta * k_reg @ u
    np.testing.assert_allclose(dynamics.train_after_steps(7, eta), u + y, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dynamics.test_after_steps(7, eta, k_test), f_test, rtol=1e-9, atol=1e-10)
    # Starting outputs f0 shift the start: at t = 0 the outputs are f0.
    f0 = np.linspace(-1, 1, 25)
    np.testing.assert_allclose(dynamics.train_at_time(0.0, f0), f0, atol=1e-12)


def test_predictions_match_the_cli(problem, tmp_path, ntkit_cli):
    x, y, x_test, _, _ = problem
    for name, value in [("x", x), ("y", y), ("t", x_test)]:
        np.save(tmp_path / f"{name}.npy", value)
    ntkit_cli("two-layer", "predict", "--train", tmp_path / "x.npy", tmp_path / "y.npy", "--test", tmp_path / "t.npy",
              "--time", "0,1,10,inf", "--loss", "mean", "--diag-reg", "0.001", "--out", tmp_path / "pred")
    k, k_test = ntkit.two_layer_ntk(x).total(), ntkit.two_layer_ntk(x_test, x).total()
    dynamics = ntkit.KernelDynamics(k, y, loss="mean", diag_reg=0.001)
    times = [0.0, 1.0, 10.0, math.inf]
    np.testing.assert_array_equal(np.load(tmp_path / "pred" / "times.npy").ravel(), times)
    np.testing.assert_allclose(np.load(tmp_path / "pred" / "train.npy"), [dynamics.train_at_time(t) for t in times],
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.load(tmp_path / "pred" / "test.npy"),
                               [dynamics.test_at_time(t, k_test) for t in times], rtol=1e-12, atol=1e-13)


def test_kernel_ridge_and_cross_validation(problem):
    _, y, _, k, k_test = problem
    ridge = ntkit.KernelRidge().fit(k, y, 0.1)
    alpha = np.linalg.solve(k + 0.1 * np.eye(25), y)
    np.testing.assert_allclose(ridge.dual_coef, alpha, rtol=1e-10)
    np.testing.assert_allclose(ridge.predict(k_test), k_test @ alpha, rtol=1e-10)
    assert ridge.fitted and not ntkit.KernelRidge().fitted
    selection = ntkit.select_ridge_lambda(k, y, [1e-3, 1e-1, 10.0, 1e3], folds=5, seed=1)
    assert selection.lambdas == [1e-3, 1e-1, 10.0, 1e3] and len(selection.mean_squared_error) == 4
    assert selection.lambda_ == selection.lambdas[int(np.argmin(selection.mean_squared_error))]
    # A huge ridge predicts ~0: its validation error is about the targets' mean square.
    assert selection.mean_squared_error[-1] == pytest.approx(np.mean(y**2), rel=0.2)


def test_feature_map_and_primal_dual_descent(rng):
    x = rng.standard_normal((12, 3))
    y = rng.standard_normal((12, 2))
    phi_map = ntkit.PolynomialFeatureMap(3, 2, c=0.5)
    assert (phi_map.input_dim, phi_map.degree, phi_map.c, phi_map.output_dim) == (3, 2, 0.5, 10)  # C(3 + 2, 2)
    assert phi_map.exponents(0) == [0, 0, 0] and sum(phi_map.exponents(9)) == 2
    phi = phi_map.transform(x)
    np.testing.assert_allclose(phi @ phi.T, (0.5 + x @ x.T) ** 2, rtol=1e-12)
    primal = ntkit.FeatureSpaceRegression(phi, y)
    dual = ntkit.DualKernelRegression(phi @ phi.T, y)
    for _ in range(20):
        primal.step(0.01)
        dual.step(0.01)
    np.testing.assert_allclose(primal.train_outputs(), dual.train_outputs(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(primal.loss(), dual.loss(), rtol=1e-10)
    x_new = rng.standard_normal((4, 3))
    np.testing.assert_allclose(primal.predict(phi_map.transform(x_new)), dual.predict(phi_map.transform(x_new) @ phi.T),
                               rtol=1e-10, atol=1e-12)
    assert primal.weights.shape == (10, 2) and dual.coefficients.shape == (12, 2)
    # 1-D targets, 1-D outputs.
    assert ntkit.DualKernelRegression(phi @ phi.T, y[:, 0]).train_outputs().shape == (12,)


def test_predict_mse_all_times_at_once(problem):
    # Every time in one call equals NumPy's gradient flow per time (and so KernelDynamics'); the
    # discrete-step form equals explicit gradient descent; shapes follow y_train.
    _, y, _, k, k_test = problem
    times = [0.0, 0.3, 5.0, math.inf]
    train, test = ntkit.predict_mse(k, y, times, k_test)
    assert train.shape == (4, 25) and test.shape == (4, 6)
    for i, t in enumerate(times):
        train_ref, test_ref = gradient_flow(k, y, k_test, t)
        np.testing.assert_allclose(train[i], train_ref, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(test[i], test_ref, rtol=1e-8, atol=1e-8)
    two, none = ntkit.predict_mse(k, np.column_stack([y, -y]), [1.0])
    assert two.shape == (1, 25, 2) and none is None
    np.testing.assert_allclose(two[0, :, 1], -train_ref_at(k, y, 1.0), rtol=1e-8, atol=1e-10)
    eta = 0.5 * ntkit.max_learning_rate(k, loss="mean", y_size=25)
    steps, _ = ntkit.predict_mse(k, y, [3.0], loss="mean", learning_rate=eta)
    u = -y.copy()
    for _ in range(3):
        u -= eta * (k / 25) @ u
    np.testing.assert_allclose(steps[0], u + y, rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="time"):
        ntkit.predict_mse(k, y, [-1.0])
    with pytest.raises(ValueError):
        ntkit.predict_mse(k, y[:5], [1.0])


def train_ref_at(k, y, t):
    return gradient_flow(k, y, k[:1], t)[0]
