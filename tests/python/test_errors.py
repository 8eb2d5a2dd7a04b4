"""Every documented error path raises ValueError (TypeError for a wrong type) with the
library's message: it names the function, the argument and the fix."""
import math

import numpy as np
import pytest

import ntkit

X = np.arange(15.0).reshape(5, 3) / 10
X4 = np.ones((2, 4))
NAN = np.where(np.eye(5, 3) > 0, np.nan, X)
ARCH = "Dense(8), Relu, Dense(1)"

CASES = {
    # classic kernels
    "unknown kernel": (lambda: ntkit.classic_kernel(X, kernel="sigmoid"),
                       "unknown kernel 'sigmoid'; choose one of: linear, polynomial, rbf, arccos"),
    "polynomial degree": (lambda: ntkit.classic_kernel(X, kernel="polynomial", degree=0),
                          "polynomial kernel: degree must be an integer in [1, 64], got 0"),
    "polynomial c": (lambda: ntkit.classic_kernel(X, kernel="polynomial", c=math.inf), "polynomial kernel: c must be finite"),
    "rbf gamma": (lambda: ntkit.classic_kernel(X, kernel="rbf", gamma=-1.0),
                  "rbf kernel: gamma must be a finite number > 0, got -1"),
    "arccos order": (lambda: ntkit.classic_kernel(X, kernel="arccos", order=3),
                     "arccos kernel: order must be 0, 1 or 2, got 3"),
    "classic columns": (lambda: ntkit.classic_kernel(X, X4), "kernel_matrix: x1 has 3 columns but x2 has 4"),
    "classic nan": (lambda: ntkit.classic_kernel(NAN), "non-finite value (nan) at row 0, column 0"),
    "classic diagonal nan": (lambda: ntkit.classic_kernel_diagonal(NAN, kernel="rbf"), "non-finite value"),
    "3-D input": (lambda: ntkit.classic_kernel(np.ones((2, 2, 2))), "x1: expected a 1-D or 2-D array"),
    "complex input": (lambda: ntkit.classic_kernel(X, X + 1j), "x2: complex data is not supported"),
    # deep kernels
    "layer typo": (lambda: ntkit.kernel("Dense(8), Rleu, Dense(1)", X), "unknown layer 'Rleu' at column 11; did you mean 'Relu'?"),
    "bad argument": (lambda: ntkit.kernel("Dense(8, W_std=-1), Relu, Dense(1)", X), "W_std"),
    "activation first": (lambda: ntkit.Network("Relu, Dense(1)"), "missing Dense before an activation"),
    "parse_network": (lambda: ntkit.parse_network("Dense(8), Relu, Dense("), "parse_network"),
    "deep columns": (lambda: ntkit.kernel(ARCH, X, X4), "analytic kernels: x1 has 3 columns but x2 has 4"),
    "deep nan": (lambda: ntkit.kernel(ARCH, NAN), "non-finite value (nan) at row 0, column 0"),
    # issue 13: an empty input returned a (0, 0) kernel; the command-line tool rejects it too.
    "deep empty": (lambda: ntkit.kernel(ARCH, np.zeros((0, 3))), "analytic kernels: x has no rows"),
    "deep empty x2": (lambda: ntkit.kernel(ARCH, X, np.zeros((0, 3))), "analytic kernels: x2 has no rows"),
    # issue 13: a non-ASCII name used to cut the message inside a UTF-8 character, and Python
    # raised UnicodeDecodeError instead of the ValueError.
    "non-ASCII layer": (lambda: ntkit.kernel("Dense(8), Relü, Dense(1)", X), "unexpected character 'ü' at column 14"),
    "overflow names the layer": (lambda: ntkit.kernel("Dense(8, W_std=1e300), Relu, Dense(1)", X),
                                 "not finite after the layer Dense(8, W_std=1e+300)"),
    "deep nesting": (lambda: ntkit.kernel("Dense(4), " + "serial(" * 5000 + "Relu" + ")" * 5000, X),
                     "nested deeper than 64 levels"),
    "predict_mse -inf": (lambda: ntkit.predict_mse(np.eye(3), np.ones(3), [-math.inf]), "times must be >= 0"),
    "unknown get": (lambda: ntkit.kernel(ARCH, X, get="nnpg"), "get: unknown kernel 'nnpg'"),
    "empty get": (lambda: ntkit.kernel(ARCH, X, get=()), "get must be \"ntk\", \"nngp\" or a tuple of them"),
    "diagonal get": (lambda: ntkit.kernel_diagonal(ARCH, X, get="both"), "get: unknown kernel 'both'"),
    # feature map and linear models
    "feature degree": (lambda: ntkit.PolynomialFeatureMap(3, 0), "polynomial feature map: degree must be in [1, 64]"),
    "feature c": (lambda: ntkit.PolynomialFeatureMap(3, 2, -1.0), "c must be finite and >= 0"),
    "feature dim": (lambda: ntkit.PolynomialFeatureMap(0, 2), "polynomial feature map"),
    "feature count": (lambda: ntkit.PolynomialFeatureMap(100, 10), "use the polynomial kernel instead"),
    "feature columns": (lambda: ntkit.PolynomialFeatureMap(4, 2).transform(X), "4"),
    "primal shapes": (lambda: ntkit.FeatureSpaceRegression(np.eye(5), np.ones(4)),
                      "FeatureSpaceRegression: features have 5 rows but targets have 4"),
    "dual shapes": (lambda: ntkit.DualKernelRegression(np.eye(5), np.ones(4)), "DualKernelRegression: kernel is 5 x 5"),
    # kernel ridge
    "ridge before fit": (lambda: ntkit.KernelRidge().predict(np.eye(3)), "kernel_ridge: predict called before fit"),
    "ridge singular": (lambda: ntkit.KernelRidge().fit(np.ones((3, 3)), np.ones(3), 0.0),
                       "kernel_ridge: K + lambda*I is not positive definite"),
    "ridge negative": (lambda: ntkit.KernelRidge().fit(np.eye(3), np.ones(3), -1.0),
                       "kernel_ridge: lambda must be a finite number >= 0, got -1"),
    "ridge shapes": (lambda: ntkit.KernelRidge().fit(np.eye(3), np.ones(4), 1.0), "kernel_ridge"),
    "ridge predict shape": (lambda: ntkit.KernelRidge().fit(np.eye(3), np.ones(3), 1.0).predict(np.ones((2, 4))),
                            "kernel_ridge"),
    "cv no candidates": (lambda: ntkit.select_ridge_lambda(np.eye(5), np.ones(5), []),
                         "select_ridge_lambda: no candidate lambdas given"),
    "cv folds": (lambda: ntkit.select_ridge_lambda(np.eye(5), np.ones(5), [1.0], folds=9),
                 "select_ridge_lambda: folds must be in [2, n] = [2, 5], got 9"),
    "cv nan": (lambda: ntkit.select_ridge_lambda(np.eye(5), np.full(5, np.nan), [1.0]),
               "select_ridge_lambda: the targets contain NaN or Inf"),
    "cv all fail": (lambda: ntkit.select_ridge_lambda(-np.eye(5), np.ones(5), [0.0], folds=2), "select_ridge_lambda"),
    # two-layer network
    "net input_dim": (lambda: ntkit.TwoLayerNet(0, 3), "TwoLayerNet: input dimension d must be >= 1, got 0"),
    "net width": (lambda: ntkit.TwoLayerNet(3, 0), "TwoLayerNet: width m must be >= 1, got 0"),
    "net activation": (lambda: ntkit.TwoLayerNet(3, 3, activation="sigmoid"),
                       "unknown activation 'sigmoid'; choose one of: relu, erf, tanh, identity"),
    "net weights": (lambda: ntkit.TwoLayerNet.from_weights(np.ones((4, 3)), np.ones(5)),
                    "TwoLayerNet: a has 4 rows (neurons) but b has 5"),
    "net weights nan": (lambda: ntkit.TwoLayerNet.from_weights(np.full((4, 3), np.nan), np.ones(4)),
                        "TwoLayerNet: weights contain NaN or Inf"),
    "net b shape": (lambda: ntkit.TwoLayerNet.from_weights(np.ones((4, 3)), np.ones((4, 2))),
                    "b: expected a 1-D array of length n, got shape (4, 2)"),
    "forward columns": (lambda: ntkit.TwoLayerNet(4, 3).forward(X), "TwoLayerNet"),
    "forward nan": (lambda: ntkit.TwoLayerNet(3, 3).forward(NAN), "contains NaN or Inf"),
    "train rate": (lambda: ntkit.TwoLayerNet(3, 3).train(X, np.ones(5), learning_rate=0.0, steps=1),
                   "train_two_layer: learning rate must be a finite number > 0, got 0"),
    "train steps": (lambda: ntkit.TwoLayerNet(3, 3).train(X, np.ones(5), learning_rate=0.1, steps=-1),
                    "train_two_layer: steps must be >= 0"),
    "train record": (lambda: ntkit.TwoLayerNet(3, 3).train(X, np.ones(5), learning_rate=0.1, steps=1, record_every=0),
                     "train_two_layer: record_every must be >= 1"),
    "train targets": (lambda: ntkit.TwoLayerNet(3, 3).train(X, np.ones(4), learning_rate=0.1, steps=1), "train_two_layer"),
    "train diverges": (lambda: ntkit.TwoLayerNet(3, 64, activation="identity", seed=1).train(X * 100, np.ones(5), learning_rate=10.0, steps=20),
                       "train_two_layer: the loss diverged at step"),
    "distance shapes": (lambda: ntkit.TwoLayerNet(3, 3).parameter_distance(ntkit.TwoLayerNet(3, 4)),
                        "TwoLayerNet::parameter_distance: networks have different shapes"),
    "ntk activation": (lambda: ntkit.two_layer_ntk(X, activation="softsign"), "unknown activation 'softsign'"),
    "ntk quadrature": (lambda: ntkit.two_layer_ntk(X, activation="tanh", quadrature_degree=500),
                       "the Gauss-Hermite degree must be in [1, 200]"),
    "ntk columns": (lambda: ntkit.two_layer_ntk(X, X4), "two_layer_ntk"),
    "ntk nan": (lambda: ntkit.two_layer_ntk(NAN), "two_layer_ntk: x has a non-finite value (nan)"),
    # predictions
    "dynamics loss": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3), loss="median"),
                      "unknown loss normalization 'median'; choose sum or mean"),
    "dynamics shapes": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(4)), "KernelDynamics"),
    "dynamics nan": (lambda: ntkit.KernelDynamics(np.full((3, 3), np.nan), np.ones(3)), "KernelDynamics"),
    "dynamics time": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3)).train_at_time(-1.0),
                      "KernelDynamics: time must be >= 0 (or inf), got -1"),
    "dynamics singular": (lambda: ntkit.KernelDynamics(np.ones((3, 3)), np.ones(3)).test_at_time(math.inf, np.ones((2, 3))),
                          "KernelDynamics: t = inf needs a positive definite training kernel"),
    "dynamics test shape": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3)).test_at_time(1.0, np.ones((2, 4))),
                            "KernelDynamics: K(X*, X) has 4"),
    "dynamics steps": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3)).train_after_steps(-1, 0.1),
                       "KernelDynamics: steps must be >= 0"),
    "dynamics rate": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3)).train_after_steps(1, 0.0),
                      "KernelDynamics: learning rate must be a finite number > 0"),
    "dynamics f0": (lambda: ntkit.KernelDynamics(np.eye(3), np.ones(3)).train_at_time(1.0, np.ones(4)), "KernelDynamics"),
}


