"""End-to-end tests of `ntkit predict` against NumPy implementations of docs/mathematics.md §4 written here:
the matrix exponential by Taylor scaling and squaring (no eigendecomposition), explicit
gradient-descent loops, dense solves for t = inf and the GP posterior, and the error contract
(exit 2, one `ntkit: error:` line, nothing written)."""
import json

import numpy as np
import pytest

ARCH = "Dense(256, W_std=1.5, b_std=0.05), Relu, Dense(1)"


def expm(a):
    """exp(A) by scaling and squaring of a degree-20 Taylor series."""
    s = max(0, int(np.ceil(np.log2(max(np.linalg.norm(a, 1), 1e-300)))) + 1)
    b = a / 2.0**s
    term = np.eye(len(a))
    out = term.copy()
    for k in range(1, 21):
        term = term @ b / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3))
    xt = rng.standard_normal((6, 3))
    y = rng.standard_normal((24, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "xt.npy", xt)
    np.save(tmp_path / "y.npy", y)
    return x, xt, y


@pytest.fixture
def kernels(ntkit_ok, tmp_path, data):
    """The --kernels layout, written by `ntkit kernel --arch` as the help says."""
    (tmp_path / "K").mkdir()
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "x.npy", "--get", "both", "-o", "K/train.npy")
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--x2", "x.npy", "--get", "both", "-o", "K/test.npy")
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--get", "nngp", "-o", "K/test_test.nngp.npy")
    load = lambda name: np.load(tmp_path / "K" / name)
    return {n: load(f"{n}.npy") for n in ["train.ntk", "train.nngp", "test.ntk", "test.nngp", "test_test.nngp"]}


def test_flow_matches_matrix_exponential_and_solve(ntkit_ok, tmp_path, data, kernels):
    _, _, y = data
    ntkit_ok("predict", "--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt.npy", "--time", "0,0.01,0.2,inf", "-o", "P")
    train, test = np.load(tmp_path / "P/train.npy"), np.load(tmp_path / "P/test.npy")
    assert train.shape == (4, 24, 2) and test.shape == (4, 6, 2)
    np.testing.assert_array_equal(np.load(tmp_path / "P/times.npy"), [0, 0.01, 0.2, np.inf])
    k, ks = kernels["train.ntk"], kernels["test.ntk"]
    for i, t in enumerate([0, 0.01, 0.2]):
        e = expm(-k * t)
        np.testing.assert_allclose(train[i], y - e @ y, rtol=1e-8, atol=1e-9 * np.abs(y).max())
        expect = ks @ np.linalg.solve(k, (np.eye(24) - e) @ y)
        np.testing.assert_allclose(test[i], expect, rtol=1e-6, atol=1e-8 * np.abs(expect).max())
    np.testing.assert_allclose(train[3], y, rtol=0, atol=0)
    np.testing.assert_allclose(test[3], ks @ np.linalg.solve(k, y), rtol=1e-7)
    # The same run from the precomputed kernels gives the same numbers.
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--time", "0,0.01,0.2,inf", "-o", "Q")
    np.testing.assert_allclose(np.load(tmp_path / "Q/test.npy"), test, rtol=1e-12, atol=1e-14)
    summary = json.loads((tmp_path / "P/summary.json").read_text())
    assert summary["max_stable_learning_rate"] == pytest.approx(2 / np.linalg.eigvalsh(k)[-1], rel=1e-10)


def test_gradient_descent_and_momentum_match_explicit_loops(ntkit_ok, tmp_path, data, kernels):
    _, _, y = data
    k, ks = kernels["train.nngp"], kernels["test.nngp"]
    n_total = y.size
    lr = 0.5 * 2 * n_total / np.linalg.eigvalsh(k)[-1]  # half the stable rate for --loss mean
    for beta in [0.0, 0.8]:
        out = f"GD{beta}"
        ntkit_ok("predict", "--kernels", "K", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--get", "nngp",
                 "--loss", "mean", "--lr", lr, "--momentum", beta, "--time", "0,5,40", "-o", out)
        train, test = np.load(tmp_path / out / "train.npy"), np.load(tmp_path / out / "test.npy")
        f, ft = np.zeros_like(y), np.zeros((6, 2))
        q, qt = np.zeros_like(f), np.zeros_like(ft)
        for step in range(41):
            if step in (0, 5, 40):
                i = (0, 5, 40).index(step)
                np.testing.assert_allclose(train[i], f, rtol=1e-8, atol=1e-10)
                np.testing.assert_allclose(test[i], ft, rtol=1e-8, atol=1e-10)
            g = (f - y) / n_total  # gradient of the mean loss ½Σ(f - y)²/Y.size
            q, qt = beta * q - lr * k @ g, beta * qt - lr * ks @ g
            f, ft = f + q, ft + qt


