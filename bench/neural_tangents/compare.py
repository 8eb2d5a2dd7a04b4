#!/usr/bin/env python3
"""ntkit side by side with neural-tangents (issue 8): analytic kernels, empirical NTKs of the
same finite network, and predictions on the same kernels.

Run through bench/neural_tangents/run.sh, which makes the virtual environment (jax CPU +
neural-tangents, bench/neural_tangents/requirements.txt) and finds the ntkit binary.

  python compare.py --ntkit build/apps/ntkit/ntkit [--skip-speed] [--skip-analytic]
                    [--skip-empirical] [--skip-predict] [--merge OLD.json] [--out DIR]

1. Analytic agreement: for every architecture in CASES, one text is evaluated by both sides:
   ntkit's `kernel --arch TEXT` and neural-tangents' stax.serial(TEXT) (the same names and
   arguments; Tanh, Softplus, Elu, Selu, Silu map to stax.ElementwiseNumerical with jax.nn's
   function, Residual(f...) to FanOut(2), parallel(serial(f...), Identity), FanInSum).
   NNGP and NTK of K(X1, X1) and K(X1, X2) in float64 (jax_enable_x64); reported: the
   largest |a - b| / max|b| ("max-rel") and the largest elementwise |a - b| / |b| over entries
   with |b| >= 1e-6 max|b| ("elem-rel").
2. Empirical agreement (EMP_CASES): `ntkit empirical --params-out` draws a network and writes
   its weights; the same weights go into stax's params; NTK against nt.empirical_ntk_fn
   (implementations 1, 2, 3; per logit with trace_axes=()), NNGP against what of
   empirical_nngp_fn is comparable (see the report).
3. Prediction agreement (PRED_TASKS): gradient_descent_mse, gradient_descent_mse_ensemble and
   gp_inference of nt.predict against ntkit's Python module and `ntkit predict --kernels`, on
   identical precomputed kernels.
4. Speed (ratios neural-tangents / ntkit, after warm-up, medians, all cores): kernel_fn
   (depth-5 ReLU NNGP+NTK, n = 1024 and 4096, d = 784, float32 and float64), empirical NTK
   (3-layer ReLU MLP, --emp-width, n in --emp-sizes, d = 784), predictions (--predict-size).
Writes bench/results/<yyyy-mm-dd>-neural-tangents.md.

--conv runs only the convolutional networks instead (bench/neural_tangents/conv.py: kernel_fn
agreement over Conv/pool/padding/stride/parameterization combinations, and speed per kernel
entry of a Myrtle-5-like network and a depth-11 CNTK with GlobalAvgPool on 28 x 28 x 1 images)
and writes bench/results/<yyyy-mm-dd>-neural-tangents-conv.{md,json}.
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
warnings.filterwarnings("ignore", message=".*assumed to have unit norm.*")  # stax.Hermite

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

QUAD_DEG = 40       # ntkit's default Gauss-Hermite degree for Tanh, Softplus, ...
QUAD_DEG_REF = 150  # a finer neural-tangents rule, to tell whose quadrature is off
TARGET = 1e-10      # closed forms: agreement to 1e-10 relative in float64
EMP_TARGET = 1e-12  # empirical kernels of the same network, float64
PRED_TARGET = 1e-10  # predictions on identical kernels, float64

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
    # Hermite(n) = He_n/sqrt(n!): neural-tangents' kernel is k^n, right only for unit-variance
    # inputs (q1 = q2 = 1); ntkit's is exact at any variance. Compared where every Hermite input
    # has variance 1 (up to LayerNorm's eps): right after LayerNorm, or after LayerNorm and then
    # W_std = 1 Dense layers without bias (E[h_n(u)^2] = 1 at unit variance). (neural-tangents
    # rejects LayerNorm on the inputs: "LayerNorm only implemented for Gaussian inputs".)
    ("hermite-layernorm-d3-d2",
     "Dense(512, W_std=1.0), LayerNorm(), Hermite(3), Dense(512), LayerNorm(), Hermite(2), Dense(1)",
     "closed"),
    ("hermite-layernorm-d4-d1",
     "Dense(512, W_std=1.3, b_std=0.1), LayerNorm(), Hermite(4), "
     "Dense(512, W_std=1.2, b_std=0.2), LayerNorm(), Hermite(1), Dense(1, b_std=0.1)", "closed"),
    ("hermite-chain-d4-d1-d2",
     "Dense(512, b_std=0.3), LayerNorm(), Hermite(4), Dense(512), Hermite(1), Dense(512), Hermite(2), "
     "Dense(1, W_std=1.2, b_std=0.1)", "closed"),
    # Variance != 1 on purpose: neural-tangents' k^n is not the expectation there; the 50-digit
    # reference says which side is right (not counted against the target).
    ("hermite-nonunit-d2-d3",
     "Dense(512, W_std=1.5, b_std=0.1), Hermite(2), Dense(512, W_std=0.8), Hermite(3), Dense(1)",
     "nt-unit-variance"),
    # FanInConcat (features side by side): the width-weighted mean of the branches' kernels.
    ("fanin-concat-widths",
     "Dense(512, b_std=0.1), FanOut(2), "
     "parallel(serial(Relu(), Dense(384)), serial(Erf(), Dense(128))), FanInConcat(), "
     "Dense(512), Relu(), Dense(1)", "closed"),
    ("fanin-concat-equal3",
     "Dense(256, W_std=1.2, b_std=0.1), FanOut(3), "
     "parallel(serial(Relu(), Dense(256, W_std=1.4, b_std=0.1)), "
     "serial(LeakyRelu(0.1), Dense(256)), Identity()), FanInConcat(), "
     "Dense(512, W_std=1.3), Erf(), Dense(1)", "closed"),
    ("fanin-concat-standard",
     "Dense(256, W_std=1.2, b_std=0.1, parameterization='standard'), FanOut(2), "
     "parallel(serial(Relu(), Dense(300, W_std=1.4, parameterization='standard')), "
     "serial(Abs(), Dense(100, b_std=0.2, parameterization='standard'))), FanInConcat(), "
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
        elif kind == "nt-unit-variance":
            # Inputs of variance != 1 to an activation whose neural-tangents kernel assumes 1:
            # the reference decides; the ntkit-vs-NT difference is reported, not judged.
            ok = row.get("ntkit_vs_third", float("inf")) <= TARGET
            row["status"] = (f"NT assumes unit variance: NT vs ref {fmt(row.get('nt_vs_third', float('nan')))}; "
                             + ("ntkit on the reference" if ok else "ntkit OFF the reference"))
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


# ---- empirical NTK / NNGP of finite networks ------------------------------------------------
# ntkit draws the weights (`ntkit empirical --params-out`: per Dense, W out x in row-major, then
# b), neural-tangents gets the same numbers in its stax params (W in x out, b 1 x out).

EMP_CASES = [
    # (name, text); widths small enough for neural-tangents' Jacobian contraction
    ("relu-d1", "Dense(256, b_std=0.1), Relu(), Dense(1)"),
    ("relu-d3-w1.5-b0.05", mlp(3, "Relu()", 1.5, 0.05, 128)),
    ("relu-d10-w1.4-b0.1", mlp(10, "Relu()", 1.4, 0.1, 64)),
    ("relu-d3-nobias", mlp(3, "Relu()", 1.3, None, 128)),
    ("relu-d3-standard", mlp(3, "Relu()", 1.3, 0.1, 128, "standard", 1.2, 0.2)),
    ("erf-d2-standard-nobias", mlp(2, "Erf()", 1.2, None, 100, "standard")),
    ("mixed-param-d3",
     "Dense(96, W_std=1.4, b_std=0.1), Relu(), "
     "Dense(160, W_std=1.2, b_std=0.3, parameterization='standard'), Gelu(), "
     "Dense(80, W_std=1.1), Tanh(), Dense(1, W_std=0.9, b_std=0.1, parameterization='standard')"),
    ("leakyrelu-d4", mlp(4, "LeakyRelu(0.1)", 1.3, 0.1, 96)),
    ("abrelu-abs-d2", "Dense(128, W_std=1.1, b_std=0.3), ABRelu(-0.5, 1.2), "
                      "Dense(128, b_std=0.5), Abs(), Dense(1)"),
    ("erf-abc-gelu-d2", "Dense(128, W_std=0.9, b_std=0.1), Erf(a=2.0, b=0.5, c=0.3), "
                        "Dense(128, W_std=1.2, b_std=0.1), Gelu(), Dense(1)"),
    ("sin-cos-d2", "Dense(128, b_std=0.1), Sin(a=1.2, b=0.7, c=0.4), Dense(128, W_std=1.1, b_std=0.2), "
                   "Cos(), Dense(1)"),
    ("sigmoid_like-rbf-d2", "Dense(128, W_std=1.5, b_std=0.05), Sigmoid_like(), "
                            "Dense(128, b_std=0.2), Rbf(gamma=0.5), Dense(1)"),
    ("gaussian-exp-d2", "Dense(128, b_std=0.1), Gaussian(a=1.0, b=-0.5), Dense(128, b_std=0.1), "
                        "Exp(a=0.5, b=0.3), Dense(1)"),
    ("polynomial-monomial-d2", "Dense(128, W_std=0.7, b_std=0.1), Polynomial(coef=[0.1, 1.0, 0.5, -0.2]), "
                               "Dense(128, W_std=0.8, b_std=0.1), Monomial(2), Dense(1)"),
    ("rectmonomial2-d2", mlp(2, "RectifiedMonomial(2)", 1.0, 0.1, 128)),
    ("tanh-softplus-d2", "Dense(128, W_std=1.2, b_std=0.1), Tanh(), Dense(128, b_std=0.1), Softplus(), Dense(1)"),
    ("elu-selu-silu-d3", "Dense(96, W_std=1.1, b_std=0.1), Elu(), Dense(96), Selu(), "
                         "Dense(96, W_std=1.2, b_std=0.1), Silu(), Dense(1)"),
    ("layernorm-relu-d3",
     "Dense(128, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), "
     "Dense(128, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), "
     "Dense(128, W_std=1.5, b_std=0.1), LayerNorm(), Relu(), Dense(1)"),
    ("residual-relu-d4",
     "Dense(128, W_std=1.4, b_std=0.1), "
     "Residual(Relu(), Dense(128, W_std=1.4, b_std=0.1)), "
     "Residual(Relu(), Dense(128, W_std=1.4, b_std=0.1)), "
     "Residual(Relu(), Dense(128, W_std=1.4, b_std=0.1)), Relu(), Dense(1)"),
    ("layernorm-residual-standard",
     "Dense(128, W_std=1.2, b_std=0.1, parameterization='standard'), "
     "Residual(LayerNorm(), Relu(), Dense(128, W_std=1.4, b_std=0.1, parameterization='standard')), "
     "Residual(LayerNorm(), Gelu(), Dense(128, W_std=1.4, b_std=0.1)), "
     "LayerNorm(eps=1e-3), Erf(), Dense(1, b_std=0.1, parameterization='standard')"),
    ("fanout3-parallel",
     "Dense(128, W_std=1.2, b_std=0.1), FanOut(3), "
     "parallel(serial(Relu(), Dense(128, W_std=1.5)), "
     "serial(Erf(), Dense(128, b_std=0.2)), Identity()), FanInSum(), "
     "Gelu(), Dense(1, W_std=0.7)"),
    ("relu-d2-5-outputs", "Dense(128, W_std=1.4, b_std=0.1), Relu(), Dense(128, W_std=1.4, b_std=0.1), Relu(), "
                          "Dense(5, W_std=1.1, b_std=0.2)"),
    ("ends-in-erf-4-outputs", "Dense(128, W_std=1.3, b_std=0.1), Relu(), Dense(4, W_std=1.2, b_std=0.3), Erf()"),
    ("ends-in-layernorm-6-outputs", "Dense(128, W_std=1.3, b_std=0.1), Gelu(), Dense(6, b_std=0.3), LayerNorm()"),
    # (appended: a case's seed is its index, so earlier cases keep their networks)
    ("fanin-concat",  # branches of widths 96, 32 and 128 (Identity: no parameters), concatenated
     "Dense(128, b_std=0.1), FanOut(3), "
     "parallel(serial(Relu(), Dense(96, W_std=1.3)), serial(Erf(), Dense(32, b_std=0.2)), Identity()), "
     "FanInConcat(), Dense(128, W_std=1.2, b_std=0.1), Relu(), Dense(1)"),
    ("hermite-d3-d2", "Dense(128, b_std=0.1), LayerNorm(), Hermite(3), Dense(128, W_std=0.9), Hermite(2), "
                      "Dense(1, b_std=0.1)"),
]
# Cases also compared per logit pair (--full-logits vs trace_axes=()).
EMP_FULL_LOGITS = {"relu-d2-5-outputs", "ends-in-erf-4-outputs", "ends-in-layernorm-6-outputs"}
EMP_SPEED_ARCH = ", ".join(["Dense({w}, W_std=1.4, b_std=0.1), Relu()"] * 3) + ", Dense(1, W_std=1.4, b_std=0.1)"


def nt_layers(text):
    """The top-level layers of `text` as stax triples."""
    return eval(f"[{text}]", {"__builtins__": {}}, nt_namespace(QUAD_DEG))


def layer_descriptions(text):
    """(name, kwargs) per top-level layer of `text` (to read the readout's W_std, b_std)."""
    names = list(nt_namespace(QUAD_DEG))
    ns = {n: (lambda *a, _n=n, **k: (_n, a, k)) for n in names}
    return eval(f"[{text}]", {"__builtins__": {}}, ns)


def stax_params_from_flat(template, flat):
    """`template` (stax params) with every Dense's (W, b) replaced by ntkit's flat parameters."""
    def walk(node, pos):
        if (isinstance(node, (tuple, list)) and len(node) == 2 and getattr(node[0], "ndim", 0) == 2
                and (node[1] is None or getattr(node[1], "ndim", 0) >= 1)):
            w, b = node
            n_in, n_out = w.shape
            w_new = flat[pos:pos + n_in * n_out].reshape(n_out, n_in).T
            pos += n_in * n_out
            b_new = None
            if b is not None:
                b_new = flat[pos:pos + n_out].reshape(b.shape)
                pos += n_out
            return (jnp.asarray(w_new), None if b_new is None else jnp.asarray(b_new)), pos
        if isinstance(node, (tuple, list)):
            out = []
            for child in node:
                child, pos = walk(child, pos)
                out.append(child)
            return (tuple(out) if isinstance(node, tuple) else out), pos
        return node, pos
    params, used = walk(template, 0)
    if used != flat.size:
        raise ValueError(f"parameter count: ntkit {flat.size}, neural-tangents' Dense layers {used}")
    return params


def nt_empirical(text, params_flat, x1, x2, implementations=(1,)):
    """neural-tangents' empirical NTK (per implementation), NNGP comparable with ntkit's, and
    the per-logit NTK (trace_axes=()), with ntkit's weights."""
    layers = nt_layers(text)
    init_fn, apply_fn, _ = stax.serial(*layers)
    _, template = init_fn(jax.random.PRNGKey(0), (-1, x1.shape[1]))
    params = stax_params_from_flat(template, params_flat)
    a, b = jnp.asarray(x1), (None if x2 is None else jnp.asarray(x2))
    out = {"ntk": {impl: np.asarray(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0,
                                                          implementation=impl)(a, b, params))
                   for impl in implementations}}
    out["ntk_full"] = np.asarray(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0)(a, b, params))
    last_name, _, last_kw = layer_descriptions(text)[-1]
    if last_name == "Dense":
        # ntkit's NNGP of a network ending in Dense: E over the readout of f(x)·f(x') given the
        # features h below it, W_std² h·h'/n_in + b_std². neural-tangents' empirical_nngp_fn
        # of the layers below (trace_axes=(-1,): h·h'/n_in), mapped by the same affine formula.
        _, apply_below, _ = stax.serial(*layers[:-1])
        hh = np.asarray(nt.empirical_nngp_fn(apply_below)(a, b, params[:-1]))
        w_std = last_kw.get("W_std", 1.0)
        b_std = last_kw.get("b_std", None)
        out["nngp"] = w_std ** 2 * hh + (0.0 if b_std is None else b_std ** 2)
        out["nngp_how"] = "readout expectation of empirical_nngp_fn(layers below)"
    else:
        out["nngp"] = np.asarray(nt.empirical_nngp_fn(apply_fn)(a, b, params))
        out["nngp_how"] = "empirical_nngp_fn (output Gram / O)"
    out["outputs"] = int(np.asarray(apply_fn(params, a)).shape[-1])
    return out


