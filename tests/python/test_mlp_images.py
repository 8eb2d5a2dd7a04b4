"""Finite networks on images (N, H, W, C) and signals (N, L, C): ntkit.Mlp(arch, shape) takes
x as (n, *shape) or flattened (n, prod(shape)); Flatten first equals the flat network with the
same seed; vjp/jvp against central differences; pickling; shape errors; the Monte Carlo
kernel of a conv net against the analytic one."""
import pickle

import numpy as np
import pytest

import ntkit

SHAPE = (4, 4, 2)
CONV = "Conv(3, (2, 2), padding='SAME', W_std=1.5, b_std=0.1), Erf, Conv(2, (3, 3)), Relu, GlobalAvgPool, Dense(2)"


@pytest.fixture
def images(rng):
    return rng.standard_normal((5, *SHAPE))


def test_flatten_first_is_the_flat_network_with_the_same_seed(images):
    dense = "Dense(8, W_std=1.5, b_std=0.1), Relu, Dense(2)"
    on_images = ntkit.Mlp("Flatten, " + dense, SHAPE, seed=3)
    flat = ntkit.Mlp(dense, int(np.prod(SHAPE)), seed=3)
    assert on_images.input_shape == SHAPE and on_images.input_dim == 32 and flat.input_shape == (32,)
    np.testing.assert_array_equal(on_images.parameters, flat.parameters)
    rows = images.reshape(len(images), -1)
    np.testing.assert_allclose(on_images.forward(images), flat.forward(rows), rtol=0, atol=1e-14)
    np.testing.assert_allclose(on_images.empirical_kernel(images), flat.empirical_kernel(rows), rtol=0, atol=1e-14)


def test_conv_net_takes_images_or_flattened_rows(images):
    net = ntkit.Mlp(CONV, list(SHAPE), seed=1)
    assert net.input_shape == SHAPE and net.output_dim == 2
    out = net.forward(images)
    assert out.shape == (5, 2)
    rows = images.reshape(5, -1)
    np.testing.assert_array_equal(net(rows), out)
    g = np.ones((5, 2))
    np.testing.assert_array_equal(net.vjp(images, g), net.vjp(rows, g))
    nngp, ntk = net.empirical_kernel(images, images[:2], get=("nngp", "ntk"))
    assert nngp.shape == ntk.shape == (5, 2)
    np.testing.assert_array_equal(ntk, net.empirical_kernel(rows, rows[:2]))
    np.testing.assert_array_equal(ntkit.LinearizedMlp(net).forward(images), out)
    # 1-D signals (N, L, C)
    signals = np.linspace(-1, 1, 3 * 7 * 2).reshape(3, 7, 2)
    net1d = ntkit.Mlp("Conv(4, (3,), padding='SAME'), Relu, GlobalAvgPool, Dense(1)", (7, 2))
    assert net1d.input_shape == (7, 2) and net1d.forward(signals).shape == (3, 1)


