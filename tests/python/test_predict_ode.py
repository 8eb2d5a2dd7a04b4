"""ntkit.predict_ode (cross-entropy and squared-loss training in function space) and
ntkit.kernel_to_npy (kernels written out of core to .npy): against closed forms, an independent
ODE integration, `ntkit predict --objective cross-entropy` and `ntkit kernel -o K.npy`."""
import math
import os

import numpy as np
import pytest

import ntkit

ARCH = "Dense(16, W_std=1.5, b_std=0.1), Relu, Dense(1)"


@pytest.fixture
def problem(rng):
    x, x_test = rng.standard_normal((10, 3)), rng.standard_normal((4, 3))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    y = np.eye(3)[labels]  # one-hot, 3 classes
    k = ntkit.kernel(ARCH, x)
    k_test = ntkit.kernel(ARCH, x_test, x)
    return x, y, x_test, k, k_test


def rk4_reference(k, k_test, y, t_end, steps=20000, loss="cross-entropy", scale=1.0):
    """Plain fixed-step RK4 of df/dt = -scale·[K; K_*] ∇L(f(X)), f(0) = 0: an independent reference."""
    kk = scale * np.vstack([k, k_test])
    n = k.shape[0]

    def grad(f):
        if loss == "mse":
            return f - y
        e = np.exp(f - f.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True) * y.sum(axis=1, keepdims=True) - y

    def rhs(state):
        return -kk @ grad(state[:n])

    state = np.zeros((kk.shape[0], y.shape[1]))
    h = t_end / steps
    for _ in range(steps):
        a = rhs(state)
        b = rhs(state + h / 2 * a)
        c = rhs(state + h / 2 * b)
        d = rhs(state + h * c)
        state = state + h / 6 * (a + 2 * b + 2 * c + d)
    return state[:n], state[n:]


def test_cross_entropy_matches_an_independent_integration(problem):
    _, y, _, k, k_test = problem
    train, test = ntkit.predict_ode(k, y, [0.0, 2.0], k_test)
    assert train.shape == (2, 10, 3) and test.shape == (2, 4, 3)
    np.testing.assert_array_equal(train[0], 0)
    ref_train, ref_test = rk4_reference(k, k_test, y, 2.0, steps=4000)
    np.testing.assert_allclose(train[1], ref_train, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(test[1], ref_test, rtol=1e-6, atol=1e-7)
    # Training on cross-entropy moves every training point toward its label.
    assert np.all(np.argmax(train[1], axis=1) == np.argmax(y, axis=1))


def test_mse_objective_is_the_closed_form_gradient_flow(problem):
    _, y, _, k, k_test = problem
    times = [3.0, 0.0, 0.5]  # any order: answered in the order given
    train, test = ntkit.predict_ode(k, y, times, k_test, objective="mse", rtol=1e-10, atol=1e-12)
    dynamics = ntkit.KernelDynamics(k, y)
    for i, t in enumerate(times):
        np.testing.assert_allclose(train[i], dynamics.train_at_time(t), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(test[i], dynamics.test_at_time(t, k_test), rtol=1e-7, atol=1e-8)
    # loss="mean" divides the kernel by y.size: the same as time scaled by 1/y.size.
    mean, _ = ntkit.predict_ode(k, y, [3.0 * y.size], objective="mse", loss="mean", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean[0], train[0], rtol=1e-6, atol=1e-8)


def test_vector_targets_learning_rate_and_initial_outputs(problem, rng):
    _, y, _, k, _ = problem
    target = y[:, 0]
    f0 = rng.standard_normal(10)
    out, test = ntkit.predict_ode(k, target, [0.0, 1.0], objective="mse", f0_train=f0, learning_rate=0.5)
    assert out.shape == (2, 10) and test is None
    np.testing.assert_allclose(out[0], f0)
    # Time is in units of the learning rate: t = 1 at η = 0.5 is absolute time 0.5.
    expected = ntkit.KernelDynamics(k, target).train_at_time(0.5, f0)
    np.testing.assert_allclose(out[1], expected, rtol=1e-6, atol=1e-8)


def test_momentum_reduces_to_the_heavy_ball_ode(problem):
    _, y, _, k, _ = problem
    # With momentum the state also carries a velocity; at tiny times f ≈ -½ K ∇L(0) τ² (f'(0) = 0),
    # in absolute time τ = √η t.
    lr, t = 0.25, 1e-3
    out, _ = ntkit.predict_ode(k, y, [t], momentum=0.9, learning_rate=lr, rtol=1e-12, atol=1e-16)
    grad0 = np.full_like(y, 1.0 / 3) * y.sum(axis=1, keepdims=True) - y
    tau = math.sqrt(lr) * t
    np.testing.assert_allclose(out[0], -0.5 * k @ grad0 * tau**2, rtol=1e-3)


def test_cross_entropy_matches_the_cli(problem, tmp_path, ntkit_cli):
    x, y, x_test, k, k_test = problem
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "t.npy", x_test)
    ntkit_cli("predict", "--arch", ARCH, "--train", tmp_path / "x.npy", tmp_path / "y.npy", "--test", tmp_path / "t.npy",
              "--objective", "cross-entropy", "--time", "0.5,4", "--lr", "0.5", "-o", tmp_path / "out")
    train, test = ntkit.predict_ode(k, y, [0.5, 4.0], k_test, learning_rate=0.5)
    np.testing.assert_allclose(train, np.load(tmp_path / "out" / "train.npy"), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(test, np.load(tmp_path / "out" / "test.npy"), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"times": [math.inf]}, "finite and >= 0"),
        ({"times": [-1.0]}, "finite and >= 0"),
        ({"times": []}, "at least one time"),
        ({"objective": "hinge"}, "objective must be"),
        ({"loss": "median"}, "median"),
        ({"learning_rate": 0.0}, "learning rate"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        ({"rtol": 0.0}, "tolerances"),
        ({"y_train": np.ones((9, 3))}, "one target row per training point"),
        ({"k_test_train": np.ones((4, 9))}, "columns, expected 10"),
        ({"f0_train": np.ones((10, 2))}, "initial outputs"),
        ({"max_steps": 3}, "step"),
    ],
)
def test_errors_are_value_errors(problem, kwargs, message):
    _, y, _, k, k_test = problem
    args = {"k_train": k, "y_train": y, "times": [1.0], "k_test_train": k_test}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ntkit.predict_ode(**args)