def test_ensemble_covariances(ntkit_ok, tmp_path, data, kernels):
    _, _, y = data
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", "nngp", "--ensemble", "--time", "0,1,inf", "-o", "E")
    mean, cov = np.load(tmp_path / "E/test.npy"), np.load(tmp_path / "E/test_cov.npy")
    train_cov = np.load(tmp_path / "E/train_cov.npy")
    assert mean.shape == (3, 6, 2) and cov.shape == (3, 6, 6) and train_cov.shape == (3, 24, 24)
    k, ks, kss = kernels["train.nngp"], kernels["test.nngp"], kernels["test_test.nngp"]
    np.testing.assert_allclose(cov[0], kss, rtol=1e-12)  # t = 0: the prior
    np.testing.assert_allclose(mean[2], ks @ np.linalg.solve(k, y), rtol=1e-7)  # t = inf: the posterior
    np.testing.assert_allclose(cov[2], kss - ks @ np.linalg.solve(k, ks.T), atol=1e-8 * kss.max())
    # NNGP training at t = 1: K** - K* K⁻¹ (I - e^(-2K)) K*ᵀ.
    expect = kss - ks @ np.linalg.solve(k, (np.eye(24) - expm(-2 * k)) @ ks.T)
    np.testing.assert_allclose(cov[1], expect, atol=1e-8 * kss.max())
    for c in list(cov) + list(train_cov):
        np.testing.assert_array_equal(c, c.T)
        assert np.linalg.eigvalsh(c).min() > -1e-9 * kss.max()
    np.testing.assert_array_equal(train_cov[2], 0)


@pytest.mark.parametrize("get", ["nngp", "ntk"])
def test_ensemble_at_infinity_only_is_the_same_posterior(ntkit_ok, tmp_path, data, kernels, get):
    """--ensemble --time inf alone goes through gp_inference (one Cholesky, no eigendecomposition):
    the same outputs as the eigenbasis path, which runs when a finite time is also asked for."""
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", get, "--ensemble", "--time", "inf", "-o", "I")
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", get, "--ensemble", "--time", "1,inf", "-o", "B")
    for name in ("test", "test_cov", "train", "train_cov"):
        alone, both = np.load(tmp_path / "I" / f"{name}.npy")[0], np.load(tmp_path / "B" / f"{name}.npy")[1]
        scale = max(np.abs(both).max(), 1.0)
        np.testing.assert_allclose(alone, both, rtol=1e-9, atol=1e-10 * scale, err_msg=name)


def test_cross_entropy_moves_test_outputs_through_the_kernel(ntkit_ok, tmp_path, data, kernels):
    onehot = np.eye(3)[np.arange(24) % 3]
    np.save(tmp_path / "onehot.npy", onehot)
    ntkit_ok("predict", "--kernels", "K", "--train", "onehot.npy", "--objective", "cross-entropy", "--time", "0,0.5,2", "-o", "C")
    train, test = np.load(tmp_path / "C/train.npy"), np.load(tmp_path / "C/test.npy")
    assert train.shape == (3, 24, 3) and np.all(train[0] == 0)
    k, ks = kernels["train.ntk"], kernels["test.ntk"]
    np.testing.assert_allclose(test[2], ks @ np.linalg.solve(k, train[2]), rtol=1e-5, atol=1e-7)

    def loss(f):
        f = f - f.max(axis=1, keepdims=True)
        return -np.sum(onehot * (f - np.log(np.exp(f).sum(axis=1, keepdims=True))))

    assert loss(train[2]) < loss(train[1]) < loss(train[0])


