#!/usr/bin/env python3
"""ntkit side by side with neural-tangents (issue 8): the infinite-width analytic kernels.

Run through bench/neural_tangents/run.sh, which makes the virtual environment (jax CPU +
neural-tangents, bench/neural_tangents/requirements.txt) and finds the ntkit binary.

  python compare.py --ntkit build/apps/ntkit/ntkit [--quick] [--skip-speed] [--out DIR]

1. Agreement: for every architecture in CASES, one text is evaluated by both sides: ntkit's
   `kernel --arch TEXT` and neural-tangents' stax.serial(TEXT) (the same names and
   arguments; Tanh, Softplus, Elu, Selu, Silu map to stax.ElementwiseNumerical with jax.nn's
   function, Residual(f...) to FanOut(2), parallel(serial(f...), Identity), FanInSum).
   NNGP and NTK of K(X1, X1) and K(X1, X2) in float64 (jax_enable_x64); reported: the
   largest |a - b| / max|b| ("max-rel") and the largest elementwise |a - b| / |b| over entries
   with |b| >= 1e-6 max|b| ("elem-rel").
2. Speed: depth-5 ReLU NNGP+NTK of K(X, X), n = 1024 and 4096, d = 784, float32 and float64;
   neural-tangents jitted and warmed up; ntkit through its CLI (includes process start and
   writing the .npy files) and, where `import ntkit` works, in process; medians of repeats.
Writes bench/results/<yyyy-mm-dd>-neural-tangents.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings

# neural_tangents/__init__.py imports its `experimental` subpackage (TensorFlow export through
# jax2tf), which needs TensorFlow. Nothing here uses it: stub it out so that neither TensorFlow
# nor tf2jax has to be installed.
sys.modules.setdefault("neural_tangents.experimental",
                       types.ModuleType("neural_tangents.experimental"))

import numpy as np  # noqa: E402
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from timing import INPROC_SNIPPET, median_time  # noqa: E402  (bench/timing.py)

warnings.filterwarnings("ignore", message=".*Numerical Activation Layer.*")
warnings.filterwarnings("ignore", message=".*Using JAX autodiff.*")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

QUAD_DEG = 40       # ntkit's default Gauss-Hermite degree for Tanh, Softplus, ...
QUAD_DEG_REF = 150  # a finer neural-tangents rule, to tell whose quadrature is off
TARGET = 1e-10      # closed forms: agreement to 1e-10 relative in float64

# ---- Architectures -------------------------------------------------------------------------
# (name, text, kind): kind "closed" (a closed form on both sides: the 1e-10 target applies) or
# "quadrature" (Gauss-Hermite on both sides: agreement is limited by the rules).


def mlp(depth, act, w=1.0, b=None, width=512, param=None, last_w=None, last_b=None):
    extra = ""
    if w != 1.0:
        extra += f", W_std={w}"
    if b is not None:
        extra += f", b_std={b}"
    if param:
        extra += f", parameterization='{param}'"
    hidden = ", ".join(f"Dense({width}{extra}), {act}" for _ in range(depth))
    last = "Dense(1"
    if last_w is not None:
        last += f", W_std={last_w}"
    if last_b is not None:
        last += f", b_std={last_b}"
    if param:
        last += f", parameterization='{param}'"
    return hidden + ", " + last + ")"


CASES = [
    ("relu-d1", mlp(1, "Relu()"), "closed"),
    ("relu-d3-w1.5-b0.05", mlp(3, "Relu()", 1.5, 0.05), "closed"),
    ("relu-d10-w1.4-b0.1", mlp(10, "Relu()", 1.4, 0.1), "closed"),
    ("relu-d6-stabilize", mlp(6, "Relu(do_stabilize=True)", 1.3, 0.2), "closed"),
    ("relu-d5-standard-b0.1",
     "Dense(256, W_std=1.5, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(1024, W_std=1.5, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(128, W_std=1.5, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(512, W_std=1.5, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(64, W_std=1.5, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(1, W_std=1.5, b_std=0.1, parameterization='standard')", "closed"),
    ("relu-d3-standard-nobias", mlp(3, "Relu()", 1.2, None, 300, "standard"), "closed"),
    ("relu-d2-standard-b0", mlp(2, "Relu()", 1.2, 0.0, 100, "standard", 1.0, 0.0), "closed"),
    ("leakyrelu-d4", mlp(4, "LeakyRelu(0.1)", 1.3, 0.1), "closed"),
    ("abrelu-d3", mlp(3, "ABRelu(-0.5, 1.2)", 1.1, 0.3), "closed"),
    ("abs-d2", mlp(2, "Abs()", 1.0, 0.5), "closed"),
    ("abs-d1", mlp(1, "Abs()"), "closed"),
    ("abrelu-d1", mlp(1, "ABRelu(-0.5, 1.2)"), "closed"),
    ("erf-d3", mlp(3, "Erf()", 1.2, 0.2), "closed"),
    ("erf-abc-d2", mlp(2, "Erf(a=2.0, b=0.5, c=0.3)", 0.9, 0.1), "closed"),
    ("sigmoid_like-d4", mlp(4, "Sigmoid_like()", 1.5, 0.05), "closed"),
    ("gelu-d5", mlp(5, "Gelu()", 1.2, 0.1), "closed"),
    ("sin-d3", mlp(3, "Sin(a=1.2, b=0.7, c=0.4)", 1.0, 0.1), "closed"),
    ("cos-d2", mlp(2, "Cos()", 1.1, 0.2), "closed"),
    ("sign-d2", mlp(2, "Sign()", 1.0, 0.1), "closed"),
    ("step-d2", mlp(2, "RectifiedMonomial(0)", 1.0, 0.1), "closed"),
    ("rbf-d3", mlp(3, "Rbf(gamma=0.5)", 1.0, 0.2), "closed"),
    ("gaussian-d3", mlp(3, "Gaussian(a=1.0, b=-0.5)", 1.0, 0.1), "closed"),
    ("exp-d2", mlp(2, "Exp(a=0.5, b=0.3)", 1.0, 0.1), "closed"),
    ("monomial2-d2", mlp(2, "Monomial(2)", 0.8, 0.1), "closed"),
    ("monomial3-d1", mlp(1, "Monomial(3)", 1.0, 0.2), "closed"),
    ("rectmonomial2-d3", mlp(3, "RectifiedMonomial(2)", 1.0, 0.1), "closed"),
    ("polynomial-d2", mlp(2, "Polynomial(coef=[0.1, 1.0, 0.5, -0.2])", 0.7, 0.1), "closed"),
    ("mixed-d10",
     "Dense(512, W_std=1.4, b_std=0.1), Relu(), Dense(512, W_std=1.2, b_std=0.2), Erf(), "
     "Dense(512, W_std=1.5), Gelu(), Dense(512, W_std=1.1, b_std=0.3), Sin(), "
     "Dense(512, W_std=1.4, b_std=0.1), LeakyRelu(0.2), Dense(512, b_std=0.1), Sigmoid_like(), "
     "Dense(512, W_std=1.3), Abs(), Dense(512, W_std=1.0, b_std=0.5), Rbf(), "
     "Dense(512, W_std=1.4, b_std=0.1), Relu(), Dense(512, W_std=0.9), Cos(), "
     "Dense(1, W_std=1.5, b_std=0.2)", "closed"),
    ("identity-d2", "Dense(512, W_std=1.3, b_std=0.1), Identity(), Relu(), Identity(), "
     "Dense(512, b_std=0.2), Erf(), Dense(1)", "closed"),
    ("residual-relu-d4",
     "Dense(512, W_std=1.4, b_std=0.1), "
     "Residual(Relu(), Dense(512, W_std=1.4, b_std=0.1)), "
     "Residual(Relu(), Dense(512, W_std=1.4, b_std=0.1)), "
     "Residual(Relu(), Dense(512, W_std=1.4, b_std=0.1)), Relu(), Dense(1)", "closed"),
    ("fanout3-parallel",
     "Dense(512, W_std=1.2, b_std=0.1), FanOut(3), "
     "parallel(serial(Relu(), Dense(512, W_std=1.5)), "
     "serial(Erf(), Dense(512, b_std=0.2)), Identity()), FanInSum(), "
     "Gelu(), Dense(1, W_std=0.7)", "closed"),
    ("residual-standard-d6",
     "Dense(256, W_std=1.3, b_std=0.1, parameterization='standard'), "
     "Residual(Relu(), Dense(256, W_std=1.3, b_std=0.1, parameterization='standard'), Relu(), "
     "Dense(256, W_std=1.3, b_std=0.1, parameterization='standard')), "
     "Residual(Erf(), Dense(256, W_std=1.3, parameterization='standard')), "
     "Relu(), Dense(1, parameterization='standard')", "closed"),
    ("layernorm-relu-d3",
     "Dense(512, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), "
     "Dense(512, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), "
     "Dense(512, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), Dense(1)", "closed"),
    ("layernorm-residual-d4",
     "Dense(512, W_std=1.2, b_std=0.1), "
     "Residual(LayerNorm(), Relu(), Dense(512, W_std=1.4, b_std=0.1)), "
     "Residual(LayerNorm(), Gelu(), Dense(512, W_std=1.4, b_std=0.1)), "
     "LayerNorm(), Erf(), Dense(512, b_std=0.1), LayerNorm(eps=1e-3), Relu(), Dense(1)",
     "closed"),
    ("layernorm-standard-d2",
     "Dense(200, W_std=1.5, b_std=0.1, parameterization='standard'), LayerNorm(), Relu(), "
     "Dense(300, W_std=1.5, b_std=0.1, parameterization='standard'), LayerNorm(), Relu(), "
     "Dense(1, parameterization='standard')", "closed"),
    ("tanh-d3", mlp(3, "Tanh()", 1.2, 0.1), "quadrature"),
    ("softplus-d2", mlp(2, "Softplus()", 1.0, 0.1), "quadrature"),
    ("elu-d2", mlp(2, "Elu()", 1.1, 0.1), "quadrature"),
    ("selu-d2", mlp(2, "Selu()", 1.0, 0.0), "quadrature"),
    ("silu-d2", mlp(2, "Silu()", 1.2, 0.1), "quadrature"),
]

# ---- neural-tangents side --------------------------------------------------------------------

def nt_namespace(deg):
    def numerical(fn):
        return lambda *args, **kwargs: stax.ElementwiseNumerical(
            lambda x: fn(x, *args, **kwargs), deg=deg)

    def residual(*layers):
        return stax.serial(stax.FanOut(2), stax.parallel(stax.serial(*layers), stax.Identity()),
                           stax.FanInSum())

    ns = {name: getattr(stax, name) for name in dir(stax) if not name.startswith("_")}
    ns.update(
        Tanh=numerical(lambda x: jnp.tanh(x)),
        Softplus=numerical(lambda x: jax.nn.softplus(x)),
        Elu=numerical(lambda x, alpha=1.0: jax.nn.elu(x, alpha)),
        Selu=numerical(lambda x: jax.nn.selu(x)),
        Silu=numerical(lambda x: jax.nn.silu(x)),
        Residual=residual,
        serial=stax.serial,
        parallel=stax.parallel,
        None_=None,
    )
    return ns


def nt_kernel_fn(text, deg=QUAD_DEG):
    _, _, kernel_fn = eval(f"serial({text})", {"__builtins__": {}}, nt_namespace(deg))
    return kernel_fn


def nt_kernels(text, x1, x2, deg=QUAD_DEG):
    k = nt_kernel_fn(text, deg)(x1, x2, ("nngp", "ntk"))
    return np.asarray(k[0]), np.asarray(k[1])


# ---- ntkit side ----------------------------------------------------------------------------

class NtkitError(RuntimeError):
    pass


def ntkit_kernels(binary, text, x1_path, x2_path, workdir, dtype="float64", extra=()):
    out = os.path.join(workdir, "K.npy")
    cmd = [binary, "kernel", "--arch", text, "--x1", x1_path, "--get", "both", "-o", out,
           "--dtype", dtype, *extra]
    if x2_path:
        cmd += ["--x2", x2_path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise NtkitError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                         f"exit {proc.returncode}")
    return np.load(os.path.join(workdir, "K.nngp.npy")), np.load(os.path.join(workdir, "K.ntk.npy"))


MODULE_KERNEL_SNIPPET = r"""
import sys, numpy as np, ntkit
text, p1, p2, deg, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
x1 = np.load(p1); x2 = None if p2 == "-" else np.load(p2)
nngp, ntk = ntkit.kernel(text, x1, x2, get=("nngp", "ntk"), quadrature_degree=deg)
np.save(out + ".nngp.npy", np.asarray(nngp)); np.save(out + ".ntk.npy", np.asarray(ntk))
"""


def ntkit_module_kernels(exe, text, p1, p2, deg, workdir):
    """ntkit.kernel(..., quadrature_degree=deg) through the Python module (None if it fails)."""
    out = os.path.join(workdir, "Kmod")
    proc = subprocess.run([exe, "-c", MODULE_KERNEL_SNIPPET, text, p1, p2 or "-", str(deg), out],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return np.load(out + ".nngp.npy"), np.load(out + ".ntk.npy")


# ---- comparison ----------------------------------------------------------------------------

def rel_errors(a, b):
    """(max|a-b|/max|b|, max elementwise |a-b|/|b| over |b| >= 1e-6 max|b|)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("nan"), float("nan")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf"), float("inf")
    scale = np.max(np.abs(b))
    if scale == 0:
        d = float(np.max(np.abs(a)))
        return d, d
    diff = np.abs(a - b)
    mask = np.abs(b) >= 1e-6 * scale
    return float(diff.max() / scale), float((diff[mask] / np.abs(b[mask])).max())