def test_train_on_images_equals_train_on_flattened_rows(images, rng):
    y = rng.standard_normal((5, 2))
    a, b = ntkit.Mlp(CONV, SHAPE, seed=2), ntkit.Mlp(CONV, SHAPE, seed=2)
    ta = a.train(images, y, learning_rate=0.1, steps=3, x_test=images[:2])
    tb = b.train(images.reshape(5, -1), y, learning_rate=0.1, steps=3, x_test=images[:2].reshape(2, -1))
    np.testing.assert_array_equal(ta.loss, tb.loss)
    np.testing.assert_array_equal(ta.test_outputs, tb.test_outputs)
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_vjp_and_jvp_match_central_differences(images, rng):
    net = ntkit.Mlp("Conv(3, (2, 2), padding='SAME', W_std=1.5, b_std=0.1), Erf, Flatten, Dense(2)", SHAPE, seed=5)
    x = images[:3]
    w = net.parameters.copy()
    v = rng.standard_normal(net.parameter_count)
    g = rng.standard_normal((3, 2))

    def f(p):
        moved = ntkit.Mlp(net.network, SHAPE)
        moved.set_parameters(p)
        return moved.forward(x)

    h = 1e-5
    fd = (f(w + h * v) - f(w - h * v)) / (2 * h)  # central differences: error O(h²) + O(ε/h) ≈ 1e-10
    jv = net.jvp(x, v)
    np.testing.assert_allclose(jv, fd, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(net.vjp(x, g) @ v, np.sum(g * fd), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(net.vjp(x, g) @ v, np.sum(g * jv), rtol=1e-12)


def test_pickle_round_trips_the_shape(images):
    net = ntkit.Mlp(CONV, SHAPE, seed=7)
    back = pickle.loads(pickle.dumps(net))
    assert back.input_shape == SHAPE
    np.testing.assert_array_equal(back.parameters, net.parameters)
    np.testing.assert_array_equal(back.forward(images), net.forward(images))
    flat = pickle.loads(pickle.dumps(ntkit.Mlp("Dense(3), Relu, Dense(1)", 4)))
    assert flat.input_shape == (4,) and flat.input_dim == 4


@pytest.mark.parametrize("bad", [(5, 4, 4), (5, 4, 4, 1), (5, 16), (5, 2, 4, 4), (5,), (5, 4, 4, 2, 1)])
def test_a_wrong_shape_names_the_expected_one(bad):
    net = ntkit.Mlp(CONV, SHAPE)
    message = r"x: this network takes examples of shape \(4, 4, 2\): an array \(n, 4, 4, 2\) or \(n, 32\)"
    with pytest.raises(ValueError, match=message):
        net.forward(np.zeros(bad))
    with pytest.raises(ValueError, match=r"x2: this network takes examples of shape \(4, 4, 2\)"):
        net.empirical_kernel(np.zeros((2, *SHAPE)), np.zeros(bad))


def test_bad_shapes_at_construction():
    with pytest.raises(ValueError):
        ntkit.Mlp(CONV, (4, 0, 2))
    with pytest.raises(ValueError):
        ntkit.Mlp("Conv(3, (2, 2)), Flatten, Dense(1)", (4, 4, 2, 1, 1))
    with pytest.raises(TypeError):
        ntkit.Mlp(CONV, "4, 4, 2")


def test_monte_carlo_kernel_of_a_conv_net_approaches_the_analytic_one(rng):
    arch = "Conv(256, (3, 3), padding='SAME', W_std=1.5, b_std=0.1), Relu, Flatten, Dense(1, W_std=1.5)"
    x = rng.standard_normal((4, 5, 5, 1))
    nngp, ntk = ntkit.monte_carlo_kernel(arch, x, samples=8, seed=1, get=("nngp", "ntk"))
    exact_nngp, exact_ntk = ntkit.kernel(arch, x, get=("nngp", "ntk"))
    # Relative Frobenius error against the analytic kernel of 8 networks of 256 channels on these
    # x, measured over seeds 0-29: NNGP mean 1.0 %, max 2.4 %; NTK mean 1.2 %, max 2.1 % (it falls
    # as 1/√(channels · samples)). 5 % is twice the worst seed, while a shape mistake fails: the
    # flat network's kernel (Dense(256) on x.reshape(4, -1)) is 33 % off.
    assert np.linalg.norm(nngp - exact_nngp) / np.linalg.norm(exact_nngp) < 0.05
    assert np.linalg.norm(ntk - exact_ntk) / np.linalg.norm(exact_ntk) < 0.05
    np.testing.assert_allclose(ntkit.monte_carlo_kernel(arch, x, x, samples=8, seed=1), ntk, rtol=1e-12)
    with pytest.raises(ValueError, match="x2: examples of shape"):
        ntkit.monte_carlo_kernel(arch, x, x.reshape(4, -1), samples=1)
