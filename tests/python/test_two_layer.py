"""The lecture's two-layer network through Python: forward pass, empirical and infinite-width
NTK, training, linearization, against NumPy formulas (docs/mathematics.md §2-§3) and the command-line tool."""
import copy
import pickle

import numpy as np
import pytest

import ntkit
from references import two_layer_relu_ntk


@pytest.fixture
def data(rng):
    return rng.standard_normal((20, 4)), rng.standard_normal(20), rng.standard_normal((7, 4))


def numpy_forward(a, b, x):
    return np.maximum(x @ a.T, 0) @ b / np.sqrt(len(b))


def test_weights_forward_and_gradient_match_numpy(data):
    x, y, _ = data
    net = ntkit.TwoLayerNet(4, 64, seed=3)
    assert (net.input_dim, net.width, net.activation) == (4, 64, "relu")
    assert net.a.shape == (64, 4) and net.b.shape == (64,) and not net.a.flags.writeable
    np.testing.assert_allclose(net.forward(x), numpy_forward(net.a, net.b, x), rtol=1e-12)
    np.testing.assert_array_equal(net(x), net.forward(x))
    # Same seed, same weights; another seed, others.
    np.testing.assert_array_equal(ntkit.TwoLayerNet(4, 64, seed=3).a, net.a)
    assert not np.array_equal(ntkit.TwoLayerNet(4, 64, seed=4).a, net.a)
    # ∇_b L = m^(-1/2) Σ_j r_j σ(a_i·x_j), ∇_a L = m^(-1/2) b_i Σ_j r_j σ'(a_i·x_j) x_j.
    r = net.forward(x) - y
    z = x @ net.a.T
    grad_a, grad_b = net.loss_gradient(x, y)
    np.testing.assert_allclose(grad_b, np.maximum(z, 0).T @ r / 8, rtol=1e-12)
    np.testing.assert_allclose(grad_a, net.b[:, None] * ((z > 0).T * r) @ x / 8, rtol=1e-12)


def test_gradient_steps_and_training_match_a_numpy_loop(data):
    x, y, x_test = data
    net = ntkit.TwoLayerNet(4, 32, activation="relu", seed=1)
    a, b = net.a.copy(), net.b.copy()
    start = copy.copy(net)
    eta = 0.05
    trace = net.train(x, y, learning_rate=eta, steps=6, x_test=x_test, record_every=4)
    losses = []
    for step in range(7):
        out = numpy_forward(a, b, x)
        losses.append(0.5 * np.sum((out - y) ** 2))
        z = x @ a.T
        r = out - y
        grad_b = np.maximum(z, 0).T @ r / np.sqrt(32)
        grad_a = b[:, None] * ((z > 0).T * r) @ x / np.sqrt(32)
        a, b = a - eta * grad_a, b - eta * grad_b
    np.testing.assert_array_equal(trace.steps, [0, 4, 6])
    np.testing.assert_allclose(trace.loss, np.array(losses)[[0, 4, 6]], rtol=1e-10)
    assert trace.train_outputs.shape == (3, 20) and trace.test_outputs.shape == (3, 7)
    np.testing.assert_allclose(trace.test_outputs[-1], net.forward(x_test), rtol=1e-12)
    np.testing.assert_allclose(trace.weight_rel_change[-1], net.parameter_distance(start) / start.parameter_norm(),
                               rtol=1e-12)
    # The copy kept the initial weights, and the views of `net` follow training.
    assert not np.array_equal(start.a, net.a)
    one_step = copy.deepcopy(start)
    one_step.gradient_step(x, y, eta)
    assert one_step.parameter_distance(start) > 0


def test_progress_callback_and_exceptions_from_it(data):
    x, y, _ = data
    net = ntkit.TwoLayerNet(4, 16, seed=0)
    seen = []
    net.train(x, y, learning_rate=0.01, steps=5, progress=seen.append)
    assert seen == [1, 2, 3, 4, 5]

    def stop(step):
        if step == 2:
            raise KeyboardInterrupt

    before = net.a.copy()
    with pytest.raises(KeyboardInterrupt):
        net.train(x, y, learning_rate=0.01, steps=100, progress=stop)
    assert not np.array_equal(net.a, before)  # two steps were taken and kept


