"""End-to-end tests of the ntkit command-line tool: help/version, kernels against an
independent NumPy implementation, input/output formats, the feature map, ridge and demo.

Error handling lives in test_cli_errors.py.
"""
import json
import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT

# --------------------------------------------------------------------------------------------
# Independent NumPy reference, straight from the textbook formulas (include/ntkit/kernels.hpp).
# --------------------------------------------------------------------------------------------


def ref_kernel(kind, x1, x2=None, degree=2, c=1.0, gamma=None, order=1):
    x1 = np.asarray(x1, dtype=np.float64)
    x2 = x1 if x2 is None else np.asarray(x2, dtype=np.float64)
    d = x1.shape[1]
    if kind == "linear":
        return x1 @ x2.T
    if kind == "polynomial":
        return (c + x1 @ x2.T) ** degree
    if kind == "rbf":
        g = 1.0 / d if gamma is None else gamma
        # Per-entry squared distances (no ‖x‖² + ‖y‖² - 2x·y shortcut).
        sq = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(axis=-1)
        return np.exp(-g * sq)
    if kind == "arccos":
        # Cho & Saul 2009: k_n(x, y) = (1/π) ‖x‖ⁿ ‖y‖ⁿ J_n(θ), θ the angle between x and y.
        n1 = np.linalg.norm(x1, axis=1)[:, None]
        n2 = np.linalg.norm(x2, axis=1)[None, :]
        cos = np.clip((x1 @ x2.T) / (n1 * n2), -1.0, 1.0)
        theta = np.arccos(cos)
        # Identical rows (the diagonal of K(X, X)) have θ = 0 exactly; arccos of a cosine
        # rounded to 1 - ε would give ~1e-8 instead.
        same = (x1[:, None, :] == x2[None, :, :]).all(axis=-1)
        theta[same] = 0.0
        pi_t = np.pi - theta
        if order == 0:
            j = pi_t
        elif order == 1:
            j = np.sin(theta) + pi_t * np.cos(theta)
        elif order == 2:
            j = 3.0 * np.sin(theta) * np.cos(theta) + pi_t * (1.0 + 2.0 * np.cos(theta) ** 2)
        else:
            raise ValueError(order)
        return (n1**order) * (n2**order) * j / np.pi
    raise ValueError(kind)


def kernel_args(kind, params):
    args = ["--kernel", kind]
    for key, value in params.items():
        args += [f"--{key}", repr(value)]
    return args


def assert_close(actual, expected, rtol, what=""):
    """rtol relative to each entry, plus rtol times the largest entry for entries near 0."""
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


KERNEL_CASES = [
    ("linear", {}),
    ("polynomial", {"degree": 1, "c": 0.0}),
    ("polynomial", {"degree": 2, "c": 1.0}),
    ("polynomial", {"degree": 3, "c": 2.5}),
    ("polynomial", {"degree": 4, "c": -0.5}),
    ("polynomial", {"degree": 5, "c": 0.25}),
    ("rbf", {}),  # default γ = 1/d
    ("rbf", {"gamma": 0.05}),
    ("rbf", {"gamma": 2.0}),
    ("arccos", {"order": 0}),
    ("arccos", {"order": 1}),
    ("arccos", {"order": 2}),
]
CASE_IDS = [k + "-" + "-".join(f"{a}{b}" for a, b in p.items()) for k, p in KERNEL_CASES]


def ref_params(params):
    return {k: v for k, v in params.items()}


@pytest.fixture
def data(tmp_path):
    """Random continuous inputs (no duplicate rows, so no θ ≈ 0 off the diagonal)."""
    rng = np.random.default_rng(12345)
    x1 = rng.normal(size=(9, 4))
    x2 = rng.normal(size=(6, 4)) * 1.5
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    return x1, x2


# --------------------------------------------------------------------------------------------
# 1. Version, help, unknown commands
# --------------------------------------------------------------------------------------------


def test_version(ntkit):
    r = ntkit("--version")
    assert r.returncode == 0, r.stderr
    # The version is the CMake project version (CMakeLists.txt: project(ntkit VERSION x.y.z)).
    cmake = (REPO_ROOT / "CMakeLists.txt").read_text()
    version = re.search(r"project\(ntkit VERSION ([0-9.]+)", cmake).group(1)
    lines = r.stdout.strip().splitlines()
    assert lines[0] == f"ntkit {version}"
    # Then the BLAS, as `ntkit info` describes it.
    assert any(line.startswith("blas core: ") for line in lines), r.stdout