def fmt(x):
    if x != x:
        return ""
    if x == float("inf"):
        return "inf"
    if x == 0:
        return "0"
    return f"{x:.1e}"


def correlation_one_mask(xa, xb):
    """True where the two inputs are not parallel (|cos| < 1 - 1e-12), incl. the diagonal."""
    na = np.linalg.norm(xa, axis=1)[:, None]
    nb = np.linalg.norm(xb, axis=1)[None, :]
    return np.abs(xa @ xb.T) / (na * nb) < 1 - 1e-12


def masked_max_rel(a, b, mask):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if not (np.all(np.isfinite(a[mask])) and np.all(np.isfinite(b[mask]))):
        return float("inf")
    return float(np.abs(a - b)[mask].max() / np.abs(b).max())


def run_agreement(binary, cases, workdir, use_reference=True, module_python=None):
    import reference
    rng = np.random.default_rng(20261129)
    d = 12
    x1 = rng.standard_normal((20, d))
    x2 = rng.standard_normal((15, d))
    x1[3] = 0.5 * x1[7]  # a pair of parallel inputs (correlation exactly 1)
    x2[0] = x1[0]        # an input shared by X1 and X2
    p1, p2 = os.path.join(workdir, "x1.npy"), os.path.join(workdir, "x2.npy")
    np.save(p1, x1)
    np.save(p2, x2)
    inputs = {"XX": (None, None), "XY": (x2, p2)}
    masks = {"XX": correlation_one_mask(x1, x1), "XY": correlation_one_mask(x1, x2)}
    rows = []
    for name, text, kind in cases:
        row = {"name": name, "text": text, "kind": kind}
        try:
            ref = {t: nt_kernels(text, x1, xb) for t, (xb, _) in inputs.items()}
        except Exception as exc:  # neural-tangents rejects the architecture
            row["status"] = f"neural-tangents error: {type(exc).__name__}: {exc}"[:200]
            rows.append(row)
            print(f"{name:28s} {row['status']}", flush=True)
            continue
        try:
            got = {t: ntkit_kernels(binary, text, p1, pb, workdir) for t, (_, pb) in inputs.items()}
        except NtkitError as exc:
            msg = str(exc)
            row["status"] = ("not yet supported" if "not supported yet" in msg
                             else "ntkit error") + f": {msg}"[:200]
            rows.append(row)
            print(f"{name:28s} {row['status']}", flush=True)
            continue
        for which, idx in (("nngp", 0), ("ntk", 1)):
            errs = [rel_errors(got[t][idx], ref[t][idx]) for t in inputs]
            row[which] = (max(e[0] for e in errs), max(e[1] for e in errs))
        row["generic"] = max(masked_max_rel(got[t][i], ref[t][i], masks[t])
                             for t in inputs for i in (0, 1))
        row["nt_nan"] = int(sum(np.isnan(ref[t][i]).sum() for t in inputs for i in (0, 1)))
        # A third opinion: 50-digit reference (closed forms), or a finer quadrature rule.
        third = None
        if kind == "quadrature":
            third = {t: nt_kernels(text, x1, xb, QUAD_DEG_REF) for t, (xb, _) in inputs.items()}
            # ntkit with the same Gauss-Hermite rule as neural-tangents (degree 40 and 150):
            # through the CLI's --quadrature-degree where it has one, else the Python module.
            for deg, against, key in ((QUAD_DEG, ref, "same_deg"), (QUAD_DEG_REF, third, "fine_vs_fine")):
                try:
                    same = {t: ntkit_kernels(binary, text, p1, pb, workdir,
                                             extra=("--quadrature-degree", str(deg)))
                            for t, (_, pb) in inputs.items()}
                except NtkitError:
                    same = ({t: ntkit_module_kernels(module_python, text, p1, pb, deg, workdir)
                             for t, (_, pb) in inputs.items()} if module_python else {"-": None})
                if all(v is not None for v in same.values()):
                    row[key] = max(rel_errors(same[t][i], against[t][i])[0]
                                   for t in inputs for i in (0, 1))
        elif use_reference:
            try:
                third = {t: reference.kernels(text, x1, xb) for t, (xb, _) in inputs.items()}
            except NotImplementedError:
                third = None
        if third is not None:
            row["ntkit_vs_third"] = max(rel_errors(got[t][i], third[t][i])[0]
                                        for t in inputs for i in (0, 1))
            row["nt_vs_third"] = max(rel_errors(ref[t][i], third[t][i])[0]
                                     for t in inputs for i in (0, 1))
        worst = max(row["nngp"][0], row["ntk"][0])
        row["worst"] = worst
        if kind == "closed":
            if worst <= TARGET:
                row["status"] = "ok"
            else:
                row["status"] = f"MISSED ({fmt(worst)})"
                if row["nt_nan"]:
                    row["status"] += f"; NT NaN in {row['nt_nan']} entries"
                elif ("ntkit_vs_third" in row and row["ntkit_vs_third"] <= TARGET
                      and row["nt_vs_third"] > TARGET):
                    row["status"] += "; NT off the 50-digit reference, ntkit on it"
        else:
            row["status"] = "quadrature"
            if "same_deg" in row:
                row["status"] += f"; both Gauss-Hermite deg {QUAD_DEG}: {fmt(row['same_deg'])}"
            if "fine_vs_fine" in row:
                row["status"] += f"; both deg {QUAD_DEG_REF}: {fmt(row['fine_vs_fine'])}"
        rows.append(row)
        extra = ""
        if "ntkit_vs_third" in row:
            extra = f"  [vs {'fine rule' if kind == 'quadrature' else 'ref'}: ntkit {fmt(row['ntkit_vs_third'])}, NT {fmt(row['nt_vs_third'])}]"
        print(f"{name:28s} nngp {fmt(row['nngp'][0])} / {fmt(row['nngp'][1])}   "
              f"ntk {fmt(row['ntk'][0])} / {fmt(row['ntk'][1])}   generic {fmt(row['generic'])}   "
              f"{row['status']}{extra}", flush=True)
    return rows


