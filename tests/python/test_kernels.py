"""Kernel numbers through Python against independent NumPy references and against the
command-line tool on the same .npy files."""
import numpy as np
import pytest

import ntkit
from references import arccos_kernel, deep_kernels, rbf_kernel

ARCH = "Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(512, W_std=1.5, b_std=0.05), Erf, Dense(1, W_std=1.5, b_std=0.05)"
ARCH_LAYERS = [("dense", 1.5, 0.05), ("relu",), ("dense", 1.5, 0.05), ("erf",), ("dense", 1.5, 0.05)]


@pytest.fixture
def data(rng):
    return rng.standard_normal((30, 5)), rng.standard_normal((17, 5))


@pytest.mark.parametrize("kernel, params, reference", [
    ("linear", {}, lambda a, b: a @ b.T),
    ("polynomial", {"degree": 3, "c": 0.5}, lambda a, b: (0.5 + a @ b.T) ** 3),
    ("rbf", {"gamma": 0.3}, lambda a, b: rbf_kernel(a, b, 0.3)),
    ("rbf", {}, lambda a, b: rbf_kernel(a, b, 1 / 5)),  # gamma=None: 1/d
    ("arccos", {"order": 0}, lambda a, b: arccos_kernel(a, b, 0)),
    ("arccos", {"order": 1}, lambda a, b: arccos_kernel(a, b, 1)),
    ("arccos", {"order": 2}, lambda a, b: arccos_kernel(a, b, 2)),
])
def test_classic_kernels_match_numpy(data, kernel, params, reference):
    x1, x2 = data
    np.testing.assert_allclose(ntkit.classic_kernel(x1, x2, kernel=kernel, **params), reference(x1, x2),
                               rtol=1e-10, atol=1e-10)
    k = ntkit.classic_kernel(x1, kernel=kernel, **params)
    np.testing.assert_allclose(k, reference(x1, x1), rtol=1e-10, atol=1e-7)  # arccos 0 at θ≈0: README 1e-8
    np.testing.assert_array_equal(k, k.T)
    # The diagonal sums x·x in its own order: equal up to rounding.
    np.testing.assert_allclose(ntkit.classic_kernel_diagonal(x1, kernel=kernel, **params), np.diag(k), rtol=1e-14)


def test_deep_kernels_match_the_numpy_recursion(data):
    x1, x2 = data
    nngp_ref, ntk_ref = deep_kernels(ARCH_LAYERS, x1, x2)
    nngp, ntk = ntkit.kernel(ARCH, x1, x2, get=("nngp", "ntk"))
    np.testing.assert_allclose(nngp, nngp_ref, rtol=1e-10)
    np.testing.assert_allclose(ntk, ntk_ref, rtol=1e-10)
    # One kernel, the other order, and the symmetric form.
    np.testing.assert_array_equal(ntkit.kernel(ARCH, x1, x2), ntk)
    ntk_again, nngp_again = ntkit.kernel(ARCH, x1, x2, get=["ntk", "nngp"])
    np.testing.assert_array_equal(ntk_again, ntk)
    np.testing.assert_array_equal(nngp_again, nngp)
    k = ntkit.kernel(ARCH, x1, get="nngp")
    np.testing.assert_allclose(k, deep_kernels(ARCH_LAYERS, x1, x1)[0], rtol=1e-10)
    np.testing.assert_array_equal(k, k.T)


def test_network_objects_and_diagonals(data):
    x1, _ = data
    net = ntkit.Network(ARCH.lower())  # case-insensitive
    assert net == ntkit.parse_network(str(net)) and str(net) == ARCH
    assert repr(net) == f"Network('{ARCH}')"
    import pickle
    assert pickle.loads(pickle.dumps(net)) == net
    np.testing.assert_array_equal(ntkit.kernel(net, x1), ntkit.kernel(ARCH, x1))
    nngp, ntk = ntkit.kernel(net, x1, get=("nngp", "ntk"))
    diag_nngp, diag_ntk = ntkit.kernel_diagonal(net, x1, get=("nngp", "ntk"))
    np.testing.assert_allclose(diag_nngp, np.diag(nngp), rtol=1e-13)
    np.testing.assert_allclose(diag_ntk, np.diag(ntk), rtol=1e-13)
    assert ntkit.kernel_diagonal(net, x1).shape == (30,)


def test_python_and_the_cli_give_the_same_numbers(data, tmp_path, ntkit_cli):
    # The same library behind both, on the same float64 inputs: equal to the last bit.
    x1, x2 = data
    np.save(tmp_path / "a.npy", x1)
    np.save(tmp_path / "b.npy", x2)
    ntkit_cli("kernel", "--arch", ARCH, "--x1", tmp_path / "a.npy", "--x2", tmp_path / "b.npy", "--get", "both",
              "-o", tmp_path / "k.npy")
    nngp, ntk = ntkit.kernel(ARCH, x1, x2, get=("nngp", "ntk"))
    np.testing.assert_array_equal(np.load(tmp_path / "k.nngp.npy"), nngp)
    np.testing.assert_array_equal(np.load(tmp_path / "k.ntk.npy"), ntk)

    ntkit_cli("kernel", "--arch", ARCH, "--x1", tmp_path / "a.npy", "-o", tmp_path / "ks.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "ks.npy"), ntkit.kernel(ARCH, x1))

    for args, params in [(["--kernel", "rbf"], {"kernel": "rbf"}),
                         (["--kernel", "polynomial", "--degree", "3", "--c", "2"], {"kernel": "polynomial", "degree": 3, "c": 2.0}),
                         (["--kernel", "arccos", "--order", "2"], {"kernel": "arccos", "order": 2})]:
        ntkit_cli("kernel", *args, "--x1", tmp_path / "a.npy", "--x2", tmp_path / "b.npy", "-o", tmp_path / "c.npy")
        np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), ntkit.classic_kernel(x1, x2, **params))
        ntkit_cli("kernel", *args, "--x1", tmp_path / "a.npy", "--dtype", "float32", "-o", tmp_path / "c32.npy")
        np.testing.assert_array_equal(np.load(tmp_path / "c32.npy"),
                                      ntkit.classic_kernel(x1.astype(np.float32), **params))

    ntkit_cli("features", "--map", "polynomial", "--degree", "2", "--c", "1", "--x", tmp_path / "a.npy",
              "-o", tmp_path / "phi.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "phi.npy"), ntkit.PolynomialFeatureMap(5, 2, 1.0).transform(x1))