def test_empirical_ntk_matches_the_numpy_formula(data):
    x, _, x_test = data
    net = ntkit.TwoLayerNet(4, 50, seed=2)
    a, b = net.a, net.b
    parts = net.empirical_ntk(x, x_test)
    z1, z2 = x @ a.T, x_test @ a.T
    k_b = np.maximum(z1, 0) @ np.maximum(z2, 0).T / 50
    k_a = (x @ x_test.T) * (((z1 > 0) * b) @ ((z2 > 0) * b).T) / 50
    np.testing.assert_allclose(parts.a, k_a, rtol=1e-12)
    np.testing.assert_allclose(parts.b, k_b, rtol=1e-12)
    np.testing.assert_allclose(parts.total(), k_a + k_b, rtol=1e-12)
    sym = net.empirical_ntk(x)
    np.testing.assert_array_equal(sym.total(), sym.total().T)


def test_infinite_width_ntk_matches_the_closed_form_and_the_cli(data, tmp_path, ntkit_cli):
    x, _, x_test = data
    k_a, k_b = two_layer_relu_ntk(x, x_test)
    parts = ntkit.two_layer_ntk(x, x_test)
    np.testing.assert_allclose(parts.a, k_a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(parts.b, k_b, rtol=1e-12, atol=1e-14)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", x_test)
    for part in ["a", "b", "total"]:
        ntkit_cli("two-layer", "ntk", "--x1", tmp_path / "x.npy", "--x2", tmp_path / "t.npy", "--part", part,
                  "-o", tmp_path / "k.npy")
        expected = parts.total() if part == "total" else getattr(parts, part)
        np.testing.assert_allclose(np.load(tmp_path / "k.npy"), expected, rtol=1e-14, atol=1e-15)
    # The empirical kernel of one wide network, same seed through both.
    ntkit_cli("two-layer", "ntk", "--x1", tmp_path / "x.npy", "--width", 300, "--seed", 5, "-o", tmp_path / "km.npy")
    np.testing.assert_allclose(np.load(tmp_path / "km.npy"), ntkit.TwoLayerNet(4, 300, seed=5).empirical_ntk(x).total(),
                               rtol=1e-13, atol=1e-14)
    # Forced quadrature (the generic 2-D Gauss-Hermite rule, 100 points by default) agrees with
    # erf's closed form where Gauss-Hermite converges: ‖x‖² of order 1 (x / 3 here).
    erf = ntkit.two_layer_ntk(x / 3, x_test / 3, activation="erf")
    quadrature = ntkit.two_layer_ntk(x / 3, x_test / 3, activation="erf", force_quadrature=True)
    np.testing.assert_allclose(quadrature.total(), erf.total(), rtol=1e-9, atol=1e-12)


def test_linearized_network_is_kernel_gradient_descent(data):
    # docs/mathematics.md §3: on the training set the linearized model follows u(s) = (I - ηK_m(w0))^s u(0).
    x, y, _ = data
    net = ntkit.TwoLayerNet(4, 40, seed=7)
    lin = ntkit.LinearizedTwoLayerNet(net)
    k = net.empirical_ntk(x).total()
    eta = 0.5 / np.linalg.eigvalsh(k)[-1]
    u = net.forward(x) - y
    for _ in range(5):
        lin.gradient_step(x, y, eta)
        u = u - eta * k @ u
    np.testing.assert_allclose(lin.forward(x) - y, u, rtol=1e-8, atol=1e-10)
    assert lin.displacement_norm() > 0
    np.testing.assert_array_equal(lin.initial.a, net.a)


def test_weights_in_and_out(data):
    x, _, _ = data
    net = ntkit.TwoLayerNet(4, 8, activation="erf", seed=9)
    same = ntkit.TwoLayerNet.from_weights(net.a, net.b, activation="erf")
    np.testing.assert_array_equal(same.forward(x), net.forward(x))
    restored = pickle.loads(pickle.dumps(net))
    assert restored.activation == "erf"
    np.testing.assert_array_equal(restored.forward(x), net.forward(x))


def test_any_catalogue_activation(data):
    # Beyond the lecture's four names, any activation of the network text: the finite network
    # trains and pickles with it, and its infinite-width NTK is the general engine's for
    # Dense(m, W_std=√d), σ, Dense(1).
    x, y, x_test = data
    net = ntkit.TwoLayerNet(4, 16, activation="LeakyRelu(0.2)", seed=3)
    assert net.activation == "LeakyRelu(alpha=0.2)"
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.forward(x), net.forward(x))
    parts = ntkit.two_layer_ntk(x, x_test, activation="Gelu")
    general = ntkit.kernel("Dense(1024, W_std=2), Gelu, Dense(1)", x, x_test, get="ntk")
    np.testing.assert_allclose(parts.total(), general, rtol=1e-13, atol=1e-14)