# ---- speed ---------------------------------------------------------------------------------

def find_ntkit_module_python():
    """An interpreter that can `import ntkit` (this venv first, then the base Python)."""
    candidates = [sys.executable, getattr(sys, "_base_executable", None), shutil.which("python3")]
    env = dict(os.environ)
    for exe in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run([exe, "-c", "import ntkit, sys; ntkit.kernel; print(ntkit.__file__)"],
                               capture_output=True, text=True, env=env)
        if probe.returncode == 0:
            return exe, probe.stdout.strip()
    return None, None


def run_speed(binary, workdir, sizes, repeats, module_python):
    import json
    depth = 5
    arch = mlp(depth, "Relu()", 1.4, 0.1)
    rows = []
    # The CLI's fixed cost (process start, parsing, OpenBLAS/OpenMP start-up): n = 16.
    tiny = os.path.join(workdir, "x_tiny.npy")
    np.save(tiny, np.random.default_rng(0).standard_normal((16, 784)))
    tiny_cmd = [binary, "kernel", "--arch", arch, "--x1", tiny, "--get", "both", "-o",
                os.path.join(workdir, "Ktiny.npy")]
    subprocess.run(tiny_cmd, check=True, capture_output=True)
    fixed, _ = median_time(lambda: subprocess.run(tiny_cmd, check=True, capture_output=True), 5)
    print(f"ntkit CLI fixed cost (n = 16): {fixed * 1e3:.0f} ms", flush=True)
    for n in sizes:
        rng = np.random.default_rng(n)
        x64 = rng.standard_normal((n, 784))
        for dtype in ("float64", "float32"):
            x = x64.astype(dtype)
            path = os.path.join(workdir, f"x_{n}_{dtype}.npy")
            np.save(path, x)
            # One GEMM X·Yᵀ of the same shape (NumPy's BLAS, all cores): the floor both sides
            # stand on (each computes one n x n Gram matrix, then per-entry work per layer).
            y = x.copy()
            gbuf = np.empty((n, n), dtype)
            gemm, _ = median_time(lambda: np.matmul(x, y.T, out=gbuf), repeats + 1)
            del y, gbuf
            # neural-tangents, jitted, warmed up. With jax_enable_x64 on, float32 inputs are
            # promoted to float64 inside kernel_fn, so float32 runs with x64 off.
            import contextlib
            from jax.experimental import disable_x64
            with (disable_x64() if dtype == "float32" else contextlib.nullcontext()):
                kfn = jax.jit(nt_kernel_fn(arch), static_argnames=("get",))
                xj = jnp.asarray(x)

                def nt_call():
                    out = kfn(xj, None, get=("nngp", "ntk"))
                    jax.block_until_ready(out)
                    return out
                ref = nt_call()
                nt_med, nt_times = median_time(nt_call, repeats)
                nt_dtype = str(ref[1].dtype)
                ref_ntk = np.asarray(ref[1], np.float64)
                del ref
            # ntkit CLI (process start + compute + writing two .npy files).
            out = os.path.join(workdir, "Kspeed.npy")
            cmd = [binary, "kernel", "--arch", arch, "--x1", path, "--get", "both", "-o", out,
                   "--dtype", dtype, "--quiet"]
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                cmd.remove("--quiet")
            subprocess.run(cmd, check=True, capture_output=True)  # warm-up (page cache)
            cli_med, cli_times = median_time(lambda: subprocess.run(cmd, check=True,
                                                                    capture_output=True), repeats)
            got_ntk = np.load(os.path.join(workdir, "Kspeed.ntk.npy")).astype(np.float64)
            agree = rel_errors(got_ntk, ref_ntk)[0]
            agree_off = masked_max_rel(got_ntk, ref_ntk, ~np.eye(n, dtype=bool))
            del got_ntk, ref_ntk
            row = {"n": n, "dtype": dtype, "gemm": gemm, "nt": nt_med, "nt_times": nt_times, "cli": cli_med,
                   "cli_times": cli_times, "agree": agree,
                   "agree_off": agree_off, "nt_dtype": nt_dtype}
            if module_python:
                proc = subprocess.run([module_python, "-c", INPROC_SNIPPET, arch, path, dtype,
                                       str(repeats)], capture_output=True, text=True)
                if proc.returncode == 0:
                    res = json.loads(proc.stdout.strip().splitlines()[-1])
                    row["module"] = res["median"]
                    row["module_times"] = res["times"]
                    row["module_get"] = res["get"]
                else:
                    row["module_error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
            rows.append(row)
            line = (f"n={n:5d} {dtype}: GEMM {gemm:.3f} s, neural-tangents {nt_med:.3f} s, ntkit CLI {cli_med:.3f} s "
                    f"(ratio {nt_med / cli_med:.1f}x)")
            if "module" in row:
                line += f", ntkit module {row['module']:.3f} s (ratio {nt_med / row['module']:.1f}x)"
            print(line + f"  [NT output {nt_dtype}; NTK max-rel {fmt(agree)}, off-diagonal "
                         f"{fmt(agree_off)}]", flush=True)
            os.remove(path)
    if rows:
        rows[0]["cli_fixed"] = fixed
    return rows


# ---- report --------------------------------------------------------------------------------

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_facts():
    model = sh("lscpu | sed -n 's/^Model name: *//p'")
    cores = os.cpu_count()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return f"{model}, {cores} cores (lscpu), {mem} memory, {platform.platform()}"


def versions(binary):
    import scipy
    v = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": __import__("jaxlib").__version__,
        "neural-tangents": nt.__version__,
        "numpy (venv)": np.__version__,
        "scipy (venv)": scipy.__version__,
        "jax backend": f"{jax.default_backend()} ({jax.device_count()} device)",
    }
    v["ntkit"] = (sh(f"git -C {REPO} rev-parse --short HEAD") + " (git HEAD; "
                  + ("uncommitted changes in the work tree" if sh(f"git -C {REPO} status --porcelain -- src include apps")
                     else "clean src/include/apps") + ")")
    v["ntkit binary"] = ((os.path.relpath(binary, REPO) if binary.startswith(REPO) else binary)
                         + " (built " + datetime.datetime.fromtimestamp(
                             os.path.getmtime(binary), datetime.timezone.utc).strftime("%H:%M UTC")
                         + ")")
    import re
    help_text = subprocess.run([binary, "kernel", "--help"], capture_output=True, text=True).stdout
    m = re.search(r"--dtype\s+\S+\s+(.*?)(?=\n\s+-)", help_text, re.S)
    if m:
        v["ntkit --dtype (its help)"] = " ".join(m.group(1).split())
    return v