def expect_error(ntkit, tmp_path, args, *phrases):
    result = ntkit("predict", *args, "-o", "OUT")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("ntkit: error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert not (tmp_path / "OUT").exists()


def test_bad_inputs(ntkit, tmp_path, data):
    x, xt, y = data
    np.save(tmp_path / "y_short.npy", y[:20])
    y_nan = y.copy()
    y_nan[3, 1] = np.nan
    np.save(tmp_path / "y_nan.npy", y_nan)
    np.save(tmp_path / "xt_wide.npy", np.zeros((6, 4)))
    x_dup = x.copy()
    x_dup[5] = x_dup[2]
    np.save(tmp_path / "x_dup.npy", x_dup)
    base = ["--arch", ARCH, "--test", "xt.npy"]
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y_short.npy"], "y_short.npy", "20 rows")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y_nan.npy"], "y_nan.npy", "NaN")
    expect_error(ntkit, tmp_path, ["--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt_wide.npy"], "xt_wide.npy", "columns")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y.npy", "--time", "0,-1"], "--time", "-1")
    expect_error(ntkit, tmp_path, base + ["--train", "x_dup.npy", "y.npy", "--time", "inf"], "singular", "--diag-reg")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y.npy", "--lr", "0.1", "--time", "1.5"], "whole numbers")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y.npy", "--momentum", "0.5"], "--momentum", "--lr")
    expect_error(ntkit, tmp_path, ["--train", "x.npy", "y.npy", "--test", "xt.npy"], "--arch", "--kernels")
    expect_error(ntkit, tmp_path, ["--kernels", "nowhere", "--train", "y.npy"], "train.ntk.npy", "does not exist")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y.npy", "--get", "both"], "--get", "nngp")
    expect_error(ntkit, tmp_path, base + ["--train", "x.npy", "y.npy", "--objective", "cross-entropy"], "inf")
    # A regularized kernel is fine at t = inf.
    assert ntkit("predict", *base, "--train", "x_dup.npy", "y.npy", "--time", "inf", "--diag-reg", "1e-6", "-o", "R").returncode == 0


def test_kernel_shape_mismatch_in_dir(ntkit, tmp_path, data, kernels):
    np.save(tmp_path / "K/test.ntk.npy", kernels["test.ntk"][:, :20])
    expect_error(ntkit, tmp_path, ["--kernels", "K", "--train", "y.npy"], "K(X*, X)", "6 x 20", "6 x 24")