@pytest.mark.parametrize("name", CASES)
def test_error_is_a_value_error_with_the_library_message(name):
    call, message = CASES[name]
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="arch must be a str"):
        ntkit.kernel(42, X)
    with pytest.raises(TypeError):
        ntkit.classic_kernel(X, kernel=3)


@pytest.mark.parametrize("python_call, cli_args", [
    (lambda: ntkit.classic_kernel(X, kernel="rbf", gamma=-1.0), ["kernel", "--kernel", "rbf", "--gamma", "-1"]),
    (lambda: ntkit.classic_kernel(X, kernel="arccos", order=5), ["kernel", "--kernel", "arccos", "--order", "5"]),
    (lambda: ntkit.kernel("Dense(8), Rleu, Dense(1)", X), ["kernel", "--arch", "Dense(8), Rleu, Dense(1)"]),
    (lambda: ntkit.kernel("Relu, Dense(1)", X), ["kernel", "--arch", "Relu, Dense(1)"]),
])
def test_same_message_as_the_cli(python_call, cli_args, ntkit_cli, tmp_path):
    np.save(tmp_path / "x.npy", X)
    result = ntkit_cli(*cli_args, "--x1", tmp_path / "x.npy", "-o", tmp_path / "k.npy", expect_ok=False)
    assert result.returncode == 2
    with pytest.raises(ValueError) as error:
        python_call()
    assert f"ntkit: error: {error.value}" in result.stderr
