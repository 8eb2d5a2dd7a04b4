"""`ntkit kernel --arch`: LayerNorm, float32, memory-mapped .npy output, progress bar, errors.

The reference here is an independent NumPy version of the recursion (docs/mathematics.md §5 and
neural-tangents' LayerNorm), written from the formulas, not from ntkit's code.
"""
import subprocess

import numpy as np
import pytest

from conftest import run_on_terminal


def relu_dual(q, c):
    """E[relu(u) relu(v)], E[relu'(u) relu'(v)] for (u, v) ~ N(0, [[q_i, c_ij], [c_ij, q_j]]),
    for a symmetric c with diagonal q."""
    norm = np.sqrt(np.outer(q, q))
    theta = np.arccos(np.clip(c / norm, -1.0, 1.0))
    np.fill_diagonal(theta, 0.0)  # ρ(x, x) = 1 exactly (rounding could leave 1 - 1e-16)
    t = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    tdot = (np.pi - theta) / (2 * np.pi)
    return t, tdot


def numpy_layernorm_relu_kernels(x, w_std, b_std, eps, depth):
    """(Dense(W_std, b_std), LayerNorm(eps), Relu) × depth, Dense(1): NNGP and NTK of K(X, X)."""
    d = x.shape[1]
    k = x @ x.T / d
    theta = np.zeros_like(k)
    for _ in range(depth):
        k = w_std**2 * k + b_std**2
        theta = w_std**2 * theta + k
        q = np.diag(k).copy()
        scale = 1.0 / np.sqrt(np.outer(q + eps, q + eps))
        k, theta = k * scale, theta * scale
        q = np.diag(k).copy()
        k, tdot = relu_dual(q, k)
        theta = theta * tdot
    k = k.copy()
    theta = theta + k  # the readout Dense(1): W_std = 1, no bias
    return k, theta


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 7)))
    np.save(tmp_path / "y.npy", rng.normal(size=(13, 7)))
    return tmp_path


def test_layernorm_network_matches_numpy(ntkit_ok, data):
    arch = ", ".join(["Dense(256, W_std=1.3, b_std=0.2), LayerNorm(eps=0.01), Relu"] * 3) + ", Dense(1)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--get", "both", "-o", "k.npy")
    nngp, ntk = numpy_layernorm_relu_kernels(np.load(data / "x.npy"), 1.3, 0.2, 0.01, 3)
    np.testing.assert_allclose(np.load(data / "k.nngp.npy"), nngp, rtol=1e-11)
    np.testing.assert_allclose(np.load(data / "k.ntk.npy"), ntk, rtol=1e-11)


def test_float32_and_text_and_panels_agree(ntkit_ok, data):
    arch = "Dense(64, W_std=1.5, b_std=0.1), Erf, Dense(64), LayerNorm, Gelu, Dense(2)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--x2", "y.npy", "--get", "both", "-o", "k.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--x2", "y.npy", "--get", "both",
             "--dtype", "float32", "--panel-rows", "7", "-o", "k32.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--x2", "y.npy", "--get", "ntk", "-o", "k.csv")
    for part in ["nngp", "ntk"]:
        k64 = np.load(data / f"k.{part}.npy")
        k32 = np.load(data / f"k32.{part}.npy")
        assert k64.shape == (60, 13) and k64.dtype == np.float64 and k32.dtype == np.float32
        np.testing.assert_allclose(k32, k64, rtol=2e-6, atol=1e-7 * np.abs(k64).max())
    np.testing.assert_array_equal(np.loadtxt(data / "k.csv", delimiter=","), np.load(data / "k.ntk.npy"))
    # Memory-mapped outputs leave no temporary files behind.
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".")) == []


def test_symmetric_panels_are_exactly_symmetric(ntkit_ok, data):
    arch = "Dense(64, W_std=1.4, b_std=0.1), Relu, Dense(64, W_std=1.4), Relu, Dense(1)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--panel-rows", "9", "-o", "k.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "-o", "whole.npy")
    k = np.load(data / "k.npy")
    np.testing.assert_array_equal(k, k.T)
    np.testing.assert_allclose(k, np.load(data / "whole.npy"), rtol=1e-14)