def ntkit_empirical_cli(binary, text, p1, p2, workdir, seed, full_logits=False):
    out = os.path.join(workdir, "E.npy")
    params = os.path.join(workdir, "E.params.npy")
    cmd = [binary, "empirical", "--arch", text, "--x1", p1, "--get", "both", "-o", out,
           "--seed", str(seed), "--params-out", params]
    if p2:
        cmd += ["--x2", p2]
    if full_logits:
        cmd += ["--full-logits"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise NtkitError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                         f"exit {proc.returncode}")
    return (np.load(os.path.join(workdir, "E.nngp.npy")), np.load(os.path.join(workdir, "E.ntk.npy")),
            np.load(params).ravel())


def run_empirical_agreement(binary, workdir, only=()):
    rng = np.random.default_rng(8)
    d = 10
    x1 = rng.standard_normal((16, d))
    x2 = rng.standard_normal((11, d))
    x2[0] = x1[0]
    p1, p2 = os.path.join(workdir, "e1.npy"), os.path.join(workdir, "e2.npy")
    np.save(p1, x1)
    np.save(p2, x2)
    rows = []
    for seed, (name, text) in enumerate(EMP_CASES):
        if only and name not in only:
            continue
        row = {"name": name, "text": text, "seed": seed}
        try:
            got, params = {}, None
            for t, (xb, pb) in {"XX": (None, None), "XY": (x2, p2)}.items():
                nngp_k, ntk_k, flat = ntkit_empirical_cli(binary, text, p1, pb, workdir, seed)
                if params is not None and not np.array_equal(params, flat):
                    raise NtkitError("the same --seed gave different parameters")
                params = flat
                got[t] = (nngp_k, ntk_k)
                if name in EMP_FULL_LOGITS:
                    got[t + "-full"] = ntkit_empirical_cli(binary, text, p1, pb, workdir, seed, True)[:2]
        except NtkitError as exc:
            row["status"] = f"ntkit error: {exc}"[:200]
            rows.append(row)
            print(f"{name:28s} {row['status']}", flush=True)
            continue
        row["parameters"] = int(params.size)
        try:
            ref = {t: nt_empirical(text, params, x1, xb, implementations=(1, 2, 3))
                   for t, xb in (("XX", None), ("XY", x2))}
        except Exception as exc:  # neural-tangents rejects the architecture
            row["status"] = f"neural-tangents error: {type(exc).__name__}: {exc}"[:200]
            rows.append(row)
            print(f"{name:28s} {row['status']}", flush=True)
            continue
        row["outputs"] = ref["XX"]["outputs"]
        row["nngp_how"] = ref["XX"]["nngp_how"]
        row["ntk"] = max(rel_errors(got[t][1], ref[t]["ntk"][1])[0] for t in ref)
        row["ntk_elem"] = max(rel_errors(got[t][1], ref[t]["ntk"][1])[1] for t in ref)
        row["ntk_impl"] = {str(i): max(rel_errors(got[t][1], ref[t]["ntk"][i])[0] for t in ref) for i in (2, 3)}
        row["nngp"] = max(rel_errors(got[t][0], ref[t]["nngp"])[0] for t in ref)
        if name in EMP_FULL_LOGITS:
            errs = []
            for t in ref:
                full = ref[t]["ntk_full"]  # (n1, n2, O, O)
                n1, n2, o, _ = full.shape
                errs.append(rel_errors(got[t + "-full"][1], full.transpose(0, 2, 1, 3).reshape(n1 * o, n2 * o))[0])
            row["ntk_full"] = max(errs)
        row["worst"] = max(row["ntk"], row["nngp"], row.get("ntk_full", 0.0), *row["ntk_impl"].values())
        row["status"] = "ok" if row["worst"] <= EMP_TARGET else f"MISSED ({fmt(row['worst'])})"
        rows.append(row)
        print(f"{name:28s} P={params.size:6d} O={row['outputs']}  ntk {fmt(row['ntk'])} "
              f"(impl 2 {fmt(row['ntk_impl']['2'])}, 3 {fmt(row['ntk_impl']['3'])})  nngp {fmt(row['nngp'])}"
              + (f"  full-logits ntk {fmt(row['ntk_full'])}" if "ntk_full" in row else "")
              + f"  {row['status']}", flush=True)
    return rows


