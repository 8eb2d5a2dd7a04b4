#!/usr/bin/env python3
"""Deep-kernel benchmark against NumPy (issue 4): ntkit vs a straightforward NumPy
implementation of the same NNGP + NTK recursion, and vs one BLAS GEMM X·Xᵀ, in one run.

  python3 bench/numpy_deep_kernel.py --ntkit build/apps/ntkit/ntkit [--n 4096] [--quick]

Architecture (the same as bench/bench_analytic.cpp): depth × "Dense(512, W_std=1.4,
b_std=0.1), ACT", then Dense(1); ACT = Relu or Erf; depth 1, 5, 20; K(X, X) for X n × 784
standard normal; NNGP and NTK both; float64 and float32.

- NumPy: docs/mathematics.md §5 written out with whole n × n arrays (θ through arctan2 as docs/mathematics.md §6 asks, the
  norms from the diagonal of the current kernel); NumPy's elementwise math is single-threaded,
  its matrix product uses all cores.
- GEMM: numpy.matmul(X, Y.T, out=...) with Y a copy of X (a general GEMM of the same shape,
  not the SYRK NumPy would pick for X @ X.T), preallocated output.
- ntkit CLI: `ntkit kernel --arch ... --get both -o K.npy` timed as a whole process
  (process start, reading X, writing both n × n .npy files included). ntkit computes --arch
  kernels in float64 and converts the output for --dtype float32.
- ntkit module: `ntkit.kernel(arch, X, get=...)` in process, when `import ntkit` works.

Before timing, the NumPy result is checked against ntkit's (max |a − b| / max |b| ≤ 1e-10 in
float64, ≤ 1e-4 in float32), so both compute the same thing. Medians of --repeats runs after a
warm-up (NumPy at depth 20: --repeats-slow runs, no warm-up). Prints a table and writes
bench/results/<yyyy-mm-dd>-numpy-deep-kernel.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from timing import INPROC_SNIPPET, median_time  # bench/timing.py, beside this script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W_STD, B_STD, D = 1.4, 0.1, 784


def arch(depth, act):
    return "".join(f"Dense(512, W_std={W_STD}, b_std={B_STD}), {act}, "
                   for _ in range(depth)) + "Dense(1)"


def numpy_kernels(x, depth, act):
    """NNGP and NTK of K(X, X), straight from docs/mathematics.md §5, in x's dtype."""
    dt = x.dtype.type
    pi = dt(np.pi)
    w2, b2 = dt(W_STD ** 2), dt(B_STD ** 2)
    k = (x @ x.T) / dt(x.shape[1])
    ntk = np.zeros_like(k)
    for _ in range(depth):
        k = w2 * k + b2                        # Dense ('ntk' parameterization)
        ntk = w2 * ntk + k
        q = np.diag(k)
        qq = q[:, None] * q[None, :]
        if act == "Relu":
            s = np.sqrt(np.maximum(qq - k * k, dt(0)))
            theta = np.arctan2(s, k)
            tdot = (pi - theta) / (2 * pi)
            k = (s + (pi - theta) * k) / (2 * pi)
        elif act == "Erf":
            p = (1 + 2 * q)[:, None] * (1 + 2 * q)[None, :]
            tdot = (4 / pi) / np.sqrt(p - 4 * k * k)
            k = (2 / pi) * np.arcsin(2 * k / np.sqrt(p))
        else:
            raise ValueError(act)
        ntk = ntk * tdot
    # Dense(1): W_std = 1, no bias.
    return k, ntk + k


