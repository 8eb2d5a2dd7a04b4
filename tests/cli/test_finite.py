"""End-to-end tests of `ntkit empirical` and `ntkit train` (finite deep networks), against
NumPy implementations of the same tiny networks written here (explicit Jacobians, hand-written
gradient descent), and every bad input with its exit status, message and no output left behind."""
import json

import numpy as np
import pytest

ARCH = "Dense(5, W_std=1.5, b_std=0.1), Relu, Dense(2, W_std=0.8, b_std=0.2)"
D = 3


def unpack(params):
    """ARCH's parameters in ntkit's order: per Dense, W (out x in, row-major), then b."""
    w1 = params[:15].reshape(5, 3)
    b1 = params[15:20]
    w2 = params[20:30].reshape(2, 5)
    b2 = params[30:32]
    assert params.size == 32
    return w1, b1, w2, b2


def forward(params, x):
    """ARCH under the 'ntk' parameterization (docs/mathematics.md §5): z = (W_std/√n_in) W h + b_std b."""
    w1, b1, w2, b2 = unpack(params)
    z1 = 1.5 / np.sqrt(3) * x @ w1.T + 0.1 * b1
    h = np.maximum(z1, 0)
    return 0.8 / np.sqrt(5) * h @ w2.T + 0.2 * b2, z1, h


def jacobian(params, x):
    """Explicit Jacobian, shape (n, O, P), by the chain rule written out per parameter group."""
    w1, _, w2, _ = unpack(params)
    _, z1, h = forward(params, x)
    n = x.shape[0]
    jac = np.zeros((n, 2, 32))
    a2 = 0.8 / np.sqrt(5)
    a1 = 1.5 / np.sqrt(3)
    for o in range(2):
        back = a2 * w2[o] * (z1 > 0)  # ∂f_o/∂z1, n x 5
        jac[:, o, :15] = (back[:, :, None] * a1 * x[:, None, :]).reshape(n, 15)
        jac[:, o, 15:20] = back * 0.1
        jac[:, o, 20 + 5 * o:25 + 5 * o] = a2 * h
        jac[:, o, 30 + o] = 0.2
    return jac


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(1)
    x1 = rng.standard_normal((4, D))
    x2 = rng.standard_normal((3, D))
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    return x1, x2


def test_empirical_kernels_match_numpy_jacobians(ntkit_ok, tmp_path, data):
    x1, x2 = data
    ntkit_ok("empirical", "--arch", ARCH, "--x1", "x1.npy", "--x2", "x2.npy", "--get", "both",
             "--params-out", "p.npy", "--seed", 4, "-o", "K.npy")
    params = np.load(tmp_path / "p.npy")
    j1, j2 = jacobian(params, x1), jacobian(params, x2)
    full = np.einsum("iap,jbp->iajb", j1, j2)  # (n1, O, n2, O)
    traced = np.einsum("iaja->ij", full) / 2
    np.testing.assert_allclose(np.load(tmp_path / "K.ntk.npy"), traced, rtol=1e-12, atol=1e-12)
    # NNGP: the readout expectation W_std² h·h'/n_in + b_std².
    _, _, h1 = forward(params, x1)
    _, _, h2 = forward(params, x2)
    np.testing.assert_allclose(np.load(tmp_path / "K.nngp.npy"), 0.64 / 5 * h1 @ h2.T + 0.04, rtol=1e-12, atol=1e-12)
    # Every logit pair: row i·O + o.
    ntkit_ok("empirical", "--arch", ARCH, "--x1", "x1.npy", "--x2", "x2.npy", "--full-logits", "--seed", 4,
             "-o", "full.npy")
    np.testing.assert_allclose(np.load(tmp_path / "full.npy"), full.reshape(8, 6), rtol=1e-12, atol=1e-12)
    # K(X, X): exactly symmetric, and the same seed gives the same network.
    ntkit_ok("empirical", "--arch", ARCH, "--x1", "x1.npy", "--seed", 4, "-o", "K11.csv")
    k11 = np.loadtxt(tmp_path / "K11.csv", delimiter=",")
    assert np.array_equal(k11, k11.T)
    np.testing.assert_allclose(k11, np.einsum("iap,jap->ij", j1, j1) / 2, rtol=1e-12, atol=1e-12)


def test_monte_carlo_kernels_approach_the_analytic_ones(ntkit_ok, tmp_path, data):
    arch = "Dense(512, W_std=1.5, b_std=0.1), Erf, Residual(Dense(512, b_std=0.1), Relu), Dense(1)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "x1.npy", "--get", "both", "-o", "A.npy")
    ntkit_ok("empirical", "--arch", arch, "--x1", "x1.npy", "--get", "both", "--samples", 16, "-o", "M.npy")
    for kind in ["nngp", "ntk"]:
        exact = np.load(tmp_path / f"A.{kind}.npy")
        mc = np.load(tmp_path / f"M.{kind}.npy")
        assert np.linalg.norm(mc - exact) / np.linalg.norm(exact) < 0.05, kind