def _cpu_has(*flags):
    text = Path("/proc/cpuinfo").read_text()
    line = next((l for l in text.splitlines() if l.startswith("flags")), "")
    return set(flags) <= set(line.split())


def test_info_names_the_blas_and_its_vectorized_kernels(ntkit_bin):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NTKIT_REPLACED_OPENBLAS_CORE")}
    r = subprocess.run([ntkit_bin, "info", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["blas"]["library"].startswith("OpenBLAS") and info["blas"]["version"]
    assert info["blas"]["threads"] >= 1 and info["openmp"]["threads"] >= 1
    # On a CPU with AVX2 or AVX-512 the tool never runs OpenBLAS's generic kernels: the library's
    # own choice, or the one the tool made in its place (replaced_core then names the generic one).
    if _cpu_has("avx2", "fma"):
        assert info["cpu"]["vectors"] in ("AVX2", "AVX-512")
        assert not info["blas"]["generic_core"], info
        assert info["blas"]["core"].lower() in ("haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"), info


def test_info_keeps_a_users_kernel_choice_and_warns_when_it_is_generic(ntkit_bin):
    env = {**os.environ, "OPENBLAS_CORETYPE": "Prescott"}
    r = subprocess.run([ntkit_bin, "info"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "blas core: Prescott" in r.stdout
    if _cpu_has("avx2", "fma"):
        # The fix is named: unset the variable or ask for the CPU's own family.
        assert "warning: the BLAS runs its generic Prescott kernels" in r.stdout, r.stdout
        assert "OPENBLAS_CORETYPE=Prescott is set in the environment" in r.stdout


def test_top_level_help_lists_subcommands(ntkit):
    r = ntkit("--help")
    assert r.returncode == 0
    for word in ["--help", "--version", "kernel", "features", "ridge", "two-layer", "demo", "classic-demo"]:
        assert word in r.stdout, word


HELP_OPTIONS = {
    "kernel": ["--kernel", "--degree", "--c", "--gamma", "--order", "--x1", "--x2", "--dtype", "--output"],
    "features": ["--map", "--degree", "--c", "--x", "--output"],
    "ridge": ["--kernel", "--degree", "--c", "--gamma", "--order", "--train", "--test",
              "--test-targets", "--lambda", "--cv", "--seed", "--output"],
    "demo": ["--out", "--data", "--activation", "--min-width", "--max-width", "--seeds", "--steps",
             "--record-every", "--seed", "--test-size"],
    "classic-demo": ["--out", "--data", "--seed", "--test-size", "--steps", "--record-every"],
}


@pytest.mark.parametrize("command", sorted(HELP_OPTIONS))
def test_command_help_lists_every_option(ntkit, command):
    r = ntkit(command, "--help")
    assert r.returncode == 0, r.stderr
    assert f"ntkit {command}" in r.stdout
    for option in HELP_OPTIONS[command]:
        assert re.search(re.escape(option) + r"\b", r.stdout), f"{command} --help lacks {option}"


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["--bogus"],
        [],
        ["kernel", "--x1", "x1.npy", "-o", "K.npy", "--bogus"],
        ["kernel", "--x1", "x1.npy", "-o", "K.npy", "extra-positional"],
        ["kernel", "--x1", "x1.npy"],  # missing required -o
        ["kernel", "--x1", "x1.npy", "--degree", "abc", "-o", "K.npy"],
        ["ridge", "--train", "x1.npy", "--test", "x1.npy", "-o", "P.npy"],  # --train needs 2
    ],
    ids=["unknown-subcommand", "unknown-top-option", "no-subcommand", "unknown-option",
         "extra-positional", "missing-output", "non-integer-degree", "train-one-file"],
)
def test_usage_errors_exit_2(ntkit, tmp_path, data, args):
    r = ntkit(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip(), "a usage error must explain itself on stderr"
    assert not (tmp_path / "K.npy").exists() and not (tmp_path / "P.npy").exists()


def test_usage_error_follows_error_contract(ntkit, data):
    r = ntkit("kernel", "--x1", "x1.npy", "-o", "K.npy", "--bogus")
    assert r.returncode == 2
    assert r.stderr.startswith("ntkit: error: ")
    assert "--bogus" in r.stderr


def test_unknown_subcommand_is_named(ntkit):
    r = ntkit("frobnicate")
    assert r.returncode == 2
    assert "frobnicate" in r.stderr


# --------------------------------------------------------------------------------------------
# 2. Kernels against NumPy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,params", KERNEL_CASES, ids=CASE_IDS)
def test_kernel_symmetric_matches_numpy(ntkit_ok, tmp_path, data, kind, params):
    x1, _ = data
    ntkit_ok("kernel", "--x1", "x1.npy", *kernel_args(kind, params), "-o", "K.npy")
    k = np.load(tmp_path / "K.npy")
    assert k.dtype == np.float64 and k.shape == (9, 9)
    assert_close(k, ref_kernel(kind, x1, **ref_params(params)), 1e-12, kind)
    assert np.array_equal(k, k.T), "K(X, X) must be exactly symmetric"


@pytest.mark.parametrize("kind,params", KERNEL_CASES, ids=CASE_IDS)
def test_kernel_cross_matches_numpy(ntkit_ok, tmp_path, data, kind, params):
    x1, x2 = data
    ntkit_ok("kernel", "--x1", "x1.npy", "--x2", "x2.npy", *kernel_args(kind, params), "-o", "K.npy")
    k = np.load(tmp_path / "K.npy")
    assert k.dtype == np.float64 and k.shape == (9, 6)
    assert_close(k, ref_kernel(kind, x1, x2, **ref_params(params)), 1e-12, kind)


@pytest.mark.parametrize("kind,params", KERNEL_CASES, ids=CASE_IDS)
def test_kernel_float32(ntkit_ok, tmp_path, data, kind, params):
    x1, x2 = data
    ntkit_ok("kernel", "--x1", "x1.npy", *kernel_args(kind, params), "--dtype", "float32", "-o", "K.npy")
    k = np.load(tmp_path / "K.npy")
    assert k.dtype == np.float32 and k.shape == (9, 9)
    assert_close(k.astype(np.float64), ref_kernel(kind, x1, **ref_params(params)), 1e-5, kind)
    assert np.array_equal(k, k.T)
    ntkit_ok("kernel", "--x1", "x1.npy", "--x2", "x2.npy", *kernel_args(kind, params),
             "--dtype", "float32", "-o", "K2.npy")
    k2 = np.load(tmp_path / "K2.npy")
    assert k2.dtype == np.float32 and k2.shape == (9, 6)
    assert_close(k2.astype(np.float64), ref_kernel(kind, x1, x2, **ref_params(params)), 1e-5, kind)


def test_arccos_zero_norm_convention(ntkit_ok, tmp_path):
    # kernels.hpp: a zero-norm input gives 0 for n >= 1 and ½ for n = 0 (θ = π/2 there,
    # (1/π)(π - π/2) = ½).
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, -0.5], [-0.3, 0.7, 1.1]])
    np.save(tmp_path / "x.npy", x)
    for order, expected in [(0, 0.5), (1, 0.0), (2, 0.0)]:
        ntkit_ok("kernel", "--x1", "x.npy", "--kernel", "arccos", "--order", order, "-o", "K.npy")
        k = np.load(tmp_path / "K.npy")
        assert np.all(k[0, :] == expected) and np.all(k[:, 0] == expected), (order, k)
        assert_close(k[1:, 1:], ref_kernel("arccos", x[1:], order=order), 1e-12)