EMP_SPEED_SNIPPET = r"""
import sys, time, statistics, json
import numpy as np
import ntkit
arch, path, repeats, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
x = np.load(path)
net = ntkit.Mlp(arch, x.shape[1], seed=seed)
k = net.empirical_kernel(x, get="ntk")
times = []
for _ in range(repeats):
    t0 = time.perf_counter(); k = net.empirical_kernel(x, get="ntk"); times.append(time.perf_counter() - t0)
np.save(out + ".ntk.npy", k); np.save(out + ".params.npy", net.parameters)
print(json.dumps({"median": statistics.median(times), "times": times}))
"""


def run_empirical_speed(binary, workdir, sizes, width, repeats, module_python):
    import json
    arch = EMP_SPEED_ARCH.format(w=width)
    d = 784
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).standard_normal((n, d))
        path = os.path.join(workdir, f"xe_{n}.npy")
        np.save(path, x)
        row = {"n": n, "d": d, "width": width, "arch": arch, "load_before": sh("cut -d' ' -f1-3 /proc/loadavg")}
        # ntkit CLI: a whole process (start, drawing the weights, the kernel, writing n x n).
        out = os.path.join(workdir, "Espeed.npy")
        params = os.path.join(workdir, "Espeed.params.npy")
        cmd = [binary, "empirical", "--arch", arch, "--x1", path, "--get", "ntk", "-o", out, "--seed", "0"]
        subprocess.run(cmd + ["--params-out", params], check=True, capture_output=True)  # warm-up
        row["cli"], row["cli_times"] = median_time(
            lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)
        got = np.load(out)
        flat = np.load(params).ravel()
        if module_python:
            proc = subprocess.run([module_python, "-c", EMP_SPEED_SNIPPET, arch, path, str(repeats), "0",
                                   os.path.join(workdir, "Emod")], capture_output=True, text=True)
            if proc.returncode == 0:
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                row["module"], row["module_times"] = res["median"], res["times"]
                mod_k = np.load(os.path.join(workdir, "Emod.ntk.npy"))
                mod_p = np.load(os.path.join(workdir, "Emod.params.npy"))
            else:
                row["module_error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        # neural-tangents: empirical_ntk_fn, jitted, structured derivatives (implementation 3,
        # its fastest here; 1 = Jacobian contraction and 2 = NTK-vector products are far slower
        # at this size, see findings.md), with ntkit's weights (the CLI's network).
        # The BLAS floor under both (the same algorithm: per Dense layer z = a W h + c b, the
        # forward product, the backward product, and the Grams H Hᵀ and G Gᵀ whose Hadamard
        # product is the layer's NTK term): those GEMMs in NumPy, all cores.
        widths = [d] + [width] * 3 + [1]
        hs = [np.random.default_rng(1).standard_normal((n, w)) for w in widths]
        ws = [np.random.default_rng(2).standard_normal((a, b)) for a, b in zip(widths[:-1], widths[1:])]

        def blas_floor():
            for i, w in enumerate(ws):
                hs[i] @ w                  # forward
                hs[i + 1] @ w.T            # backward (cotangent to the layer below)
                hs[i] @ hs[i].T            # H Hᵀ
                hs[i + 1] @ hs[i + 1].T    # G Gᵀ
        row["floor"], row["floor_times"] = median_time(blas_floor, repeats, warmup=True)
        del hs, ws
        init_fn, apply_fn, _ = stax.serial(*nt_layers(arch))
        _, template = init_fn(jax.random.PRNGKey(0), (-1, d))
        nt_params = stax_params_from_flat(template, flat)
        fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=3))
        xj = jnp.asarray(x)

        def nt_call():
            return fn(xj, None, nt_params).block_until_ready()
        t0 = time.perf_counter()
        ref = np.asarray(nt_call())
        row["nt_first"] = time.perf_counter() - t0  # compile + first run
        row["nt"], row["nt_times"] = median_time(nt_call, repeats)
        row["agree_cli"] = rel_errors(got, ref)[0]
        if "module" in row:
            if np.array_equal(mod_p, flat):
                row["agree_module"] = rel_errors(mod_k, ref)[0]
            else:
                nt_params_mod = stax_params_from_flat(template, mod_p)
                row["agree_module"] = rel_errors(mod_k, np.asarray(fn(xj, None, nt_params_mod)))[0]
        row["load_after"] = sh("cut -d' ' -f1-3 /proc/loadavg")
        rows.append(row)
        line = (f"n={n:5d} width {width}: BLAS floor {row['floor']:.3f} s, neural-tangents {row['nt']:.3f} s, "
                f"ntkit CLI {row['cli']:.3f} s "
                f"(ratio {row['nt'] / row['cli']:.1f}x)")
        if "module" in row:
            line += f", ntkit module {row['module']:.3f} s (ratio {row['nt'] / row['module']:.1f}x)"
        print(line + f"  [agree {fmt(row['agree_cli'])}; load {row['load_before']} -> {row['load_after']}]",
              flush=True)
        os.remove(path)
    return rows