def write_report(path, vers, facts, load_before, load_after, rows, speed, module_info, args):
    L = []
    today = os.path.basename(path)[:10]
    L.append(f"# ntkit vs neural-tangents: infinite-width kernels ({today})\n")
    L.append("Generated by `bench/neural_tangents/run.sh` (bench/neural_tangents/compare.py); one run.\n")
    L.append("## Versions\n")
    L.append("| component | version |\n|---|---|")
    for k, v in vers.items():
        L.append(f"| {k} | {v} |")
    L.append("\nneural-tangents is installed with `--no-deps` and its `experimental` subpackage "
             "(TensorFlow export) is stubbed out before import, so TensorFlow and tf2jax are not "
             "installed; `stax`, `kernel_fn` and `ElementwiseNumerical` do not need them.\n")
    L.append("## Machine\n")
    L.append(f"{facts}. Load average (1/5/15 min) before: {load_before}; after: {load_after}. "
             "The machine is shared with other builds and tests, so timings are noisy: the ratios "
             "are medians of repeats taken in this one run.\n")

    L.append("## Agreement (float64)\n")
    L.append("Inputs: X1 20 x 12, X2 15 x 12 standard normal; X1 holds a pair of parallel rows "
             "(x1[3] = 0.5 x1[7]) and X2 shares its first row with X1, so besides the diagonal "
             "some pairs have correlation exactly 1. Both NNGP and NTK, of K(X1, X1) and "
             "K(X1, X2); each column is the worst over those. a = ntkit, b = neural-tangents:\n\n"
             "- max-rel = max|a - b| / max|b| (the target: <= 1e-10 for closed forms);\n"
             "- elem-rel = max |a - b| / |b| over entries with |b| >= 1e-6 max|b|;\n"
             "- generic = max-rel over the pairs whose inputs are not parallel (correlation < 1);\n"
             "- ref: max-rel of each side against a third computation: for closed forms an "
             "independent 50-digit mpmath recursion (bench/neural_tangents/reference.py; blank "
             "where it lacks a layer), for quadrature rows neural-tangents' own rule at degree "
             f"{QUAD_DEG_REF}.\n\n"
             "Quadrature rows (Tanh, Softplus, Elu, Selu, Silu: neural-tangents has no such layers, "
             f"so its side is `ElementwiseNumerical(jax.nn.<fn>, deg={QUAD_DEG})`): the main "
             "columns compare ntkit's default rule (whatever `ntkit kernel` uses without "
             "--quadrature-degree) with that; the status adds ntkit with `--quadrature-degree "
             f"{QUAD_DEG}` and `{QUAD_DEG_REF}` against neural-tangents at the same degree.\n")
    L.append("| architecture | NNGP max-rel | NTK max-rel | elem-rel | generic | ntkit vs ref | NT vs ref | status |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "nngp" in r:
            L.append(f"| {r['name']} | {fmt(r['nngp'][0])} | {fmt(r['ntk'][0])} | "
                     f"{fmt(max(r['nngp'][1], r['ntk'][1]))} | {fmt(r['generic'])} | "
                     f"{fmt(r.get('ntkit_vs_third', float('nan')))} | "
                     f"{fmt(r.get('nt_vs_third', float('nan')))} | {r['status']} |")
        else:
            L.append(f"| {r['name']} | | | | | | | {r['status'].replace('|', '/')} |")
    closed = [r for r in rows if r["kind"] == "closed" and "worst" in r]
    missed = [r for r in closed if r["worst"] > TARGET]
    unsupported = [r for r in rows if "worst" not in r]
    L.append("")
    L.append(f"{len(rows)} architectures; {len(closed)} closed-form ones compared, "
             f"{len(closed) - len(missed)} within {TARGET:g}"
             + (f", worst {fmt(max(r['worst'] for r in closed))}" if closed else "")
             + f"; {len(missed)} missed; {len(unsupported)} not compared.\n")
    with_ref = [r for r in closed if r.get("ntkit_vs_third") is not None]
    if with_ref:
        L.append(f"Against the 50-digit reference ({len(with_ref)} closed-form architectures it "
                 f"covers): ntkit worst {fmt(max(r['ntkit_vs_third'] for r in with_ref))}, "
                 f"neural-tangents worst {fmt(max(r['nt_vs_third'] for r in with_ref))}. "
                 f"Over the pairs with correlation < 1, ntkit and neural-tangents agree to "
                 f"{fmt(max(r['generic'] for r in closed if r['generic'] == r['generic'] and r['generic'] != float('inf')))} "
                 f"in every closed-form architecture where neural-tangents is finite.\n")
    L.append("<details><summary>Architecture texts (identical for both sides)</summary>\n")
    for r in rows:
        L.append(f"- `{r['name']}`: `{r['text']}`")
    L.append("\n</details>\n")
    if speed:
        L.append("## Speed: depth-5 ReLU NNGP + NTK of K(X, X), d = 784\n")
        L.append("Architecture: `" + mlp(5, "Relu()", 1.4, 0.1) + "`. neural-tangents: "
                 "`jax.jit(kernel_fn)` with get=('nngp', 'ntk'), warmed up, "
                 "`block_until_ready`, XLA CPU with all cores. ntkit CLI: `ntkit kernel --arch ... "
                 "--get both -o K.npy` timed as a whole process, i.e. including process start, "
                 "reading X and writing both n x n .npy files. ntkit module: `ntkit.kernel(...)` "
                 f"in process. Median of {args.repeats} runs after one warm-up; "
                 "ratio = neural-tangents time / ntkit time (higher is better for ntkit); "
                 "GEMM: one `numpy.matmul(X, Y.T, out=...)` of the same shape (Y a copy of X; "
                 "the venv's NumPy/OpenBLAS, all cores), the floor under both: NT / GEMM bounds "
                 "the ratio any implementation that needs one Gram matrix can reach. "
                 "'agree' is the NTK max-rel between the two timed results, all entries / "
                 "off the diagonal (the diagonal carries neural-tangents' correlation-1 rounding, "
                 "see the disagreements section); 'NT dtype' is the dtype of neural-tangents' output.\n")
        has_mod = any("module" in r for r in speed)
        head = "| n | dtype | GEMM (s) | neural-tangents (s) | NT / GEMM | ntkit CLI (s) | ratio (CLI) |"
        sep = "|---|---|---|---|---|---|---|"
        if has_mod:
            head += " ntkit module (s) | ratio (module) |"
            sep += "---|---|"
        L.append(head + " NT dtype | agree |")
        L.append(sep + "---|---|")
        for r in speed:
            line = (f"| {r['n']} | {r['dtype']} | {r['gemm']:.3f} | {r['nt']:.3f} | "
                    f"{r['nt'] / r['gemm']:.1f}x | {r['cli']:.3f} | {r['nt'] / r['cli']:.1f}x |")
            if has_mod:
                line += (f" {r['module']:.3f} | {r['nt'] / r['module']:.1f}x |" if "module" in r
                         else " | |")
            L.append(line + f" {r['nt_dtype']} | {fmt(r['agree'])} / {fmt(r['agree_off'])} |")
        L.append("")
        L.append("Raw times (s): " + "; ".join(
            f"n={r['n']} {r['dtype']}: NT {', '.join(f'{t:.3f}' for t in r['nt_times'])} / "
            f"CLI {', '.join(f'{t:.3f}' for t in r['cli_times'])}"
            + (f" / module {', '.join(f'{t:.3f}' for t in r['module_times'])}" if "module" in r else "")
            for r in speed) + "\n")
        L.append(f"Python module: {module_info}\n")
        if "cli_fixed" in speed[0]:
            L.append(f"The CLI's fixed cost (the same command for n = 16: process start, parsing, "
                     f"thread pools): {speed[0]['cli_fixed'] * 1e3:.0f} ms (median of 5).\n")
        best = min(max(r['nt'] / r['cli'], r['nt'] / r.get('module', float('inf'))) for r in speed)
        L.append(f"Target: analytic kernels >= 10x faster than neural-tangents. Smallest ratio "
                 f"in this run (best ntkit route per row): {best:.1f}x"
                 + (" - met.\n" if best >= 10 else f" - missed by a factor {10 / best:.1f}.\n"))
    if args.extra_md and os.path.exists(args.extra_md):
        L.append(open(args.extra_md).read())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ntkit", default=os.path.join(REPO, "build", "apps", "ntkit", "ntkit"))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--sizes", default="1024,4096")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--extra-md", default=os.path.join(HERE, "findings.md"),
                    help="markdown appended to the report (the investigation's findings)")
    ap.add_argument("--render", metavar="JSON",
                    help="only rewrite the .md from a run's saved .json (e.g. after editing findings.md)")
    args = ap.parse_args()
    if args.render:
        import json
        with open(args.render) as f:
            render(json.load(f), args)
        return
    binary = os.path.abspath(args.ntkit)
    if not os.access(binary, os.X_OK):
        sys.exit(f"compare.py: error: no ntkit binary at {binary} (build it, or pass --ntkit)")
    load_before = sh("cut -d' ' -f1-3 /proc/loadavg")
    cases = CASES
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in CASES if c[0] in keep]
    with tempfile.TemporaryDirectory(prefix="ntkit-nt-") as workdir:
        exe, mod = find_ntkit_module_python()
        module_info = (f"`import ntkit` works with {exe} ({mod})" if exe else
                       "`import ntkit` failed with every interpreter tried (this venv, the base "
                       "Python): not built/installed yet, so only the CLI is timed")
        print(f"== agreement: {len(cases)} architectures (float64); {module_info}", flush=True)
        rows = run_agreement(binary, cases, workdir, module_python=exe)
        speed = []
        if not args.skip_speed:
            print("== speed", flush=True)
            sizes = [int(s) for s in args.sizes.split(",") if s]
            speed = run_speed(binary, workdir, sizes, args.repeats, exe)
    load_after = sh("cut -d' ' -f1-3 /proc/loadavg")
    if not args.no_report:
        import json
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        state = {"versions": versions(binary), "machine": machine_facts(),
                 "load_before": load_before, "load_after": load_after, "rows": rows,
                 "speed": speed, "module_info": module_info, "repeats": args.repeats,
                 "date": today}
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, f"{today}-neural-tangents.json"), "w") as f:
            json.dump(state, f, indent=1)
        render(state, args)


def render(state, args):
    args.repeats = state["repeats"]
    write_report(os.path.join(args.out, f"{state['date']}-neural-tangents.md"), state["versions"],
                 state["machine"], state["load_before"], state["load_after"], state["rows"],
                 state["speed"], state["module_info"], args)


if __name__ == "__main__":
    main()