def test_kernel_name_aliases_and_case(ntkit_ok, tmp_path, data):
    # kernels.hpp: "polynomial" (or "poly"), "arccos" (or "arc-cosine"); case-insensitive.
    ntkit_ok("kernel", "--x1", "x1.npy", "--kernel", "polynomial", "-o", "a.npy")
    ntkit_ok("kernel", "--x1", "x1.npy", "--kernel", "POLY", "-o", "b.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    ntkit_ok("kernel", "--x1", "x1.npy", "--kernel", "arccos", "-o", "c.npy")
    ntkit_ok("kernel", "--x1", "x1.npy", "--kernel", "Arc-Cosine", "-o", "d.npy")
    assert np.array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "d.npy"))


@pytest.mark.parametrize("kind,params", [("rbf", {"gamma": 0.3}), ("arccos", {"order": 1}),
                                         ("polynomial", {"degree": 3, "c": 1.0})])
def test_csv_output_equals_npy_bit_for_bit(ntkit_ok, tmp_path, data, kind, params):
    for out in ["K.npy", "K.csv", "K.txt"]:
        ntkit_ok("kernel", "--x1", "x1.npy", "--x2", "x2.npy", *kernel_args(kind, params), "-o", out)
    k = np.load(tmp_path / "K.npy")
    for text in ["K.csv", "K.txt"]:
        kc = np.loadtxt(tmp_path / text, delimiter=",", ndmin=2)
        assert kc.shape == k.shape
        # Round-trip digits: the parsed doubles are the very same bits.
        assert np.array_equal(kc.view(np.uint64), k.view(np.uint64)), text