def test_initial_outputs_and_mean_loss(ntkit_ok, tmp_path, data, kernels):
    _, _, y = data
    rng = np.random.default_rng(5)
    f0, f0t = rng.standard_normal((24, 2)), rng.standard_normal((6, 2))
    np.save(tmp_path / "f0.npy", f0)
    np.save(tmp_path / "f0t.npy", f0t)
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--f0", "f0.npy", "f0t.npy", "--loss", "mean",
             "--time", "0,30,inf", "-o", "F")
    train, test = np.load(tmp_path / "F/train.npy"), np.load(tmp_path / "F/test.npy")
    k, ks = kernels["train.ntk"], kernels["test.ntk"]
    np.testing.assert_allclose(train[0], f0, rtol=1e-12)
    np.testing.assert_allclose(test[0], f0t, rtol=1e-12)
    # 'mean' divides K by Y.size = 48: time 30 is time 30/48 of the 'sum' flow.
    e = expm(-k * 30 / 48)
    np.testing.assert_allclose(train[1], y + e @ (f0 - y), rtol=1e-8, atol=1e-10)
    expect = f0t + ks @ np.linalg.solve(k, (np.eye(24) - e) @ (y - f0))
    np.testing.assert_allclose(test[1], expect, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(test[2], f0t + ks @ np.linalg.solve(k, y - f0), rtol=1e-7)


def test_ntkgp_posterior_matches_dense_solves(ntkit_ok, tmp_path, data, kernels):
    """--get ntkgp: gp_inference's NTK-GP posterior, mean Θ* Θ⁻¹ Y and cov Θ** - Θ* Θ⁻¹ Θ*ᵀ."""
    _, _, y = data
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--get", "ntk", "-o", "K/test_test.ntk.npy")
    th, ths, thss = kernels["train.ntk"], kernels["test.ntk"], np.load(tmp_path / "K/test_test.ntk.npy")
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", "ntkgp", "--ensemble", "--time", "inf", "-o", "G")
    load = lambda name: np.load(tmp_path / "G" / name)
    mean, cov, train, train_cov = load("test.npy"), load("test_cov.npy"), load("train.npy"), load("train_cov.npy")
    assert mean.shape == (1, 6, 2) and cov.shape == (1, 6, 6) and train.shape == (1, 24, 2) and train_cov.shape == (1, 24, 24)
    np.testing.assert_allclose(mean[0], ths @ np.linalg.solve(th, y), rtol=1e-7)
    expect = thss - ths @ np.linalg.solve(th, ths.T)
    np.testing.assert_allclose(cov[0], expect, atol=1e-8 * thss.max())
    np.testing.assert_array_equal(cov[0], cov[0].T)
    assert np.linalg.eigvalsh(cov[0]).min() > -1e-9 * thss.max()
    # On the training points without diag_reg the posterior interpolates: Y, and no variance.
    np.testing.assert_allclose(train[0], y, atol=1e-7 * np.abs(y).max())
    np.testing.assert_allclose(train_cov[0], 0, atol=1e-7 * th.max())
    # Not the NTK ensemble at t = inf: the same mean, another covariance (the NNGP enters it).
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", "ntk", "--ensemble", "--time", "inf", "-o", "E")
    np.testing.assert_allclose(np.load(tmp_path / "E/test.npy")[0], mean[0], rtol=1e-10)
    assert np.abs(np.load(tmp_path / "E/test_cov.npy")[0] - cov[0]).max() > 1e-3 * thss.max()
    # From --arch: the same numbers; several 'inf' times repeat the posterior.
    ntkit_ok("predict", "--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt.npy", "--get", "ntkgp", "--ensemble",
             "--time", "inf,inf", "-o", "A")
    np.testing.assert_allclose(np.load(tmp_path / "A/test_cov.npy")[1], cov[0], rtol=1e-12, atol=1e-14 * thss.max())
    assert "max_stable_learning_rate" not in json.loads((tmp_path / "A/summary.json").read_text())


def test_ntkgp_diag_reg_is_observation_noise(ntkit_ok, tmp_path, data, kernels):
    _, _, y = data
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--get", "ntk", "-o", "K/test_test.ntk.npy")
    th, ths, thss = kernels["train.ntk"], kernels["test.ntk"], np.load(tmp_path / "K/test_test.ntk.npy")
    ntkit_ok("predict", "--kernels", "K", "--train", "y.npy", "--get", "ntkgp", "--ensemble", "--time", "inf",
             "--diag-reg", 0.1, "-o", "G")
    reg = th + 0.1 * np.trace(th) / 24 * np.eye(24)  # relative diag_reg: 0.1 · tr(Θ)/n
    np.testing.assert_allclose(np.load(tmp_path / "G/test.npy")[0], ths @ np.linalg.solve(reg, y), rtol=1e-9)
    np.testing.assert_allclose(np.load(tmp_path / "G/test_cov.npy")[0], thss - ths @ np.linalg.solve(reg, ths.T),
                               atol=1e-10 * thss.max())
    np.testing.assert_allclose(np.load(tmp_path / "G/train.npy")[0], th @ np.linalg.solve(reg, y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.load(tmp_path / "G/train_cov.npy")[0], th - th @ np.linalg.solve(reg, th),
                               atol=1e-10 * th.max())


def test_ntkgp_bad_combinations(ntkit, tmp_path, data, kernels):
    base = ["--kernels", "K", "--train", "y.npy", "--get", "ntkgp"]
    expect_error(ntkit, tmp_path, base + ["--time", "inf"], "--ensemble")
    expect_error(ntkit, tmp_path, base + ["--ensemble", "--time", "1,inf"], "--time inf")
    expect_error(ntkit, tmp_path, base + ["--ensemble", "--time", "inf", "--lr", "0.1"], "--lr")
    expect_error(ntkit, tmp_path, base + ["--ensemble", "--time", "inf", "--loss", "mean"], "--loss")
    expect_error(ntkit, tmp_path, base + ["--ensemble", "--time", "inf"], "test_test.ntk.npy", "does not exist")
    expect_error(ntkit, tmp_path, base + ["--ensemble", "--time", "inf", "--objective", "cross-entropy"], "--ensemble")
