#!/usr/bin/env python3
"""Which BLAS/LAPACK should ntkit use on this machine? Times every candidate at ntkit's shapes
in one run, round after round (A B C … A B C …), and prints a Markdown table of the medians
with each one's ratio to Debian's OpenBLAS as installed.

  python3 bench/blas_candidates.py --binary build/bench/blas_candidates [--rounds 3]

--realtime runs each candidate at real-time priority (chrt -f, as root), so that other work on
a shared machine does not enter the figures; --busy N instead keeps N other processes spinning
on the cores meanwhile, as on a machine that something else shares.

Candidates: Debian's OpenBLAS 0.3.21 (pthread and OpenMP builds; also forced to its generic
Prescott core, which is what it picks on CPUs newer than itself, and to its AVX2 Haswell core,
the AMD EPYC machines' code path), scipy-openblas32 from PyPI (newer OpenBLAS, the one NumPy and
ntkit's wheel use), MKL from PyPI and Debian's BLIS (BLAS only: no LAPACK of its own). Those not
installed are skipped with a note; the script installs nothing. Each runs in its own process with
2 threads (the machine's cores), so no library's idle threads steal from another's.
"""
import argparse
import glob
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys

DEBIAN = "/usr/lib/x86_64-linux-gnu"
ALL_OPS = ["dgemm", "sgemm", "dsyrk", "ssyrk", "dsyevd", "dsyevr", "dpotrf"]
BLAS_OPS = ["dgemm", "sgemm", "dsyrk", "ssyrk"]


def python_package_library(module, pattern):
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = glob.glob(os.path.join(spec.submodule_search_locations[0], "lib", pattern))
    return found[0] if found else None


def candidates(threads):
    thread_env = {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                  "MKL_NUM_THREADS": str(threads), "BLIS_NUM_THREADS": str(threads)}
    scipy_openblas = python_package_library("scipy_openblas32", "libscipy_openblas*.so")
    mkl = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
    rows = [
        ("Debian OpenBLAS 0.3.21, pthread (as installed)", f"{DEBIAN}/openblas-pthread/libopenblas.so.0", "", {}, ALL_OPS),
        ("  the same, forced to its generic Prescott core", f"{DEBIAN}/openblas-pthread/libopenblas.so.0", "",
         {"OPENBLAS_CORETYPE": "Prescott"}, ALL_OPS),
        ("  the same, forced to its AVX2 Haswell core", f"{DEBIAN}/openblas-pthread/libopenblas.so.0", "",
         {"OPENBLAS_CORETYPE": "Haswell"}, ALL_OPS),
        ("Debian OpenBLAS 0.3.21, OpenMP", f"{DEBIAN}/openblas-openmp/libopenblas.so.0", "", {}, ALL_OPS),
        ("scipy-openblas32 (PyPI)", scipy_openblas, "scipy_", {}, ALL_OPS),
        ("  the same, forced to its AVX2 Haswell core", scipy_openblas, "scipy_", {"OPENBLAS_CORETYPE": "Haswell"}, ALL_OPS),
        ("MKL (PyPI)", mkl[-1] if mkl else None, "", {}, ALL_OPS),
        ("  the same, limited to AVX2", mkl[-1] if mkl else None, "", {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, ALL_OPS),
        ("Debian BLIS 0.9, pthread (BLAS only)", f"{DEBIAN}/blis-pthread/libblis.so.4", "", {}, BLAS_OPS),
    ]
    for label, path, prefix, env, ops in rows:
        if path and os.path.exists(path):
            yield label, path, prefix, {**thread_env, **env}, ops
        else:
            print(f"skipped (not installed): {label}", file=sys.stderr)


def cpu_description():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    flags = info.get("flags", "").split()
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return (f"{info.get('model name')}, family {info.get('cpu family')} model {info.get('model')}, "
            f"{os.cpu_count()} cores, {'/'.join(simd)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the built bench/blas_candidates program")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=1, help="timings per operation and round (the best counts)")
    parser.add_argument("--realtime", action="store_true", help="run each candidate under chrt -f 50")
    parser.add_argument("--busy", type=int, default=0, help="processes that spin on the cores meanwhile")
    parser.add_argument("--ops", default=",".join(ALL_OPS), help="operations to time, comma-separated")
    args = parser.parse_args()
    cands = list(candidates(args.threads))
    wanted = args.ops.split(",")
    prefix_command = ["chrt", "-f", "50"] if args.realtime else []
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    times = {label: {} for label, *_ in cands}
    described = {}
    for round_index in range(args.rounds):
        for label, path, prefix, env, ops in cands:
            chosen = [op for op in ops if op in wanted]
            result = subprocess.run(prefix_command + [args.binary, "--library", path, "--prefix", prefix, "--ops", ",".join(chosen),
                                     "--repeats", str(args.repeats)], env={**os.environ, **env}, capture_output=True, text=True,
                                    errors="replace")
            if result.returncode != 0:
                print(f"{label}: failed: {result.stderr.strip()}", file=sys.stderr)
                continue
            record = json.loads(result.stdout)
            described[label] = record.get("core") or record["config"]
            for op, seconds in record["seconds"].items():
                times[label].setdefault(op, []).append(seconds)
            print(f"round {round_index + 1}: {label}: {record['seconds']}", file=sys.stderr)

    for spinner in spinners:
        spinner.kill()
    base = times[cands[0][0]]
    situation = ("at real-time priority" if args.realtime else "at normal priority") + (
        f", {args.busy} other process(es) spinning meanwhile" if args.busy else "")
    print(f"CPU: {cpu_description()}; Python {platform.python_version()}; {args.rounds} rounds, "
          f"{args.threads} threads, {situation}; median seconds (ratio to the first row).\n")
    print("Shapes: GEMM/SYRK of a 4096 x 784 matrix with its transpose; dsyevd/dsyevr: all eigenpairs of a 3072 x 3072 "
          "kernel matrix; dpotrf: Cholesky of a 4096 x 4096 one.\n")
    shown = [op for op in ALL_OPS if op in wanted]
    print("| library | core | " + " | ".join(shown) + " |")
    print("|---|---|" + "---|" * len(shown))
    for label, *_ in cands:
        cells = []
        for op in shown:
            sample = times[label].get(op)
            if not sample:
                cells.append("–")
                continue
            m = statistics.median(sample)
            ratio = m / statistics.median(base[op]) if base.get(op) else float("nan")
            cells.append(f"{m:.3f} ({ratio:.2f})")
        print(f"| {label.strip()} | {described.get(label, '?')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