# ---- kernel_to_npy ----


def test_kernel_to_npy_writes_what_kernel_returns(rng, tmp_path):
    x1, x2 = rng.standard_normal((13, 4)), rng.standard_normal((7, 4))
    ntkit.kernel_to_npy(ARCH, x1, ntk=tmp_path / "ntk.npy", nngp=str(tmp_path / "nngp.npy"), panel_rows=4)
    nngp, ntk = ntkit.kernel(ARCH, x1, get=("nngp", "ntk"))
    np.testing.assert_allclose(np.load(tmp_path / "ntk.npy"), ntk, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.load(tmp_path / "nngp.npy"), nngp, rtol=1e-13, atol=1e-15)
    # Symmetric exactly; a cross kernel in float32 is what kernel() gives for float32 inputs.
    k = np.load(tmp_path / "ntk.npy", mmap_mode="r")
    np.testing.assert_array_equal(k, k.T)
    ntkit.kernel_to_npy(ARCH, x1, x2, nngp=tmp_path / "cross.npy", dtype="float32", panel_rows=5)
    cross = np.load(tmp_path / "cross.npy")
    assert cross.dtype == np.float32 and cross.shape == (13, 7)
    f32 = np.float32
    np.testing.assert_array_equal(cross, ntkit.kernel(ARCH, x1.astype(f32), x2.astype(f32), get="nngp"))
    assert sorted(os.listdir(tmp_path)) == ["cross.npy", "nngp.npy", "ntk.npy"]


def test_kernel_to_npy_matches_the_cli(rng, tmp_path, ntkit_cli):
    x = rng.standard_normal((11, 3))
    np.save(tmp_path / "x.npy", x)
    ntkit_cli("kernel", "--arch", ARCH, "--x1", tmp_path / "x.npy", "-o", tmp_path / "cli.npy", "--quiet")
    ntkit.kernel_to_npy(ARCH, x, ntk=tmp_path / "py.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "py.npy"), np.load(tmp_path / "cli.npy"))


def test_kernel_to_npy_errors_leave_nothing_behind(rng, tmp_path):
    x = rng.standard_normal((5, 3))
    cases = [
        ({}, "give an output path"),
        ({"ntk": tmp_path / "k.npy", "nngp": tmp_path / "k.npy"}, "different files"),
        ({"ntk": tmp_path / "k.npy", "dtype": "float16"}, "dtype must be"),
        ({"ntk": tmp_path / "k.npy", "panel_rows": -1}, "panel_rows"),
        ({"ntk": tmp_path / "missing" / "k.npy"}, "missing"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            ntkit.kernel_to_npy(ARCH, x, **kwargs)
    with pytest.raises(ValueError, match="column"):
        ntkit.kernel_to_npy(ARCH, x, rng.standard_normal((4, 2)), ntk=tmp_path / "k.npy")
    with pytest.raises(ValueError):
        ntkit.kernel_to_npy("Dense(8), Relu, Dense(1)", np.full((3, 3), np.nan), ntk=tmp_path / "k.npy")
    assert os.listdir(tmp_path) == []


def test_every_public_name_is_documented_and_stubbed():
    stubs = (os.path.dirname(ntkit.__file__) + "/_core.pyi")
    text = open(stubs, encoding="utf-8").read()
    for name in ntkit.__all__:
        if name == "__version__":
            continue
        assert getattr(ntkit, name).__doc__, f"ntkit.{name} has no docstring"
        assert f"def {name}(" in text or f"class {name}" in text, f"ntkit.{name} missing from _core.pyi"