# --------------------------------------------------------------------------------------------
# 3. Input formats
# --------------------------------------------------------------------------------------------


@pytest.fixture
def int_data():
    # Small integers: exactly representable in every supported dtype, so every file below
    # holds the very same numbers.
    rng = np.random.default_rng(7)
    return rng.integers(-5, 6, size=(7, 3)).astype(np.float64)


def _save_variants(tmp_path, x):
    paths = {}
    for dt in ["float32", "float64", "int32", "int64"]:
        for order in ["C", "F"]:
            arr = x.astype(dt)
            arr = np.asfortranarray(arr) if order == "F" else np.ascontiguousarray(arr)
            p = tmp_path / f"x_{dt}_{order}.npy"
            np.save(p, arr)
            paths[f"{dt}-{order}"] = p
    for version in [(1, 0), (2, 0), (3, 0)]:
        p = tmp_path / f"x_v{version[0]}.npy"
        with open(p, "wb") as f:
            np.lib.format.write_array(f, x, version=version)
        paths[f"version-{version[0]}.0"] = p
    # A Fortran-order version 3.0 float32 file, for good measure.
    p = tmp_path / "x_v3_f32_F.npy"
    with open(p, "wb") as f:
        np.lib.format.write_array(f, np.asfortranarray(x.astype(np.float32)), version=(3, 0))
    paths["version-3.0-float32-F"] = p
    return paths


def test_npy_dtypes_orders_versions_give_same_kernel(ntkit_ok, tmp_path, int_data):
    paths = _save_variants(tmp_path, int_data)
    # Sanity of the fixture itself: the Fortran files really are Fortran-ordered.
    assert np.load(paths["float64-F"]).flags.f_contiguous
    assert not np.load(paths["float64-F"]).flags.c_contiguous
    expected = ref_kernel("rbf", int_data, gamma=0.2)
    reference = None
    for name, path in paths.items():
        out = tmp_path / f"K_{name}.npy"
        ntkit_ok("kernel", "--x1", path, "--kernel", "rbf", "--gamma", "0.2", "-o", out)
        k = np.load(out)
        assert k.shape == (7, 7) and k.dtype == np.float64, name
        assert_close(k, expected, 1e-12, name)
        if reference is None:
            reference = k
        assert np.array_equal(k, reference), f"{name} gives a different kernel"


def test_npy_dtypes_in_cross_kernel_and_x2(ntkit_ok, tmp_path, int_data):
    x2 = int_data[:4] + 0.5
    np.save(tmp_path / "a.npy", np.asfortranarray(int_data.astype(np.int32)))
    np.save(tmp_path / "b.npy", x2.astype(np.float32))
    ntkit_ok("kernel", "--x1", "a.npy", "--x2", "b.npy", "--kernel", "polynomial", "--degree", "3",
             "-o", "K.npy")
    assert_close(np.load(tmp_path / "K.npy"), ref_kernel("polynomial", int_data, x2, degree=3), 1e-12)


def test_one_dimensional_input_is_a_column(ntkit_ok, tmp_path):
    v = np.array([0.5, -1.25, 2.0, 3.5, -0.75])
    np.save(tmp_path / "v.npy", v)
    ntkit_ok("kernel", "--x1", "v.npy", "--kernel", "polynomial", "--degree", "2", "--c", "1",
             "-o", "K.npy")
    k = np.load(tmp_path / "K.npy")
    assert k.shape == (5, 5)
    assert_close(k, ref_kernel("polynomial", v.reshape(-1, 1), degree=2, c=1.0), 1e-12)