# ---- predictions: nt.predict vs ntkit on identical precomputed kernels -------------------------
# Conventions: neural-tangents' gradient_descent_mse(_ensemble) is gradient flow on the loss
# ½ Σ (f - y)² / y.size with time in units of learning_rate (absolute time = learning_rate · t);
# ntkit's loss="mean" (CLI --loss mean) is the same loss, its times are absolute, so
# neural-tangents' (t, learning_rate) is ntkit's t · learning_rate. ntkit's train_after_steps /
# CLI --lr are discrete gradient descent steps, which neural-tangents has no closed form for
# (its gradient_descent is an ODE of the flow too): not compared.

KernelNT = __import__("collections").namedtuple("Kernel", ["nngp", "ntk"])

PRED_TASKS = [
    # kind, get, learning_rate, diag_reg, times (None: none; inf allowed)
    {"kind": "mse", "get": "ntk", "lr": 1.0, "diag_reg": 0.0, "times": [0.0, 0.5, 3.0, 20.0, 200.0, 5e3, float("inf")]},
    {"kind": "mse", "get": "ntk", "lr": 0.25, "diag_reg": 1e-3, "times": [0.0, 0.5, 3.0, 20.0, 200.0, 5e3, float("inf")]},
    {"kind": "mse", "get": "nngp", "lr": 2.0, "diag_reg": 0.0, "times": [0.1, 1.0, 10.0, 100.0, float("inf")]},
    {"kind": "ensemble", "get": "ntk", "lr": 1.0, "diag_reg": 0.0, "times": [0.0, 0.5, 3.0, 20.0, 200.0, float("inf")]},
    {"kind": "ensemble", "get": "nngp", "lr": 1.0, "diag_reg": 0.0, "times": [0.0, 0.5, 3.0, 20.0, 200.0, float("inf")]},
    {"kind": "ensemble", "get": "ntk", "lr": 0.3, "diag_reg": 1e-3, "times": [0.5, 3.0, 20.0, 200.0, float("inf")]},
    {"kind": "gp", "get": "nngp", "diag_reg": 0.0},
    {"kind": "gp", "get": "ntk", "diag_reg": 0.0},
    {"kind": "gp", "get": "ntkgp", "diag_reg": 0.0},
    {"kind": "gp", "get": "nngp", "diag_reg": 1e-4},
    {"kind": "gp", "get": "ntk", "diag_reg": 1e-4},
    {"kind": "gp", "get": "ntkgp", "diag_reg": 1e-4},
]


def task_label(task):
    s = {"mse": "gradient_descent_mse", "ensemble": "gradient_descent_mse_ensemble",
         "gp": "gp_inference"}[task["kind"]] + f" get={task['get']}"
    if "lr" in task:
        s += f" lr={task['lr']:g}"
    s += f" diag_reg={task['diag_reg']:g}"
    return s


def nt_blocks(K):
    return {k: jnp.asarray(v) for k, v in K.items()}


def nt_lookup_kernel_fn(Kj):
    """A kernel_fn for gradient_descent_mse_ensemble that returns the precomputed blocks: the
    inputs are row indices (train 0..n-1, test n..n+m-1)."""
    n, m = Kj["ntk_tt"].shape[0], Kj["ntk_st"].shape[0]

    def kernel_fn(x1, x2, get, **kwargs):
        block = ("tt" if int(x1[0, 0]) == 0 else "st") if x2 is not None else \
                ("tt" if int(x1[0, 0]) == 0 else "ss")
        if isinstance(get, str):
            return Kj[f"{get}_{block}"]
        cls = __import__("collections").namedtuple("Kernel", list(get))
        return cls(*(Kj[f"{k}_{block}"] for k in get))
    x_train = jnp.arange(n, dtype=jnp.float64)[:, None]
    x_test = jnp.arange(n, n + m, dtype=jnp.float64)[:, None]
    return kernel_fn, x_train, x_test


def nt_predict(task, K, y, f0_train, f0_test):
    """neural-tangents' outputs for `task` on the kernels K (dict of blocks tt, st, ss)."""
    g, dr = task["get"], task["diag_reg"]
    if task["kind"] == "mse":
        fn = nt.predict.gradient_descent_mse(jnp.asarray(K[g + "_tt"]), jnp.asarray(y), learning_rate=task["lr"],
                                             diag_reg=dr)
        train, test = fn(jnp.asarray(task["times"]), jnp.asarray(f0_train), jnp.asarray(f0_test),
                         jnp.asarray(K[g + "_st"]))
        return {"train": np.asarray(train), "test": np.asarray(test)}
    if task["kind"] == "ensemble":
        kernel_fn, x_train, x_test = nt_lookup_kernel_fn(nt_blocks(K))
        fn = nt.predict.gradient_descent_mse_ensemble(kernel_fn, x_train, jnp.asarray(y), learning_rate=task["lr"],
                                                      diag_reg=dr)
        t = jnp.asarray(task["times"])
        test = fn(t, x_test, get=g, compute_cov=True)
        train = fn(t, None, get=g, compute_cov=True)
        return {"test": np.asarray(test.mean), "test_cov": np.asarray(test.covariance),
                "train": np.asarray(train.mean), "train_cov": np.asarray(train.covariance)}
    fn = nt.predict.gp_inference(KernelNT(jnp.asarray(K["nngp_tt"]), jnp.asarray(K["ntk_tt"])), jnp.asarray(y),
                                 diag_reg=dr)
    out = fn(get=g, k_test_train=KernelNT(jnp.asarray(K["nngp_st"]), jnp.asarray(K["ntk_st"])),
             k_test_test=KernelNT(jnp.asarray(K["nngp_ss"]), jnp.asarray(K["ntk_ss"])))
    return {"test": np.asarray(out.mean), "test_cov": np.asarray(out.covariance)}


# Run by an interpreter that can import ntkit: `python -c PREDICT_SNIPPET IN.npz TASKS.json OUT.npz REPEATS`.
# REPEATS = 0: compute each task once and save the outputs; > 0: one warm-up, then time each task
# (a fresh predictor each time: factorization + all times) and print the medians as JSON.
PREDICT_SNIPPET = r"""
import sys, json, time, statistics
import numpy as np
import ntkit
K = dict(np.load(sys.argv[1])); tasks = json.loads(open(sys.argv[2]).read())
out_path, repeats = sys.argv[3], int(sys.argv[4])
y, f0, f0s = K["y"], K["f0_train"], K["f0_test"]
def run(task):
    g, dr = task["get"], task["diag_reg"]
    if task["kind"] == "mse":
        ts = [t * task["lr"] for t in task["times"]]
        train, test = ntkit.predict_mse(K[g + "_tt"], y, ts, K[g + "_st"], loss="mean", diag_reg=dr,
                                        f0_train=f0, f0_test=f0s)
        return {"train": train, "test": test}
    pair_tt, pair_st, pair_ss = ((K["nngp_tt"], K["ntk_tt"]), (K["nngp_st"], K["ntk_st"]),
                                 (K["nngp_ss"], K["ntk_ss"]))
    if task["kind"] == "ensemble":
        ep = ntkit.EnsemblePredictor(pair_tt, y, get=g, loss="mean", diag_reg=dr)
        ts = [t * task["lr"] for t in task["times"]]
        mean, cov = ep.test(ts, pair_st, K["nngp_ss"])
        if repeats:
            return {"test": mean, "test_cov": cov}
        tmean, tcov = ep.train(ts, covariance=True)
        return {"test": mean, "test_cov": cov, "train": tmean, "train_cov": tcov}
    mean, cov = ntkit.gp_inference(pair_tt, y, pair_st, pair_ss, get=g, diag_reg=dr)
    return {"test": mean, "test_cov": cov}
if repeats == 0:
    res = {}
    for i, task in enumerate(tasks):
        try:
            for k, v in run(task).items():
                res[f"{i}/{k}"] = np.asarray(v)
        except Exception as exc:
            res[f"{i}/error"] = np.array(f"{type(exc).__name__}: {exc}")
    np.savez(out_path, **res)
else:
    res = []
    for task in tasks:
        run(task)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter(); run(task); times.append(time.perf_counter() - t0)
        res.append({"median": statistics.median(times), "times": times})
    print(json.dumps(res))
"""