def test_large_outputs_written_in_panels_match_one_panel(ntkit_ok, tmp_path):
    # NNGP + NTK of 1500 points in float64 is 36 MB, above the 32 MiB from which the .npy
    # writer cuts at least 8 panels (of >= 256 rows) and sends finished rows to disk while it
    # computes the next: the same kernels as one panel (--panel-rows 1500).
    x = np.random.default_rng(5).standard_normal((1500, 6))
    np.save(tmp_path / "big.npy", x)
    arch = "Dense(64, W_std=1.4, b_std=0.1), Relu, Dense(1)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "big.npy", "--get", "both", "-o", "auto.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "big.npy", "--get", "both", "--panel-rows", "1500", "-o", "one.npy")
    for part in ("nngp", "ntk"):
        auto, one = np.load(tmp_path / f"auto.{part}.npy"), np.load(tmp_path / f"one.{part}.npy")
        np.testing.assert_array_equal(auto, auto.T)
        np.testing.assert_allclose(auto, one, rtol=1e-14, atol=1e-15 * np.abs(one).max())


def test_bad_panel_rows_and_quiet(ntkit, ntkit_ok, data):
    r = ntkit("kernel", "--arch", "Dense(8), Relu, Dense(1)", "--x1", "x.npy", "--panel-rows", "-3", "-o", "k.npy")
    assert r.returncode == 2 and "--panel-rows" in r.stderr
    assert not (data / "k.npy").exists()
    r = ntkit_ok("kernel", "--arch", "Dense(8), Relu, Dense(1)", "--x1", "x.npy", "--quiet", "-o", "k.npy")
    assert r.stderr == ""


def test_progress_bar_on_a_terminal_only(ntkit_bin, tmp_path):
    # About three seconds of work on two idle cores (the bar waits one second): deep Erf on
    # 3000 points (measured: 2000 points and 40 layers took 0.99 s, too close to the delay).
    rng = np.random.default_rng(6)
    np.save(tmp_path / "x.npy", rng.normal(size=(3000, 5)))
    arch = ", ".join(["Dense(8, W_std=1.2), Erf"] * 50) + ", Dense(1)"
    args = [ntkit_bin, "kernel", "--arch", arch, "--x1", "x.npy", "-o", "k.npy"]
    code, drawn = run_on_terminal(args, tmp_path)
    assert code == 0
    assert "kernel [" in drawn and "100%" in drawn, drawn
    code, drawn = run_on_terminal(args + ["--quiet"], tmp_path)
    assert code == 0 and drawn == ""
    # Not a terminal (a pipe): nothing drawn either.
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == ""


def test_diagonal_is_the_matrix_diagonal(ntkit, ntkit_ok, data):
    arch = "Dense(64, W_std=1.5, b_std=0.1), Tanh, Dense(64), LayerNorm, Relu, Dense(1)"
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--get", "both", "-o", "k.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--get", "both", "--diagonal", "-o", "d.npy")
    for part in ["nngp", "ntk"]:
        d = np.load(data / f"d.{part}.npy")
        assert d.shape == (60,)
        np.testing.assert_allclose(d, np.diag(np.load(data / f"k.{part}.npy")), rtol=1e-13)
    r = ntkit("kernel", "--arch", arch, "--x1", "x.npy", "--x2", "y.npy", "--diagonal", "-o", "e.npy")
    assert r.returncode == 2 and "--diagonal" in r.stderr and not (data / "e.npy").exists()


def test_hermite_and_fan_in_concat_match_numpy(ntkit_ok, data):
    """Hermite(3) after LayerNorm (unit variance: neural-tangents' k³, 3k²Θ) and a FanInConcat
    of branches of widths 48 and 16 (the width-weighted mean of their kernels), from the
    formulas of docs/mathematics.md §5."""
    arch = ("Dense(64, W_std=1.2, b_std=0.1), LayerNorm, FanOut(2), "
            "parallel(serial(Hermite(3), Dense(48)), serial(Relu, Dense(16))), FanInConcat, Dense(1)")
    ntkit_ok("kernel", "--arch", arch, "--x1", "x.npy", "--get", "both", "-o", "k.npy")
    x = np.load(data / "x.npy")
    k = 1.2**2 * (x @ x.T / x.shape[1]) + 0.1**2
    theta = k.copy()
    scale = 1.0 / np.sqrt(np.outer(np.diag(k) + 1e-12, np.diag(k) + 1e-12))
    k, theta = k * scale, theta * scale
    k1, theta1 = k**3, theta * 3 * k**2  # Hermite(3) at unit variance (1 − 1e-12: rtol below)
    theta1 = theta1 + k1  # Dense(48)
    t, tdot = relu_dual(np.diag(k).copy(), k)
    k2, theta2 = t, theta * tdot + t  # Relu, Dense(16)
    kc = (48 * k1 + 16 * k2) / 64
    thetac = (48 * theta1 + 16 * theta2) / 64
    np.testing.assert_allclose(np.load(data / "k.nngp.npy"), kc, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.load(data / "k.ntk.npy"), thetac + kc, rtol=1e-10, atol=1e-13)