def test_text_inputs(ntkit_ok, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3))
    np.save(tmp_path / "x.npy", x)
    rows = [[repr(float(v)) for v in row] for row in x]  # repr: round-trip digits
    variants = {
        "plain.csv": "\n".join(",".join(r) for r in rows) + "\n",
        "header.csv": "alpha,beta,gamma\n" + "\n".join(",".join(r) for r in rows) + "\n",
        "spaces.txt": "\n".join("  ".join(r) for r in rows) + "\n",
        "tabs.txt": "\n".join("\t".join(r) for r in rows),  # no final newline
        "comments.csv": "# a comment line\nalpha,beta,gamma\n"
        + "\n# another\n\n".join(",".join(r) for r in rows) + "\n# trailing comment\n",
        "crlf.csv": "a,b,c\r\n" + "\r\n".join(",".join(r) for r in rows) + "\r\n",
        "extension_ignored.npy": "\n".join(",".join(r) for r in rows) + "\n",
    }
    ntkit_ok("kernel", "--x1", "x.npy", "--kernel", "arccos", "-o", "K_ref.npy")
    k_ref = np.load(tmp_path / "K_ref.npy")
    assert_close(k_ref, ref_kernel("arccos", x), 1e-12)
    for name, text in variants.items():
        (tmp_path / name).write_bytes(text.encode())
        ntkit_ok("kernel", "--x1", name, "--kernel", "arccos", "-o", f"K_{name}.npy")
        k = np.load(tmp_path / f"K_{name}.npy")
        assert np.array_equal(k, k_ref), name


def test_text_input_integers_and_exponents(ntkit_ok, tmp_path):
    (tmp_path / "x.csv").write_text("1,2\n-3,4.5e0\n1e-1,+2\n")
    ntkit_ok("kernel", "--x1", "x.csv", "-o", "K.npy")
    x = np.array([[1, 2], [-3, 4.5], [0.1, 2]])
    assert_close(np.load(tmp_path / "K.npy"), x @ x.T, 1e-15)


# --------------------------------------------------------------------------------------------
# 4. Explicit polynomial feature map
# --------------------------------------------------------------------------------------------

_rng = np.random.default_rng(2024)
FEATURE_CASES = [(int(_rng.integers(1, 7)), int(_rng.integers(1, 5)), c)
                 for c in [0.0, 0.5, 1.0, 3.0] for _ in range(3)]
FEATURE_CASES += [(6, 4, 1.0), (6, 4, 0.0), (1, 1, 2.0)]  # the extremes of d ≤ 6, p ≤ 4


@pytest.mark.parametrize("d,p,c", FEATURE_CASES, ids=[f"d{d}-p{p}-c{c}" for d, p, c in FEATURE_CASES])
def test_features_reproduce_polynomial_kernel(ntkit_ok, tmp_path, d, p, c):
    rng = np.random.default_rng(100 * d + 10 * p + int(4 * c))
    x = rng.normal(size=(8, d))
    np.save(tmp_path / "x.npy", x)
    ntkit_ok("features", "--map", "polynomial", "--degree", p, "--c", repr(c), "--x", "x.npy",
             "-o", "phi.npy")
    phi = np.load(tmp_path / "phi.npy")
    assert phi.dtype == np.float64
    # feature_map.hpp: D = C(d + p, p), or C(d + p - 1, p) (degree-p monomials only) when c = 0.
    expected_cols = math.comb(d + p, p) if c > 0 else math.comb(d + p - 1, p)
    assert phi.shape == (8, expected_cols)
    assert_close(phi @ phi.T, (c + x @ x.T) ** p, 1e-11, f"d={d} p={p} c={c}")


def test_features_match_kernel_command(ntkit_ok, tmp_path):
    x = np.random.default_rng(5).normal(size=(6, 3))
    np.save(tmp_path / "x.npy", x)
    ntkit_ok("features", "--x", "x.npy", "--degree", "3", "--c", "2", "-o", "phi.csv")
    ntkit_ok("kernel", "--x1", "x.npy", "--kernel", "polynomial", "--degree", "3", "--c", "2", "-o", "K.npy")
    phi = np.loadtxt(tmp_path / "phi.csv", delimiter=",", ndmin=2)
    assert phi.shape == (6, math.comb(3 + 3, 3))
    assert_close(phi @ phi.T, np.load(tmp_path / "K.npy"), 1e-11)