def gd_numpy(params, x, y, lr, steps):
    """Gradient descent on ½Σ(f − y)² with the explicit Jacobian: w ← w − η Jᵀ(f − y)."""
    outputs, losses = [], []
    for step in range(steps + 1):
        f, _, _ = forward(params, x)
        outputs.append(f)
        losses.append(0.5 * np.sum((f - y) ** 2))
        if step < steps:
            params = params - lr * np.einsum("iap,ia->p", jacobian(params, x), f - y)
    return params, np.array(outputs), np.array(losses)


def test_train_matches_numpy_gradient_descent(ntkit_ok, tmp_path, data):
    x1, x2 = data
    y = np.random.default_rng(2).standard_normal((4, 2))
    np.save(tmp_path / "y.npy", y)
    ntkit_ok("train", "--arch", ARCH, "--train", "x1.npy", "y.npy", "--test", "x2.npy", "--lr", 0.1,
             "--steps", 5, "--loss", "mse-sum", "--record-every", 1, "--seed", 7, "--out", "run")
    run = tmp_path / "run"
    p0 = np.load(run / "params_initial.npy")
    p_end, outputs, losses = gd_numpy(p0, x1, y, 0.1, 5)
    np.testing.assert_allclose(np.load(run / "params_final.npy"), p_end, rtol=1e-11, atol=1e-12)
    train_outputs = np.load(run / "train_outputs.npy")
    assert train_outputs.shape == (6, 4, 2)  # (records, n, O)
    np.testing.assert_allclose(train_outputs, outputs, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.load(run / "loss.npy"), losses, rtol=1e-11)
    assert np.array_equal(np.load(run / "steps.npy"), np.arange(6.0))
    test_outputs = np.load(run / "test_outputs.npy")
    assert test_outputs.shape == (6, 3, 2)
    np.testing.assert_allclose(test_outputs[-1], forward(p_end, x2)[0], rtol=1e-11, atol=1e-12)
    change = np.load(run / "weight_rel_change.npy")
    np.testing.assert_allclose(change[-1], np.linalg.norm(p_end - p0) / np.linalg.norm(p0), rtol=1e-10)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 5 and summary["outputs"] == 2 and summary["parameters"] == 32
    assert summary["dense_parameters"][1] == {"in": 5, "out": 2, "weight_offset": 20, "bias_offset": 30}
    drift = np.load(run / "kernel_rel_drift.npy")
    assert drift[0] == 0 and drift[-1] > 0


def test_linearized_training_is_kernel_gradient_descent(ntkit_ok, tmp_path, data):
    """f after s steps = y + (I − ηΘ)^s (f0 − y) with the full per-logit kernel of the initial network."""
    x1, _ = data
    y = np.random.default_rng(3).standard_normal((4, 2))
    np.save(tmp_path / "y.npy", y)
    ntkit_ok("train", "--arch", ARCH, "--train", "x1.npy", "y.npy", "--lr", 0.05, "--steps", 8, "--loss",
             "mse-sum", "--record-every", 4, "--linearize", "--seed", 7, "--out", "lin")
    p0 = np.load(tmp_path / "lin" / "params_initial.npy")
    jac = jacobian(p0, x1).reshape(8, 32)
    theta = jac @ jac.T
    f0 = forward(p0, x1)[0].reshape(8)
    outputs = np.load(tmp_path / "lin" / "train_outputs.npy")
    for r, s in enumerate([0, 4, 8]):
        expect = y.reshape(8) + np.linalg.matrix_power(np.eye(8) - 0.05 * theta, s) @ (f0 - y.reshape(8))
        np.testing.assert_allclose(outputs[r].reshape(8), expect, rtol=1e-10, atol=1e-12)
    assert np.all(np.load(tmp_path / "lin" / "kernel_rel_drift.npy") == 0)


def test_cross_entropy_with_labels_and_minibatches(ntkit_ok, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 2))
    labels = (x[:, 0] > 0).astype(np.int64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "labels.npy", labels)
    result = ntkit_ok("train", "--arch", "Dense(32, b_std=0.1), Relu, Dense(2)", "--train", "x.npy", "labels.npy",
                      "--loss", "cross-entropy", "--optimizer", "momentum", "--batch-size", 10, "--lr", 0.3,
                      "--steps", 120, "--record-every", 40, "--no-kernel-drift", "--out", "ce")
    assert "loss" in result.stdout
    loss = np.load(tmp_path / "ce" / "loss.npy")
    assert loss[-1] < 0.3 * loss[0]
    assert not (tmp_path / "ce" / "kernel_rel_drift.npy").exists()
    logits = np.load(tmp_path / "ce" / "train_outputs.npy")[-1]
    assert np.mean(logits.argmax(axis=1) == labels) >= 0.9