def module_available():
    probe = subprocess.run([sys.executable, "-c", "import ntkit; ntkit.kernel; print(ntkit.__file__)"],
                           capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        parts = []
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                parts.append(f"{info.get('internal_api')} {info.get('version')} "
                             f"({info.get('architecture')} kernels, {info.get('num_threads')} threads, "
                             f"{os.path.basename(info.get('filepath', ''))})")
        return "; ".join(parts) or "no BLAS found by threadpoolctl"
    except ImportError:
        return "threadpoolctl not installed"


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def cpu_model():
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def mem_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1048576
    return float("nan")


def fmt_e(x):
    return f"{x:.1e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ntkit", default=os.path.join(REPO, "build", "apps", "ntkit", "ntkit"))
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--depths", default="1,5,20")
    ap.add_argument("--acts", default="Relu,Erf")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-slow", type=int, default=1,
                    help="NumPy runs at depth >= 20 (no warm-up)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    binary = os.path.abspath(args.ntkit)
    if not os.access(binary, os.X_OK):
        sys.exit(f"numpy_deep_kernel.py: error: no ntkit binary at {binary}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"note: {var}={os.environ[var]} is set; it can slow NumPy's OpenBLAS "
                  f"(run with `env -u {var}`)", file=sys.stderr)
    load_before = sh("cut -d' ' -f1-3 /proc/loadavg")
    module = module_available()
    depths = [int(v) for v in args.depths.split(",")]
    rows = []
    rng = np.random.default_rng(4)
    x64 = rng.standard_normal((args.n, D))
    with tempfile.TemporaryDirectory(prefix="ntkit-np-") as work:
        for dtype in args.dtypes.split(","):
            x = x64.astype(dtype)
            y = x.copy()
            xpath = os.path.join(work, f"x_{dtype}.npy")
            np.save(xpath, x)
            out = np.empty((args.n, args.n), dtype)
            gemm, gemm_times = median_time(lambda: np.matmul(x, y.T, out=out), args.repeats, warmup=True)
            del out
            print(f"{dtype}: GEMM X·Yᵀ ({args.n} x {D} x {args.n}) {gemm:.3f} s", flush=True)
            for act in args.acts.split(","):
                for depth in depths:
                    text = arch(depth, act)
                    kout = os.path.join(work, "K.npy")
                    cmd = [binary, "kernel", "--arch", text, "--x1", xpath, "--get", "both",
                           "-o", kout, "--dtype", dtype]
                    cli, cli_times = median_time(
                        lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeats, warmup=True)
                    got = (np.load(os.path.join(work, "K.nngp.npy")),
                           np.load(os.path.join(work, "K.ntk.npy")))
                    ref = numpy_kernels(x, depth, act)
                    err = max(float(np.abs(got[i].astype(np.float64) - ref[i]).max()
                                    / np.abs(ref[i]).max()) for i in (0, 1))
                    del got, ref
                    tol = 1e-10 if dtype == "float64" else 1e-4
                    if not err <= tol:
                        print(f"  WARNING: NumPy and ntkit differ by {err:.1e} (> {tol:g})",
                              flush=True)
                    slow = depth >= 20
                    npt, np_times = median_time(lambda: numpy_kernels(x, depth, act),
                                                args.repeats_slow if slow else args.repeats,
                                                warmup=not slow)
                    row = {"dtype": dtype, "act": act, "depth": depth, "gemm": gemm,
                           "cli": cli, "numpy": npt, "err": err, "tol": tol,
                           "cli_times": cli_times, "np_times": np_times}
                    if module:
                        proc = subprocess.run([sys.executable, "-c", INPROC_SNIPPET, text, xpath,
                                               dtype, str(args.repeats)],
                                              capture_output=True, text=True)
                        if proc.returncode == 0:
                            import json
                            res = json.loads(proc.stdout.strip().splitlines()[-1])
                            row["module"] = res["median"]
                            row["module_times"] = res["times"]
                        else:
                            row["module_error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    rows.append(row)
                    line = (f"  {act:4s} depth {depth:2d}: NumPy {npt:7.3f} s, ntkit CLI {cli:6.3f} s "
                            f"({npt / cli:5.1f}x faster, {cli / gemm:4.2f}x GEMM)")
                    if "module" in row:
                        line += (f", ntkit module {row['module']:.3f} s ({npt / row['module']:.1f}x, "
                                 f"{row['module'] / gemm:.2f}x GEMM)")
                    print(line + f"  [max-rel diff {fmt_e(err)}]", flush=True)
    load_after = sh("cut -d' ' -f1-3 /proc/loadavg")
    if args.no_report:
        return
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    path = os.path.join(args.out, f"{today}-numpy-deep-kernel.md")
    has_mod = any("module" in r for r in rows)
    L = [f"# Deep kernels: ntkit vs NumPy vs one GEMM ({today})\n",
         "Generated by `bench/numpy_deep_kernel.py`; one run. K(X, X), NNGP and NTK, "
         f"n = {args.n}, d = {D}, X standard normal; architecture depth x "
         f"`Dense(512, W_std={W_STD}, b_std={B_STD}), ACT` then `Dense(1)`.\n",
         "## Setup\n",
         f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {mem_gib():.1f} GiB memory; "
         f"load average (1/5/15 min) before {load_before}, after {load_after}. The machine is "
         "shared with other builds and tests: timings are noisy; the ratios are of medians "
         "taken in this one run.",
         f"- Python {platform.python_version()}, NumPy {np.__version__}; NumPy's BLAS: {blas_info()}; "
         "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the run.",
         f"- ntkit: git {sh(f'git -C {REPO} rev-parse --short HEAD')}, binary "
         f"{os.path.relpath(binary, REPO) if binary.startswith(REPO) else binary}; --arch kernels "
         "compute the Gram matrix in the run's dtype and the per-pair recursion in float64, with OpenMP on all cores.",
         "- GEMM: `np.matmul(X, Y.T, out=...)`, Y a copy of X, preallocated output.",
         "- ntkit CLI: the whole process, `ntkit kernel --arch ... --get both -o K.npy` "
         "(includes process start, reading X, writing two n x n .npy files).",
         "- ntkit module: " + (f"`ntkit.kernel(...)` in process ({module})." if module else
                               "`import ntkit` failed (the Python module is not built or installed "
                               "yet), so only the CLI is timed."),
         f"- NumPy: docs/mathematics.md §5 with whole n x n arrays (bench/numpy_deep_kernel.py, "
         "`numpy_kernels`), in the run's dtype; checked against ntkit first ('diff' = "
         "max|a - b| / max|b| over NNGP and NTK; tolerance 1e-10 in float64, 1e-4 in float32).",
         f"- Medians of {args.repeats} runs after a warm-up; NumPy at depth 20: "
         f"{args.repeats_slow} run(s), no warm-up.\n",
         "## Results\n"]
    head = "| dtype | activation | depth | GEMM (s) | NumPy (s) | ntkit CLI (s) | NumPy / ntkit CLI | ntkit CLI / GEMM |"
    sep = "|---|---|---|---|---|---|---|---|"
    if has_mod:
        head += " ntkit module (s) | NumPy / module | module / GEMM |"
        sep += "---|---|---|"
    L += [head + " diff |", sep + "---|"]
    for r in rows:
        line = (f"| {r['dtype']} | {r['act']} | {r['depth']} | {r['gemm']:.3f} | {r['numpy']:.3f} | "
                f"{r['cli']:.3f} | {r['numpy'] / r['cli']:.1f}x | {r['cli'] / r['gemm']:.2f}x |")
        if has_mod:
            line += (f" {r['module']:.3f} | {r['numpy'] / r['module']:.1f}x | "
                     f"{r['module'] / r['gemm']:.2f}x |" if "module" in r else " | | |")
        L.append(line + f" {fmt_e(r['err'])}{'' if r['err'] <= r['tol'] else ' (over tolerance!)'} |")
    L.append("")
    target = [r for r in rows if r["act"] == "Relu" and r["depth"] == 5]
    for r in target:
        best = min(r["cli"], r.get("module", float("inf")))
        ratio = r["numpy"] / best
        L.append(f"Target (depth-5 ReLU, {r['dtype']}): ntkit >= 10x faster than NumPy: "
                 f"{ratio:.1f}x" + (" - met." if ratio >= 10 else
                                    f" - missed by a factor {10 / ratio:.1f}."))
    L.append("")
    L.append("Raw times (s): " + "; ".join(
        f"{r['dtype']} {r['act']} d{r['depth']}: NumPy {', '.join(f'{t:.2f}' for t in r['np_times'])}"
        f" / CLI {', '.join(f'{t:.2f}' for t in r['cli_times'])}" for r in rows))
    extra = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy_deep_kernel_notes.md")
    # (bench/numpy_deep_kernel_notes.md: how to read the table; appended verbatim)
    if os.path.exists(extra):
        L.append("\n" + open(extra).read())
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