# --------------------------------------------------------------------------------------------
# 5. Kernel ridge regression
# --------------------------------------------------------------------------------------------


@pytest.fixture
def ridge_data(tmp_path):
    rng = np.random.default_rng(99)
    x = rng.normal(size=(30, 3))
    xt = rng.normal(size=(11, 3))
    f = lambda z: np.sin(z[:, 0]) + 0.5 * z[:, 1] * z[:, 2]
    y = f(x) + 0.05 * rng.normal(size=30)
    yt = f(xt)
    y2 = np.stack([y, np.cos(x[:, 0])], axis=1)
    for name, arr in dict(x=x, xt=xt, y=y, yt=yt, y2=y2).items():
        np.save(tmp_path / f"{name}.npy", arr)
    return x, xt, y, yt, y2


def ref_ridge(kind, params, x, y, xt, lam):
    k = ref_kernel(kind, x, **params)
    alpha = np.linalg.solve(k + lam * np.eye(len(x)), y)
    return ref_kernel(kind, xt, x, **params) @ alpha


@pytest.mark.parametrize(
    "kind,params,lam",
    [("rbf", {"gamma": 0.5}, 0.1), ("polynomial", {"degree": 2, "c": 1.0}, 0.01),
     ("arccos", {"order": 1}, 1e-3), ("linear", {}, 0.5), ("rbf", {"gamma": 0.3}, 0.0)],
    ids=["rbf", "poly", "arccos", "linear", "rbf-interpolation"],
)
def test_ridge_matches_numpy_solve(ntkit_ok, tmp_path, ridge_data, kind, params, lam):
    x, xt, y, _, _ = ridge_data
    ntkit_ok("ridge", *kernel_args(kind, params), "--train", "x.npy", "y.npy", "--test", "xt.npy",
             "--lambda", repr(lam), "-o", "pred.npy")
    pred = np.load(tmp_path / "pred.npy")
    assert pred.shape in [(11,), (11, 1)]
    # Cholesky vs LU on a well-conditioned system (λ > 0, or 30 distinct points for the RBF):
    # agreement to ~1e-9 relative.
    assert_close(pred.reshape(-1), ref_ridge(kind, params, x, y, xt, lam), 1e-8, kind)


def test_ridge_multi_output(ntkit_ok, tmp_path, ridge_data):
    x, xt, _, _, y2 = ridge_data
    ntkit_ok("ridge", "--kernel", "rbf", "--train", "x.npy", "y2.npy", "--test", "xt.npy",
             "--lambda", "0.05", "-o", "pred.csv")
    pred = np.loadtxt(tmp_path / "pred.csv", delimiter=",", ndmin=2)
    assert pred.shape == (11, 2)
    # Default γ = 1/d = 1/3.
    assert_close(pred, ref_ridge("rbf", {}, x, y2, xt, 0.05), 1e-8)


def test_ridge_cross_validation(ntkit_ok, tmp_path, ridge_data):
    x, xt, y, _, _ = ridge_data
    r = ntkit_ok("ridge", "--kernel", "rbf", "--gamma", "0.5", "--train", "x.npy", "y.npy",
                 "--test", "xt.npy", "--cv", "5", "--seed", "3", "-o", "pred.npy")
    m = re.search(r"lambda\s*=\s*([0-9.eE+-]+)", r.stderr)
    assert m, f"--cv must report the chosen lambda on stderr, got: {r.stderr!r}"
    lam = float(m.group(1))
    assert np.isfinite(lam) and lam > 0
    pred = np.load(tmp_path / "pred.npy").reshape(-1)
    # The printed λ has 6 significant digits; the predictions agree with a solve at that λ to
    # well within 1e-4.
    assert_close(pred, ref_ridge("rbf", {"gamma": 0.5}, x, y, xt, lam), 1e-4)


def test_ridge_test_targets_prints_rmse(ntkit_ok, tmp_path, ridge_data):
    x, xt, y, yt, _ = ridge_data
    r = ntkit_ok("ridge", "--kernel", "rbf", "--gamma", "0.5", "--train", "x.npy", "y.npy",
                 "--test", "xt.npy", "--test-targets", "yt.npy", "--lambda", "0.1", "-o", "pred.npy")
    lines = [l for l in r.stdout.splitlines() if "test RMSE" in l]
    assert len(lines) == 1, r.stdout
    rmse = float(re.search(r"test RMSE\s*([0-9.eE+-]+)", lines[0]).group(1).rstrip(","))
    pred = ref_ridge("rbf", {"gamma": 0.5}, x, y, xt, 0.1)
    # Printed with 6 significant digits.
    assert rmse == pytest.approx(np.sqrt(np.mean((pred - yt) ** 2)), rel=1e-5)


