"""The scikit-learn face: the estimators pass scikit-learn's own checks, work in Pipeline and
GridSearchCV, predict what the kernel formulas say, and NTKKernel plugs into SVC,
KernelRidge and GaussianProcessRegressor."""
import math

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_blobs
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

import ntkit
from ntkit.sklearn import NTKClassifier, NTKKernel, NTKRegressor
from references import gradient_flow

ARCH = "Dense(64, W_std=1.5, b_std=0.05), Relu, Dense(1, W_std=1.5, b_std=0.05)"


@parametrize_with_checks([NTKRegressor(), NTKClassifier(), NTKRegressor(ARCH, kernel="nngp", time=1000.0, loss="mean")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture
def diabetes():
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    return x[:300], y[:300], x[300:], y[300:]


@pytest.mark.parametrize("kernel, time", [("ntk", math.inf), ("ntk", 3.0), ("nngp", 0.5)])
def test_regressor_predicts_the_gradient_flow_formula(diabetes, kernel, time):
    x, y, x_test, _ = diabetes
    model = NTKRegressor(ARCH, kernel=kernel, time=time, diag_reg=0.0).fit(x, y)
    k = ntkit.kernel(ARCH, x, get=kernel)
    k_test = ntkit.kernel(ARCH, x_test, x, get=kernel)
    np.testing.assert_allclose(model.predict(x_test), gradient_flow(k, y, k_test, time)[1], rtol=1e-7, atol=1e-6)
    assert model.n_features_in_ == 10 and model.dual_coef_.shape == (300,)


def test_regressor_in_a_pipeline_with_grid_search(diabetes):
    x, y, x_test, y_test = diabetes
    search = GridSearchCV(
        make_pipeline(StandardScaler(), NTKRegressor(ARCH)),
        {"ntkregressor__diag_reg": [1e-3, 0.1, 1.0], "ntkregressor__kernel": ["ntk", "nngp"]},
        cv=3,
    ).fit(x, y)
    assert search.best_params_["ntkregressor__diag_reg"] > 1e-3  # interpolating 300 noisy targets loses
    # Predicting the mean scores 0; the NTK regression learns something real on held-out patients.
    assert search.score(x_test, y_test) > 0.3


def test_classifier_on_blobs_and_its_decision_function():
    # Well-separated blobs (at cluster_std=2 these three overlap so much that even SVC is near chance).
    x, y = make_blobs(n_samples=120, centers=3, cluster_std=0.5, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    model = NTKClassifier(ARCH).fit(x[:90], labels[:90])
    assert list(model.classes_) == ["a", "b", "c"]
    assert np.mean(model.predict(x[90:]) == labels[90:]) > 0.9
    scores = model.decision_function(x[90:])
    np.testing.assert_array_equal(model.classes_[scores.argmax(1)], model.predict(x[90:]))
    # Two classes: one score, positive for classes_[1].
    binary = NTKClassifier(ARCH).fit(x[y < 2], y[y < 2])
    s = binary.decision_function(x[y < 2])
    assert s.shape == ((y < 2).sum(),)
    np.testing.assert_array_equal(binary.predict(x[y < 2]), (s > 0).astype(int))


def test_ntk_kernel_in_scikit_learn_kernel_methods(diabetes):
    x, y, x_test, _ = diabetes
    k, k_test = ntkit.kernel(ARCH, x), ntkit.kernel(ARCH, x_test, x)
    ntk = NTKKernel(ARCH)
    np.testing.assert_array_equal(ntk(x), k)
    np.testing.assert_allclose(ntk.diag(x), np.diag(k), rtol=1e-13)
    assert not ntk.is_stationary() and ntk.theta.size == 0
    # KernelRidge computes the whole matrix in one call (a GP kernel), equal to the formula.
    ridge = KernelRidge(alpha=0.5, kernel=ntk).fit(x, y)
    np.testing.assert_allclose(ridge.predict(x_test), k_test @ np.linalg.solve(k + 0.5 * np.eye(300), y), rtol=1e-8)
    # SVC with the callable equals SVC on the precomputed matrices.
    labels = (y > np.median(y)).astype(int)
    svc = SVC(kernel=ntk).fit(x, labels)
    pre = SVC(kernel="precomputed").fit(k, labels)
    np.testing.assert_array_equal(svc.predict(x_test), pre.predict(k_test))
    # A Gaussian process: NTK plus noise; its predictive mean is the noisy posterior mean.
    gp = GaussianProcessRegressor(kernel=NTKKernel(ARCH, kernel="nngp") + WhiteKernel(1.0, "fixed"),
                                  optimizer=None, normalize_y=False).fit(x, y)
    nngp, nngp_test = ntkit.kernel(ARCH, x, get="nngp"), ntkit.kernel(ARCH, x_test, x, get="nngp")
    np.testing.assert_allclose(gp.predict(x_test), nngp_test @ np.linalg.solve(nngp + np.eye(300), y), rtol=1e-7)
    mean, std = gp.predict(x_test, return_std=True)
    assert std.shape == (142,) and np.all(std > 0)


ARCH1 = "Dense(64, W_std=1.5, b_std=0.05), Relu, Dense(1, W_std=1.5, b_std=0.05)"


def test_ntk_kernel_repr_shows_its_arguments_for_grid_search():
    # Issue 18, finding 11: repr(NTKKernel(arch)) was "NTKKernel()", so best_params_ hid the
    # network that won.
    assert repr(NTKKernel(ARCH)) == f"NTKKernel(architecture={ARCH!r}, kernel='ntk', fixed_layers=0)"
    x, y = make_blobs(n_samples=60, centers=2, cluster_std=3.0, random_state=1)
    search = GridSearchCV(SVC(), {"kernel": [NTKKernel(ARCH), NTKKernel(ARCH1, kernel="nngp")]}, cv=3).fit(x, y)
    assert "architecture=" in str(search.best_params_)
    assert search.best_params_["kernel"].get_params()["architecture"] in (ARCH, ARCH1)
    # The estimators follow the same conventions: constructor arguments are parameters.
    assert "fixed_layers=1" in repr(NTKClassifier(ARCH, fixed_layers=1))


def test_fixed_layers_in_python():
    # One hidden layer, its first Dense fixed: only the readout trains, so the NTK is the NNGP
    # (Arora et al. 2020's kernel with L' = L).
    x = np.random.default_rng(0).standard_normal((12, 4))
    np.testing.assert_allclose(ntkit.kernel(ARCH1, x, fixed_layers=1), ntkit.kernel(ARCH1, x, get="nngp"), rtol=1e-14)
    np.testing.assert_allclose(NTKKernel(ARCH1, fixed_layers=1)(x), ntkit.kernel(ARCH1, x, get="nngp"), rtol=1e-14)
    np.testing.assert_allclose(ntkit.kernel_diagonal(ARCH1, x, fixed_layers=1), np.diag(ntkit.kernel(ARCH1, x, get="nngp")),
                               rtol=1e-14)
    with pytest.raises(ValueError, match="fixed_layers = 2 but the network has 2 Dense layers"):
        ntkit.kernel(ARCH1, x, fixed_layers=2)
    y = x[:, 0] > 0
    fixed = NTKClassifier(ARCH1, fixed_layers=1, diag_reg=1e-3).fit(x, y)
    nngp = NTKClassifier(ARCH1, kernel="nngp", diag_reg=1e-3).fit(x, y)
    np.testing.assert_allclose(fixed.decision_function(x), nngp.decision_function(x), rtol=1e-9, atol=1e-12)
