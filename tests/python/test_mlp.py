"""Finite deep networks through Python: the forward pass against NumPy with the documented
parameter layout, the empirical NTK against a finite-difference Jacobian, the Monte Carlo
average against the infinite-width kernel, linearized training against kernel gradient
descent, and the command-line tool on the same inputs."""
import pickle

import numpy as np
import pytest

import ntkit

ARCH = "Dense(16, W_std=1.5, b_std=0.1), Relu, Dense(2, W_std=1.5, b_std=0.1)"


def numpy_forward(net, x):
    # 'ntk' parameterization: z = (W_std/√n_in) W h + b_std b (mlp.hpp), W_std = 1.5, b_std = 0.1.
    h = x
    layers = net.dense_parameters()
    for i, layer in enumerate(layers):
        w = net.parameters[layer["weight_offset"]:layer["weight_offset"] + layer["in_dim"] * layer["out_dim"]]
        b = net.parameters[layer["bias_offset"]:layer["bias_offset"] + layer["out_dim"]]
        h = 1.5 / np.sqrt(layer["in_dim"]) * h @ w.reshape(layer["out_dim"], layer["in_dim"]).T + 0.1 * b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


@pytest.fixture
def x(rng):
    return rng.standard_normal((6, 3))


def test_forward_matches_numpy_and_the_seed_fixes_the_network(x):
    net = ntkit.Mlp(ARCH, 3, seed=4)
    assert (net.input_dim, net.output_dim, net.parameter_count) == (3, 2, 16 * 3 + 16 + 2 * 16 + 2)
    assert str(net.network) == ARCH and not net.parameters.flags.writeable
    np.testing.assert_allclose(net.forward(x), numpy_forward(net, x), rtol=1e-12)
    np.testing.assert_array_equal(net(x), net.forward(x))
    np.testing.assert_array_equal(ntkit.Mlp(ARCH, 3, seed=4).parameters, net.parameters)
    assert not np.array_equal(ntkit.Mlp(ARCH, 3, seed=5).parameters, net.parameters)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.forward(x), net.forward(x))


def test_empirical_ntk_is_the_jacobian_gram(x):
    net = ntkit.Mlp(ARCH, 3, seed=1)
    w0 = net.parameters.copy()
    # Central differences of the forward pass: J[i, o, p] = ∂f_o(x_i)/∂w_p.
    eps = 1e-6
    jac = np.empty((6, 2, len(w0)))
    for p in range(len(w0)):
        step = np.zeros_like(w0)
        step[p] = eps
        net.set_parameters(w0 + step)
        plus = net.forward(x)
        net.set_parameters(w0 - step)
        jac[:, :, p] = (plus - net.forward(x)) / (2 * eps)
    net.set_parameters(w0)
    full = np.einsum("iop,jqp->iojq", jac, jac).reshape(12, 12)
    np.testing.assert_allclose(net.empirical_kernel(x, full_logits=True), full, rtol=1e-6, atol=1e-8)
    averaged = np.einsum("iop,jop->ij", jac, jac) / 2  # the mean over the 2 logits
    np.testing.assert_allclose(net.empirical_kernel(x), averaged, rtol=1e-6, atol=1e-8)
    # vjp and jvp are Jᵀg and Jv.
    g = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(net.vjp(x, g), np.einsum("iop,io->p", jac, g), rtol=1e-6, atol=1e-8)
    v = np.linspace(-1, 1, len(w0))
    np.testing.assert_allclose(net.jvp(x, v), jac @ v, rtol=1e-6, atol=1e-8)


def test_monte_carlo_average_approaches_the_infinite_width_kernel(x):
    wide = "Dense(1024, W_std=1.5, b_std=0.1), Relu, Dense(1, W_std=1.5, b_std=0.1)"
    exact_nngp, exact_ntk = ntkit.kernel(wide, x, get=("nngp", "ntk"))
    nngp, ntk = ntkit.monte_carlo_kernel(wide, x, samples=20, seed=3, get=("nngp", "ntk"))
    # 20 networks of width 1024: a few percent (docs/mathematics.md §5's Monte Carlo tolerance).
    assert np.linalg.norm(ntk - exact_ntk) / np.linalg.norm(exact_ntk) < 0.05
    assert np.linalg.norm(nngp - exact_nngp) / np.linalg.norm(exact_nngp) < 0.05
    # Sample 0 of the run is a network of its own: one sample = that network's kernel.
    one = ntkit.monte_carlo_kernel(wide, x, samples=1, seed=3)
    assert one.shape == (6, 6) and not np.allclose(one, ntk)