def outputs_in(path):
    return sorted(p.name for p in path.iterdir())


BAD_EMPIRICAL = [
    (["--arch", "Dense(4), Rleu, Dense(1)", "--x1", "x1.npy", "-o", "K.npy"], "Relu"),
    (["--arch", "Dense(4), Relu", "--x1", "x1.npy", "--x2", "bad_cols.npy", "-o", "K.npy"], "columns"),
    (["--arch", "Dense(4)", "--x1", "x1.npy", "--get", "kernel", "-o", "K.npy"], "--get"),
    (["--arch", "Dense(4)", "--x1", "x1.npy", "--samples", "0", "-o", "K.npy"], "--samples"),
    (["--arch", "Dense(4)", "--x1", "x1.npy", "-o", "K.png"], "extension"),
    (["--arch", "Dense(4)", "--x1", "x1.npy", "-o", "missing/K.npy"], "does not exist"),
    (["--arch", "Dense(4)", "--x1", "nan.npy", "-o", "K.npy"], "nan.npy"),
    (["--arch", "Dense(4)", "--x1", "absent.npy", "-o", "K.npy"], "absent.npy"),
    (["--arch", "Dense(4)", "--x1", "x1.npy", "--samples", "2", "--params-out", "p.npy", "-o", "K.npy"], "--params-out"),
    (["--arch", "Dense(4), Residual(Relu, Dense(3)), Dense(1)", "--x1", "x1.npy", "-o", "K.npy"], "FanInSum"),
    (["--arch", "Relu, Dense(1)", "--x1", "x1.npy", "-o", "K.npy"], "missing Dense"),
]


@pytest.mark.parametrize("args,needle", BAD_EMPIRICAL)
def test_empirical_errors(ntkit, tmp_path, data, args, needle):
    np.save(tmp_path / "bad_cols.npy", np.ones((2, D + 1)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan, 0.0]]))
    before = outputs_in(tmp_path)
    result = ntkit("empirical", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("ntkit: error: "), result.stderr
    assert needle in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3  # one line (parse errors add the text and a caret)
    assert outputs_in(tmp_path) == before


@pytest.fixture
def train_data(tmp_path, data):
    x1, _ = data
    np.save(tmp_path / "y.npy", np.ones((4, 1)))
    np.save(tmp_path / "y2.npy", np.ones((4, 2)))
    np.save(tmp_path / "y_short.npy", np.ones((3, 1)))
    np.save(tmp_path / "labels_bad.npy", np.array([0, 1, 2, 1]))
    np.save(tmp_path / "xt_bad.npy", np.ones((2, D + 2)))


NET1 = "Dense(8), Relu, Dense(1)"
NET2 = "Dense(8), Relu, Dense(2)"
BAD_TRAIN = [
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0", "--steps", "3"], "--lr"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "-1"], "--steps"),
    (["--arch", NET1, "--train", "x1.npy", "y_short.npy", "--lr", "0.1", "--steps", "3"], "one target row per input"),
    (["--arch", NET1, "--train", "x1.npy", "y2.npy", "--lr", "0.1", "--steps", "3"], "outputs"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--test", "xt_bad.npy", "--lr", "0.1", "--steps", "3"], "columns"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--loss", "hinge"], "unknown loss"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--optimizer", "adam"],
     "unknown optimizer"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--batch-size", "2"], "--batch-size"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--momentum", "1.5"], "--momentum"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--record-every", "0"],
     "--record-every"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3", "--loss", "cross-entropy"],
     "at least 2 outputs"),
    (["--arch", NET2, "--train", "x1.npy", "labels_bad.npy", "--lr", "0.1", "--steps", "3", "--loss", "cross-entropy"],
     "class label"),
    (["--arch", NET1, "--train", "x1.npy", "y.npy", "--lr", "1e8", "--steps", "50", "--loss", "mse-sum"], "diverged"),
    (["--arch", "Dense(8), Rleu", "--train", "x1.npy", "y.npy", "--lr", "0.1", "--steps", "3"], "Relu"),
]


@pytest.mark.parametrize("args,needle", BAD_TRAIN)
def test_train_errors(ntkit, tmp_path, train_data, args, needle):
    before = outputs_in(tmp_path)
    result = ntkit("train", *args, "--out", "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("ntkit: error: ") or \
        result.stderr.startswith("ntkit: error: "), result.stderr
    assert needle in result.stderr, result.stderr
    assert outputs_in(tmp_path) == before  # no output directory, nothing written