def test_ridge_lambda_zero_with_duplicates_fails_cleanly(ntkit, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 3))
    x = np.vstack([x, x[:2]])  # duplicated rows: K = XXᵀ is singular (rank ≤ 3 anyway)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", rng.normal(size=8))
    r = ntkit("ridge", "--kernel", "linear", "--lambda", "0", "--train", "x.npy", "y.npy",
              "--test", "x.npy", "-o", "pred.npy")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("ntkit: error: ")
    assert "lambda > 0" in r.stderr
    assert not (tmp_path / "pred.npy").exists()


# --------------------------------------------------------------------------------------------
# 6. Demo
# --------------------------------------------------------------------------------------------


def test_classic_demo_small(ntkit_ok, tmp_path):
    out = tmp_path / "demo"
    ntkit_ok("classic-demo", "--out", out, "--steps", "50", "--record-every", "10")
    report = json.loads((out / "report.json").read_text())

    pvd = report["primal_vs_dual"]
    # Gradient descent on Φ and on K = ΦΦᵀ are the same iteration: equal up to rounding.
    assert pvd["max_abs_diff"] < 1e-10
    assert pvd["steps"] == [0, 10, 20, 30, 40, 50]
    np.testing.assert_allclose(pvd["loss_primal"], pvd["loss_dual"], rtol=1e-10)
    assert pvd["loss_primal"][-1] < pvd["loss_primal"][0]  # descent descends

    ridge = report["ridge"]
    families = {r["kernel"].split("(")[0] for r in ridge}
    assert families == {"linear", "polynomial", "rbf", "arccos"}
    targets = np.array(report["test_targets"])
    assert targets.shape == (100,)  # --test-size default 100
    ratios = []
    for r in ridge:
        # Diabetes data (Efron et al. 2004): linear models explain about half the variance of
        # one-year progression; every kernel here gets test R² of about 0.4-0.55 on the 100
        # held-out patients, so 0.3 leaves margin without accepting a broken fit (R² ≈ 0).
        assert 0.3 < r["test_r2"] < 1.0, r["kernel"]
        pred = np.array(r["test_predictions"])
        assert pred.shape == (100,)
        assert r["test_rmse"] == pytest.approx(np.sqrt(np.mean((pred - targets) ** 2)), rel=1e-9)
        assert r["lambda"] in r["cv_lambdas"]
        ratios.append((1.0 - r["test_r2"]) / r["test_rmse"] ** 2)
    # R² = 1 - MSE / (common variance), so (1 - R²)/RMSE² is the same for every kernel.
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)

    k = np.load(out / "kernel_rbf_train.npy")
    assert k.shape == (342, 342)  # 442 patients - 100 held out
    assert k.dtype == np.float64
    assert np.array_equal(k, k.T)
    assert np.all(np.diag(k) == 1.0)  # exp(-γ·0)
    assert np.all((k > 0) & (k <= 1))
    ev = np.load(out / "kernel_rbf_eigenvalues.npy")
    assert ev.shape == (342,)
    assert_close(np.sort(ev)[::-1], np.linalg.eigvalsh(k)[::-1], 1e-9)


def test_tool_reexecutes_itself_with_passive_openmp_threads_keeping_its_arguments(ntkit_bin, tmp_path):
    # Without OMP_WAIT_POLICY the tool sets it to passive and re-executes itself once
    # (apps/ntkit/main.cpp): arguments, output and exit status must come through unchanged.
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    x = tmp_path / "x.csv"
    x.write_text("1 2\n3 4\n")
    out = tmp_path / "k.npy"
    done = subprocess.run([ntkit_bin, "kernel", "--kernel", "linear", "--x1", str(x), "-o", str(out)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(out), [[5.0, 11.0], [11.0, 25.0]])
    bad = subprocess.run([ntkit_bin, "kernel", "--kernel", "nope", "--x1", str(x), "-o", str(out)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "nope" in bad.stderr