def test_linearized_training_is_kernel_gradient_descent(x, rng):
    net = ntkit.Mlp("Dense(32), Erf, Dense(1)", 3, seed=2)
    y = rng.standard_normal((6, 1))
    theta = net.empirical_kernel(x)
    eta = 0.5 / np.linalg.eigvalsh(theta)[-1]
    lin = ntkit.LinearizedMlp(net)
    trace = lin.train(x, y, learning_rate=eta, steps=8, loss="mse-sum", record_every=4)
    u = net.forward(x) - y
    for _ in range(8):
        u = u - eta * theta @ u
    np.testing.assert_allclose(lin.forward(x) - y, u, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(trace.steps, [0, 4, 8])
    assert trace.train_outputs.shape == (3, 6, 1)
    np.testing.assert_allclose(trace.loss[-1], 0.5 * np.sum(u**2), rtol=1e-8)
    # The network itself trains too and moves away from its start.
    start = net.parameters.copy()
    seen = []
    real = net.train(x, y, learning_rate=eta, steps=5, x_test=x[:2], progress=seen.append)
    assert seen == [1, 2, 3, 4, 5] and real.test_outputs.shape == (6, 2, 1)
    assert real.weight_rel_change[-1] > 0 and not np.array_equal(net.parameters, start)
    assert real.loss[-1] < real.loss[0]


def test_same_numbers_as_the_cli(x, tmp_path, ntkit_cli):
    np.save(tmp_path / "x.npy", x)
    ntkit_cli("empirical", "--arch", ARCH, "--x1", tmp_path / "x.npy", "--get", "both", "--samples", 3, "--seed", 7,
              "-o", tmp_path / "k.npy")
    nngp, ntk = ntkit.monte_carlo_kernel(ARCH, x, samples=3, seed=7, get=("nngp", "ntk"))
    np.testing.assert_allclose(np.load(tmp_path / "k.ntk.npy"), ntk, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.load(tmp_path / "k.nngp.npy"), nngp, rtol=1e-13, atol=1e-15)
    ntkit_cli("empirical", "--arch", ARCH, "--x1", tmp_path / "x.npy", "--seed", 7, "--params-out", tmp_path / "p.npy",
              "-o", tmp_path / "k1.npy")
    params = np.load(tmp_path / "p.npy").ravel()
    net = ntkit.Mlp(ARCH, 3)
    net.set_parameters(params)
    np.testing.assert_allclose(np.load(tmp_path / "k1.npy"), net.empirical_kernel(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("call, message", [
    (lambda: ntkit.Mlp("Dense(4), Rleu, Dense(1)", 3), "did you mean 'Relu'?"),
    (lambda: ntkit.Mlp(ARCH, 0), "Mlp: input dimension must be >= 1, got 0"),
    (lambda: ntkit.Mlp(ARCH, 3).set_parameters(np.ones(5)), "Mlp"),
    (lambda: ntkit.Mlp(ARCH, 3).forward(np.ones((2, 4))), "Mlp"),
    (lambda: ntkit.Mlp(ARCH, 3).empirical_kernel(np.ones((2, 3)), np.ones((2, 4))), "columns"),
    (lambda: ntkit.Mlp(ARCH, 3).train(np.ones((2, 3)), np.ones((2, 2)), learning_rate=0.1, steps=1, optimizer="adam"),
     "adam"),
    (lambda: ntkit.Mlp(ARCH, 3).train(np.ones((2, 3)), np.ones((2, 2)), learning_rate=0.1, steps=1, loss="hinge"),
     "hinge"),
    (lambda: ntkit.Mlp(ARCH, 3).train(np.ones((2, 3)), np.ones((2, 2)), learning_rate=-1.0, steps=1), "learning"),
    (lambda: ntkit.monte_carlo_kernel(ARCH, np.ones((2, 3)), samples=0), "samples"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