def prediction_kernels(binary, workdir, n, m, d, o, arch, seed):
    """NNGP and NTK blocks of `arch` (ntkit kernel) on random inputs, plus targets and f0."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + m, d))
    path = os.path.join(workdir, f"xp_{n}.npy")
    np.save(path, x)
    nngp_all, ntk_all = ntkit_kernels(binary, arch, path, None, workdir)
    os.remove(path)
    K = {}
    for k, a in (("nngp", nngp_all), ("ntk", ntk_all)):
        K[k + "_tt"], K[k + "_st"], K[k + "_ss"] = a[:n, :n].copy(), a[n:, :n].copy(), a[n:, n:].copy()
    K["y"] = rng.standard_normal((n, o))
    K["f0_train"] = 0.3 * rng.standard_normal((n, o))
    K["f0_test"] = 0.3 * rng.standard_normal((m, o))
    return K


def ntkit_predict_module(module_python, K, tasks, workdir, repeats=0):
    import json
    kpath, tpath, opath = (os.path.join(workdir, f) for f in ("pk.npz", "pt.json", "po.npz"))
    np.savez(kpath, **K)
    with open(tpath, "w") as f:
        json.dump(tasks, f)
    proc = subprocess.run([module_python, "-c", PREDICT_SNIPPET, kpath, tpath, opath, str(repeats)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise NtkitError((proc.stderr.strip().splitlines() or ["?"])[-1][:200])
    if repeats:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    z = np.load(opath)
    res = [dict() for _ in tasks]
    for key in z.files:
        i, k = key.split("/")
        res[int(i)][k] = z[key]
    return res


def ntkit_predict_cli(binary, K, task, workdir, keep_files=False):
    """The same task through `ntkit predict --kernels` ({"error": ...} if the CLI refuses it)."""
    kdir = os.path.join(workdir, "pkernels")
    os.makedirs(kdir, exist_ok=True)
    for k in (() if keep_files else ("nngp", "ntk")):
        np.save(os.path.join(kdir, f"train.{k}.npy"), K[k + "_tt"])
        np.save(os.path.join(kdir, f"test.{k}.npy"), K[k + "_st"])
    if not keep_files:
        np.save(os.path.join(kdir, "test_test.nngp.npy"), K["nngp_ss"])
        np.save(os.path.join(kdir, "test_test.ntk.npy"), K["ntk_ss"])
    for k in ("y", "f0_train", "f0_test"):
        np.save(os.path.join(workdir, f"p_{k}.npy"), K[k])
    out = os.path.join(workdir, "pout")
    shutil.rmtree(out, ignore_errors=True)
    times = ([t * task["lr"] for t in task["times"]] if task["kind"] != "gp" else [float("inf")])
    cmd = [binary, "predict", "--kernels", kdir, "--train", os.path.join(workdir, "p_y.npy"),
           "--time", ",".join("inf" if t == float("inf") else repr(float(t)) for t in times),
           "--get", task["get"], "--diag-reg", repr(task["diag_reg"]), "-o", out]
    if task["kind"] != "gp":  # the t = inf posterior does not depend on the loss's scale
        cmd += ["--loss", "mean"]
    if task["kind"] == "mse":
        cmd += ["--f0", os.path.join(workdir, "p_f0_train.npy"), os.path.join(workdir, "p_f0_test.npy")]
    else:
        cmd += ["--ensemble"]
    ntkit_predict_cli.last_cmd = cmd
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    res = {k: np.load(os.path.join(out, k + ".npy")) for k in ("train", "test", "train_cov", "test_cov")
           if os.path.exists(os.path.join(out, k + ".npy"))}
    if task["kind"] == "gp":  # t = inf only: drop the time axis; the train side is not part of gp_inference
        res = {k: v[0] for k, v in res.items() if k.startswith("test")}
    return res


def compare_outputs(got, ref):
    """Largest max-rel over the arrays both have, per kind (means, covariances)."""
    errs = {}
    for k in ref:
        if k not in got:
            continue
        a, b = np.asarray(got[k], np.float64), np.asarray(ref[k], np.float64)
        if a.shape != b.shape:
            a = a.reshape(b.shape) if a.size == b.size else a
        e = rel_errors(a, b)[0]
        which = "cov" if k.endswith("_cov") else "mean"
        errs[which] = max(errs.get(which, 0.0), e)
    return errs


def run_predict_agreement(binary, workdir, module_python):
    n, m, d, o = 48, 20, 8, 3
    arch = mlp(3, "Relu()", 1.4, 0.1, 512)
    K = prediction_kernels(binary, workdir, n, m, d, o, arch, seed=88)
    cond = {k: float(np.linalg.cond(K[k + "_tt"])) for k in ("nngp", "ntk")}
    print(f"kernels: {arch} on {n} train / {m} test points, d = {d}, {o} outputs; "
          f"cond(NNGP) {cond['nngp']:.1e}, cond(NTK) {cond['ntk']:.1e}", flush=True)
    mod = None
    if module_python:
        try:
            mod = ntkit_predict_module(module_python, K, PRED_TASKS, workdir)
        except NtkitError as exc:
            print(f"ntkit module: {exc}", flush=True)
    rows = []
    for i, task in enumerate(PRED_TASKS):
        row = {"task": task_label(task), **{k: v for k, v in task.items() if k != "times"},
               "times": ["inf" if t == float("inf") else t for t in task.get("times", [float("inf")])]}
        ref = nt_predict(task, K, K["y"], K["f0_train"], K["f0_test"])
        if mod is not None:
            if "error" in mod[i]:
                row["module_error"] = str(mod[i]["error"])[:200]
            else:
                row["module"] = compare_outputs(mod[i], ref)
        cli = ntkit_predict_cli(binary, K, task, workdir)
        if "error" in cli:
            row["cli_error"] = cli["error"]
        else:
            row["cli"] = compare_outputs(cli, ref)
        worst = max([v for r in ("module", "cli") if r in row for v in row[r].values()] or [float("nan")])
        row["worst"] = worst
        row["status"] = ("ok" if worst <= PRED_TARGET else
                         (f"MISSED ({fmt(worst)})" if worst == worst else "not compared"))
        rows.append(row)
        parts = [f"{r} mean {fmt(row[r]['mean'])}" + (f" cov {fmt(row[r]['cov'])}" if "cov" in row[r] else "")
                 for r in ("module", "cli") if r in row]
        parts += [f"{r}: {row[r + '_error']}" for r in ("module", "cli") if r + "_error" in row]
        print(f"{row['task']:60s} " + "; ".join(parts) + f"  {row['status']}", flush=True)
    return {"rows": rows, "n": n, "m": m, "d": d, "o": o, "arch": arch, "cond": cond}


PRED_SPEED_TASKS = [
    {"kind": "mse", "get": "ntk", "lr": 1.0, "diag_reg": 1e-4},
    {"kind": "ensemble", "get": "ntk", "lr": 1.0, "diag_reg": 1e-4},
    {"kind": "gp", "get": "ntk", "diag_reg": 1e-4},
]


def run_predict_speed(binary, workdir, n, m, repeats, module_python):
    d, o = 784, 1
    arch = mlp(3, "Relu()", 1.4, 0.1, 512)
    K = prediction_kernels(binary, workdir, n, m, d, o, arch, seed=4096)
    times = [0.0] + list(np.geomspace(1e-2, 1e4, 18)) + [float("inf")]  # 20 times
    tasks = [dict(t, times=times) if t["kind"] != "gp" else dict(t) for t in PRED_SPEED_TASKS]
    Kj = nt_blocks(K)  # on neural-tangents' side as jax arrays before the clock starts
    tj = jnp.asarray(times)
    mod = None
    if module_python:
        try:
            mod = ntkit_predict_module(module_python, K, tasks, workdir, repeats)
        except NtkitError as exc:
            print(f"ntkit module: {exc}", flush=True)
    rows = []
    for i, task in enumerate(tasks):
        row = {"task": task_label(task), "n": n, "m": m, "T": len(task.get("times", [0])),
               "load_before": sh("cut -d' ' -f1-3 /proc/loadavg")}

        def nt_call():  # a fresh predictor: factorization + every time, test side only
            if task["kind"] == "mse":
                fn = nt.predict.gradient_descent_mse(Kj["ntk_tt"], Kj["y"], learning_rate=task["lr"],
                                                     diag_reg=task["diag_reg"])
                return jax.block_until_ready(fn(tj, Kj["f0_train"], Kj["f0_test"], Kj["ntk_st"]))
            return jax.block_until_ready(jax.tree_util.tree_leaves(nt_predict_test_only(task, Kj, tj)))
        nt_call()  # warm-up
        row["nt"], row["nt_times"] = median_time(nt_call, repeats)
        # ntkit CLI: `ntkit predict --kernels` as a process (reading the kernels' .npy files
        # included; predict_mse / the ensemble take every time at once).
        # Not for the ensemble: the CLI also writes the training covariances (T x n x n, 2.7 GB
        # at n = 4096, T = 20), which the timed neural-tangents call does not compute.
        cli_task = dict(task, times=times) if task["kind"] != "gp" else dict(task)
        if (task["kind"] != "ensemble"
                and ntkit_predict_cli(binary, K, cli_task, workdir, keep_files=i > 0).get("error") is None):
            cmd = ntkit_predict_cli.last_cmd
            row["cli"], row["cli_times"] = median_time(
                lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)
        if mod is not None:
            row["module"], row["module_times"] = mod[i]["median"], mod[i]["times"]
        row["load_after"] = sh("cut -d' ' -f1-3 /proc/loadavg")
        rows.append(row)
        print(f"{row['task']:50s} n={n} m={m} T={row['T']}: neural-tangents {row['nt']:.3f} s"
              + (f", ntkit module {row['module']:.3f} s (ratio {row['nt'] / row['module']:.1f}x)" if "module" in row else "")
              + (f", ntkit CLI {row['cli']:.3f} s (ratio {row['nt'] / row['cli']:.1f}x)" if "cli" in row else "")
              + f"  [load {row['load_before']} -> {row['load_after']}]", flush=True)
    return rows


def nt_predict_test_only(task, Kj, times):
    """Test mean and covariance only (what the speed rows time), as nt_predict."""
    g, dr = task["get"], task["diag_reg"]
    if task["kind"] == "gp":
        fn = nt.predict.gp_inference(KernelNT(Kj["nngp_tt"], Kj["ntk_tt"]), Kj["y"], diag_reg=dr)
        return fn(get=g, k_test_train=KernelNT(Kj["nngp_st"], Kj["ntk_st"]),
                  k_test_test=KernelNT(Kj["nngp_ss"], Kj["ntk_ss"]))
    kernel_fn, x_train, x_test = nt_lookup_kernel_fn(Kj)
    fn = nt.predict.gradient_descent_mse_ensemble(kernel_fn, x_train, Kj["y"],
                                                  learning_rate=task["lr"], diag_reg=dr)
    return fn(times, x_test, get=g, compute_cov=True)


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
    # The source tree the binary was built in (a build folder inside a checkout or worktree),
    # else this repository.
    src = sh(f"git -C {os.path.dirname(binary)} rev-parse --show-toplevel") or REPO
    v["ntkit"] = (sh(f"git -C {src} rev-parse --short HEAD") + " (git HEAD"
                  + ("" if src == REPO else f" of {src}") + "; "
                  + ("uncommitted changes in the work tree" if sh(f"git -C {src} status --porcelain -- src include apps")
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


def report_empirical(L, state):
    rows = state.get("empirical") or []
    if rows:
        L.append("## Empirical NTK and NNGP of one finite network (float64, the same weights)\n")
        L.append(
            "ntkit draws the network (`ntkit empirical --arch TEXT --get both --seed S --params-out P.npy`, "
            "K(X1, X1) and K(X1, X2) with X1 16 x 10, X2 11 x 10 standard normal, X2[0] = X1[0]); its "
            "parameter vector (per Dense: W out x in, row-major, then b) is loaded into the params of "
            "neural-tangents' `stax.serial(TEXT)` (W in x out, b 1 x out), and "
            "`nt.empirical_ntk_fn(apply_fn, trace_axes=(-1,), vmap_axes=0, implementation=i)` is evaluated "
            "with jax_enable_x64, i = 1 (Jacobian contraction, the table's main column), 2 (NTK-vector "
            "products) and 3 (structured derivatives). Columns are max|a - b| / max|b|, worst over both "
            f"input pairs (a = ntkit, b = neural-tangents); target {EMP_TARGET:g}.\n\n"
            "- NTK, both sides average over the O outputs (neural-tangents' trace_axes=(-1,), ntkit's "
            "default); 'per logit' compares `--full-logits` ((n1·O) x (n2·O)) with trace_axes=() "
            "((n1, n2, O, O), axes reordered), for the multi-output cases.\n"
            "- NNGP: not the same definition on both sides. neural-tangents' `empirical_nngp_fn` is the "
            "output Gram f(x)·f(x')/O of this one network. ntkit's empirical NNGP of a network that ends "
            "in Dense is the expectation over that readout layer's parameters given the features h "
            "below it, W_std² h·h'/n_in + b_std² (include/ntkit/mlp_kernel.hpp), the quantity whose "
            "infinite-width limit is the NNGP; the two are comparable only through the layers below "
            "the readout: the column compares ntkit with W_std² · `empirical_nngp_fn(serial(layers "
            "below the readout))` + b_std² ('readout expectation'). For a network that does not end in "
            "Dense (the last two cases) ntkit's NNGP is the output Gram and is compared with "
            "`empirical_nngp_fn` directly ('output Gram'). The output Gram of a network ending in "
            "Dense is a one-sample estimate of ntkit's quantity and is not compared.\n")
        L.append("| architecture | parameters | O | NTK (impl 1) | NTK (impl 2) | NTK (impl 3) | NTK per logit | NNGP | NNGP compared as | status |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if "ntk" not in r:
                L.append(f"| {r['name']} | | | | | | | | | {r['status'].replace('|', '/')} |")
                continue
            how = "readout expectation" if r["nngp_how"].startswith("readout") else "output Gram"
            L.append(f"| {r['name']} | {r['parameters']} | {r['outputs']} | {fmt(r['ntk'])} | "
                     f"{fmt(r['ntk_impl']['2'])} | {fmt(r['ntk_impl']['3'])} | {fmt(r.get('ntk_full', float('nan')))} | "
                     f"{fmt(r['nngp'])} | {how} | {r['status']} |")
        done = [r for r in rows if "worst" in r]
        L.append("")
        L.append(f"{len(rows)} networks; {len(done)} compared, "
                 f"{sum(r['worst'] <= EMP_TARGET for r in done)} within {EMP_TARGET:g}"
                 + (f", worst {fmt(max(r['worst'] for r in done))}" if done else "") + ".\n")
        L.append("<details><summary>Architecture texts</summary>\n")
        for r in rows:
            L.append(f"- `{r['name']}` (seed {r['seed']}): `{r['text']}`")
        L.append("\n</details>\n")
    speed = state.get("empirical_speed") or []
    if speed:
        L.append("## Speed: empirical NTK\n")
        L.append(
            f"Network: `{speed[0]['arch']}` on n x {speed[0]['d']} standard normal inputs, K(X, X), "
            "NTK only, float64, one output. neural-tangents: `jax.jit(nt.empirical_ntk_fn(apply_fn, "
            "trace_axes=(-1,), vmap_axes=0, implementation=3))` (structured derivatives, its fastest "
            "implementation here, see findings) with ntkit's weights, warmed up (the first call, "
            "compilation included, is listed separately), `block_until_ready`. ntkit module: "
            "`ntkit.Mlp(arch, d, seed=0).empirical_kernel(x)` in process after one warm-up call; "
            "ntkit CLI: `ntkit empirical --arch ... --get ntk -o K.npy` as a whole process (start, "
            "drawing the weights, writing n x n float64). Both sides use all cores. Median of "
            f"{state.get('repeats', 3)} runs; ratio = neural-tangents / ntkit. 'agree': NTK max-rel "
            "between the timed results (the same weights). 'BLAS floor': the GEMMs both algorithms "
            "perform (per Dense layer the forward and backward products and the Grams H Hᵀ, G Gᵀ), "
            "timed with NumPy (the venv's OpenBLAS, all cores); NT / floor and ntkit / floor say how "
            "close each side is to it.\n")
        L.append("| n | BLAS floor (s) | neural-tangents (s) | NT / floor | NT first call (s) | ntkit module (s) | module / floor | ratio (module) | ntkit CLI (s) | ratio (CLI) | agree | load before / after |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in speed:
            fl = r.get("floor", float("nan"))
            mod = (f"{r['module']:.3f} | {r['module'] / fl:.1f}x | {r['nt'] / r['module']:.1f}x" if "module" in r
                   else " | | ")
            L.append(f"| {r['n']} | {fl:.3f} | {r['nt']:.3f} | {r['nt'] / fl:.1f}x | {r['nt_first']:.3f} | {mod} | {r['cli']:.3f} | "
                     f"{r['nt'] / r['cli']:.1f}x | {fmt(max(r['agree_cli'], r.get('agree_module', 0.0)))} | "
                     f"{r['load_before']} / {r['load_after']} |")
        L.append("")
        L.append("Raw times (s): " + "; ".join(
            f"n={r['n']}: NT {', '.join(f'{t:.3f}' for t in r['nt_times'])} / "
            + (f"module {', '.join(f'{t:.3f}' for t in r['module_times'])} / " if "module" in r else "")
            + f"CLI {', '.join(f'{t:.3f}' for t in r['cli_times'])}" for r in speed) + "\n")
        best = min(max(r["nt"] / r["cli"], r["nt"] / r.get("module", float("inf"))) for r in speed)
        L.append(f"Target: empirical NTK >= 3x faster than neural-tangents. Smallest ratio in this run "
                 f"(best ntkit route per row): {best:.1f}x"
                 + (" - met.\n" if best >= 3 else f" - missed by a factor {3 / best:.2f}.\n"))


def report_predict(L, state):
    pred = state.get("predict")
    if pred:
        L.append("## Predictions: nt.predict vs ntkit (float64, identical kernels)\n")
        L.append(
            f"Kernels: NNGP and NTK of `{pred['arch']}` (`ntkit kernel`, float64) on {pred['n']} "
            f"train and {pred['m']} test points (d = {pred['d']}), targets Y {pred['n']} x {pred['o']} "
            f"and initial outputs f0 (train and test) standard normal (f0 x 0.3); condition numbers "
            f"of K(X, X): NNGP {pred['cond']['nngp']:.1e}, NTK {pred['cond']['ntk']:.1e}. Both sides "
            "get the same float64 blocks K(X, X), K(X*, X), K(X*, X*). neural-tangents 0.6.5's "
            "`nt.predict`: `gradient_descent_mse(k, y, learning_rate, diag_reg)(t, f0, f0*, k*)`; "
            "`gradient_descent_mse_ensemble(kernel_fn, x, y, learning_rate, diag_reg)(t, x*, get, "
            "compute_cov=True)` (and x* = None for the training points), with a kernel_fn that "
            "returns the precomputed blocks (its inputs are row indices); `gp_inference(Kernel(nngp, "
            "ntk), y, diag_reg)(get, k_test_train, k_test_test)`. ntkit: the Python module "
            "(`predict_mse(k, y, times, k*, loss='mean', diag_reg, f0_train, f0_test)`, "
            "`EnsemblePredictor((nngp, ntk), y, get, loss='mean', diag_reg)`.test / .train(covariance=True), "
            "`gp_inference(...)`) and the CLI (`ntkit predict --kernels DIR --loss mean [--ensemble] "
            "[--f0 F0 F0*]`; gp_inference = `--ensemble --time inf`).\n\n"
            "Conventions mapped: neural-tangents' loss is ½ Σ (f - y)² / y.size and its time is in "
            "units of learning_rate (absolute time = learning_rate · t); ntkit's loss='mean' is the "
            "same loss with absolute times, so ntkit is called at learning_rate · t. ntkit's "
            "discrete gradient-descent steps (`train_after_steps`, CLI `--lr`) have no counterpart "
            "in nt.predict (whose gradient_descent is also continuous time) and are not compared. "
            "diag_reg is relative on both sides (diag_reg · tr(K)/n). Columns: max|a - b| / max|b| "
            "over every time, output and point, for the means and the covariances; "
            f"target {PRED_TARGET:g}.\n")
        L.append("| task | times (neural-tangents' t) | module: mean | module: cov | CLI: mean | CLI: cov | status |")
        L.append("|---|---|---|---|---|---|---|")
        for r in pred["rows"]:
            cells = []
            for route in ("module", "cli"):
                if route in r:
                    cells += [fmt(r[route].get("mean", float("nan"))), fmt(r[route].get("cov", float("nan")))]
                else:
                    err = r.get(route + "_error", "not run")
                    cells += [("not in the CLI yet" if "unknown value" in err else err).replace("|", "/"), ""]
            times = ", ".join(str(t) if isinstance(t, str) else f"{t:g}" for t in r["times"])
            L.append(f"| {r['task']} | {times} | " + " | ".join(cells) + f" | {r['status']} |")
        done = [r for r in pred["rows"] if r["worst"] == r["worst"]]
        L.append("")
        L.append(f"{len(pred['rows'])} tasks; {sum(r['worst'] <= PRED_TARGET for r in done)} within "
                 f"{PRED_TARGET:g}" + (f", worst {fmt(max(r['worst'] for r in done))}" if done else "") + ".\n")
    speed = state.get("predict_speed") or []
    if speed:
        L.append("## Speed: predictions\n")
        L.append(
            f"{speed[0]['n']} train / {speed[0]['m']} test points, one output, kernels of a depth-3 ReLU "
            "network (d = 784) given; diag_reg = 1e-4; 20 times (0, 18 log-spaced from 0.01 to 1e4, "
            "inf) where there are times. Each timed call builds a fresh predictor, i.e. includes "
            f"the factorization (eigendecomposition of the {speed[0]['n']} x {speed[0]['n']} NTK; Cholesky for t = inf and "
            "gp_inference): gradient_descent_mse: train and test means at every time; ensemble "
            "(get='ntk'): test mean and covariance at every time; gp_inference (get='ntk'): test mean "
            "and covariance. neural-tangents: the nt.predict functions as documented (not jitted; "
            "jax.numpy on XLA CPU, all cores), kernels already jax arrays, `block_until_ready`, after "
            "one warm-up; ntkit module: the Python module in process (gradient_descent_mse: "
            "predict_mse, all times in one call, one eigendecomposition), after one warm-up; "
            "ntkit CLI: `ntkit predict --kernels DIR ...` as a process, reading the kernels' .npy "
            "files (page cache warm) and writing its outputs included, all times in one call "
            "(predict_mse, one eigendecomposition); not for the ensemble, where the CLI also "
            "computes and writes the training covariances (T x n x n), which the timed "
            "neural-tangents call does not. All cores everywhere. Median "
            f"of {state.get('repeats', 3)}; ratio = neural-tangents / ntkit.\n")
        L.append("| task | neural-tangents (s) | ntkit module (s) | ratio (module) | ntkit CLI (s) | ratio (CLI) | load before / after |")
        L.append("|---|---|---|---|---|---|---|")
        for r in speed:
            mod = f"{r['module']:.3f} | {r['nt'] / r['module']:.1f}x" if "module" in r else " | "
            cli = f"{r['cli']:.3f} | {r['nt'] / r['cli']:.1f}x" if "cli" in r else " | "
            L.append(f"| {r['task']} | {r['nt']:.3f} | {mod} | {cli} | {r['load_before']} / {r['load_after']} |")
        L.append("")
        L.append("Raw times (s): " + "; ".join(
            f"{r['task'].split()[0]}: NT {', '.join(f'{t:.3f}' for t in r['nt_times'])}"
            + (f" / module {', '.join(f'{t:.3f}' for t in r['module_times'])}" if "module" in r else "")
            + (f" / CLI {', '.join(f'{t:.3f}' for t in r['cli_times'])}" if "cli" in r else "")
            for r in speed) + "\n")


def write_report(path, vers, facts, load_before, load_after, rows, speed, module_info, args,
                 state=None):
    L = []
    today = os.path.basename(path)[:10]
    state = state or {}
    L.append(f"# ntkit vs neural-tangents: kernels, empirical NTKs, predictions ({today})\n")
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

    for sec, prov in (state.get("merged") or {}).items():
        L.append(f"Section '{sec}' is copied from an earlier run ({prov}).\n")
    for sec, info in (state.get("merged_rows") or {}).items():
        L.append(f"Section '{sec}': the rows {', '.join(info['this_run'])} are from this run (the "
                 f"versions above); its other rows are copied from an earlier run ({info['from']}).\n")
    if rows:
        report_analytic(L, rows)
    if speed:
        report_analytic_speed(L, speed, module_info, args)
    report_empirical(L, state)
    report_predict(L, state)
    if args.extra_md and os.path.exists(args.extra_md):
        L.append(open(args.extra_md).read())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {path}")


def report_analytic(L, rows):
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
             f"{QUAD_DEG}` and `{QUAD_DEG_REF}` against neural-tangents at the same degree.\n\n"
             "Hermite(n) rows: neural-tangents' `stax.Hermite` kernel is kⁿ (Ṫ = n kⁿ⁻¹), the "
             "expectation only when the layer's inputs have unit variance (its docstring: "
             "'inputs ... are assumed to have unit norm'); ntkit's is the exact expectation at any "
             "variance. The rows compared against the target keep every Hermite input at variance 1 "
             "(right after LayerNorm, eps = 1e-12, or after LayerNorm and then W_std = 1 Dense layers "
             "without bias); rows whose status starts 'NT assumes unit variance' break the "
             "assumption on purpose and are not counted: the 50-digit reference decides.\n")
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
    assumption = [r for r in rows if r["kind"] == "nt-unit-variance" and "worst" in r]
    L.append("")
    L.append(f"{len(rows)} architectures; {len(closed)} closed-form ones compared, "
             f"{len(closed) - len(missed)} within {TARGET:g}"
             + (f", worst {fmt(max(r['worst'] for r in closed))}" if closed else "")
             + f"; {len(missed)} missed; {len(unsupported)} not compared"
             + (f"; {len(assumption)} outside neural-tangents' unit-variance assumption "
                f"(ntkit vs reference worst {fmt(max(r.get('ntkit_vs_third', float('nan')) for r in assumption))})"
                if assumption else "") + ".\n")
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


def report_analytic_speed(L, speed, module_info, args):
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ntkit", default=os.path.join(REPO, "build", "apps", "ntkit", "ntkit"))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--sizes", default="1024,4096", help="n of the analytic kernel speed rows")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true", help="no speed rows at all")
    ap.add_argument("--skip-analytic", action="store_true",
                    help="skip the infinite-width kernel_fn sections (agreement and speed)")
    ap.add_argument("--skip-analytic-speed", action="store_true", help="skip only the kernel_fn speed rows")
    ap.add_argument("--skip-empirical", action="store_true", help="skip the empirical NTK/NNGP sections")
    ap.add_argument("--skip-predict", action="store_true", help="skip the nt.predict sections")
    ap.add_argument("--skip-agreement", action="store_true",
                    help="skip every agreement section (keep the speed rows)")
    ap.add_argument("--emp-sizes", default="256,1024", help="n of the empirical NTK speed rows")
    ap.add_argument("--emp-width", type=int, default=1024, help="hidden width of the empirical NTK speed network")
    ap.add_argument("--predict-size", default="4096,1024", help="train,test points of the prediction speed rows")
    ap.add_argument("--only", default="", help="comma-separated case names (analytic and empirical)")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--merge", metavar="JSON",
                    help="copy the sections this run skips from an earlier run's .json (the report says so); "
                         "with --only, also the agreement rows not rerun (rows of the same name are replaced)")
    ap.add_argument("--extra-md", default=os.path.join(HERE, "findings.md"),
                    help="markdown appended to the report (the investigation's findings)")
    ap.add_argument("--render", metavar="JSON",
                    help="only rewrite the .md from a run's saved .json (e.g. after editing findings.md)")
    ap.add_argument("--conv", action="store_true",
                    help="only the convolutional networks (conv.py): agreement and speed, "
                         "written to <date>-neural-tangents-conv.{md,json}")
    ap.add_argument("--conv-speed-n", type=int, default=8,
                    help="with --conv: neural-tangents' n in the speed rows (its memory grows like "
                         "n^2 (H W)^2); ntkit also runs at larger n (conv.SPEED_NETS)")
    args = ap.parse_args()
    if args.conv:
        binary = os.path.abspath(args.ntkit)
        if not os.access(binary, os.X_OK):
            sys.exit(f"compare.py: error: no ntkit binary at {binary} (build it, or pass --ntkit)")
        sys.modules.setdefault("compare", sys.modules[__name__])
        import conv
        conv.main_conv(args, binary)
        return
    if args.render:
        import json
        with open(args.render) as f:
            render(json.load(f), args)
        return
    binary = os.path.abspath(args.ntkit)
    if not os.access(binary, os.X_OK):
        sys.exit(f"compare.py: error: no ntkit binary at {binary} (build it, or pass --ntkit)")
    load_before = sh("cut -d' ' -f1-3 /proc/loadavg")
    only = set(args.only.split(",")) - {""}
    cases = [c for c in CASES if not only or c[0] in only]
    rows, speed, emp, emp_speed, pred, pred_speed = [], [], [], [], None, []
    with tempfile.TemporaryDirectory(prefix="ntkit-nt-") as workdir:
        exe, mod = find_ntkit_module_python()
        module_info = (f"`import ntkit` works with {exe} ({mod})" if exe else
                       "`import ntkit` failed with every interpreter tried (this venv, the base "
                       "Python): not built/installed yet, so only the CLI is timed")
        if not args.skip_analytic and not args.skip_agreement:
            print(f"== agreement: {len(cases)} architectures (float64); {module_info}", flush=True)
            rows = run_agreement(binary, cases, workdir, module_python=exe)
        if not args.skip_empirical and not args.skip_agreement:
            print("== empirical NTK / NNGP agreement (float64, the same weights)", flush=True)
            emp = run_empirical_agreement(binary, workdir, only)
        if not args.skip_predict and not args.skip_agreement:
            print("== predictions agreement (float64, identical kernels)", flush=True)
            pred = run_predict_agreement(binary, workdir, exe)
        if not args.skip_speed:
            if not args.skip_analytic and not args.skip_analytic_speed:
                print("== speed: analytic kernel_fn", flush=True)
                sizes = [int(s) for s in args.sizes.split(",") if s]
                speed = run_speed(binary, workdir, sizes, args.repeats, exe)
            if not args.skip_empirical:
                print("== speed: empirical NTK", flush=True)
                emp_speed = run_empirical_speed(binary, workdir, [int(s) for s in args.emp_sizes.split(",") if s],
                                                args.emp_width, args.repeats, exe)
            if not args.skip_predict:
                print("== speed: predictions", flush=True)
                n_train, n_test = (int(s) for s in args.predict_size.split(","))
                pred_speed = run_predict_speed(binary, workdir, n_train, n_test, args.repeats, exe)
    load_after = sh("cut -d' ' -f1-3 /proc/loadavg")
    if not args.no_report:
        import json
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        state = {"versions": versions(binary), "machine": machine_facts(),
                 "load_before": load_before, "load_after": load_after, "rows": rows,
                 "speed": speed, "module_info": module_info, "repeats": args.repeats,
                 "date": today, "empirical": emp, "empirical_speed": emp_speed,
                 "predict": pred, "predict_speed": pred_speed, "merged": {}}
        if args.merge:
            with open(args.merge) as f:
                old = json.load(f)
            prov = (f"{old.get('date')}, load {old.get('load_before')} before / {old.get('load_after')} "
                    f"after, ntkit {old.get('versions', {}).get('ntkit', '?')}")
            names = {"rows": "kernel_fn agreement", "speed": "kernel_fn speed",
                     "empirical": "empirical agreement", "empirical_speed": "empirical speed",
                     "predict": "predictions agreement", "predict_speed": "predictions speed"}
            state["merged_rows"] = {}
            for key, name in names.items():
                if not state[key] and old.get(key):
                    state[key] = old[key]
                    state["merged"][name] = old.get("merged", {}).get(name, prov)
                    if key == "speed":
                        state["module_info"] = old.get("module_info", module_info)
                elif only and key in ("rows", "empirical") and state[key] and old.get(key):
                    # --only: this run's rows replace the earlier run's rows of the same name
                    # (new names are appended); every other row is kept, with its provenance.
                    this_run = [r["name"] for r in state[key]]
                    fresh = {r["name"]: r for r in state[key]}
                    kept = [fresh.pop(r["name"], r) for r in old[key]]
                    state[key] = kept + list(fresh.values())
                    src = old.get("merged", {}).get(name, prov)
                    earlier = (old.get("merged_rows") or {}).get(name)
                    if earlier:  # the old run was itself a partial one
                        src = (f"{earlier['from']}; except the rows {', '.join(earlier['this_run'])}: "
                               f"{prov}")
                    state["merged_rows"][name] = {"this_run": this_run, "from": src}
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, f"{today}-neural-tangents.json"), "w") as f:
            json.dump(state, f, indent=1)
        render(state, args)


def render(state, args):
    args.repeats = state["repeats"]
    write_report(os.path.join(args.out, f"{state['date']}-neural-tangents.md"), state["versions"],
                 state["machine"], state["load_before"], state["load_after"], state["rows"],
                 state["speed"], state["module_info"], args, state)


if __name__ == "__main__":
    main()
