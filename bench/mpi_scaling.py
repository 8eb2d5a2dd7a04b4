"""Strong scaling of the tool's distributed mode on this machine (docs/distributed.md).

Times, in one run and interleaved (round-robin, so drift hits every configuration alike):
  - `ntkit kernel` of a small CNN on n images (the per-entry work dominates);
  - `ntkit predict --kernels` on precomputed n x n kernels: the ensemble at t = inf
    (ScaLAPACK Cholesky + covariance products) and at a finite time (pdsyevd);
each in one process without mpirun, and under mpirun with P = 1, 2, 3, 4 ranks (3 and 4
oversubscribe a 2-core machine). Threads per rank: the tool's default (the cores divided by the
ranks on the node), or --threads N. Prints a Markdown table of median wall and CPU seconds.

    python3 bench/mpi_scaling.py [--ntkit build/apps/ntkit/ntkit] [--repeats 3]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np

CNN = ("Conv(16, (3, 3), padding='SAME'), Relu, Conv(16, (3, 3), padding='SAME'), Relu, "
       "AvgPool((2, 2), (2, 2)), Conv(16, (3, 3), padding='SAME'), Relu, Flatten(), Dense(1)")
FC = "Dense(512), Relu, Dense(512), Relu, Dense(1)"


def timed(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ntkit", default="build/apps/ntkit/ntkit")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--train", type=int, default=3072)
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per rank (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS); 0: the tool's default")
    args = parser.parse_args()
    ntkit = os.path.abspath(args.ntkit)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    if args.threads > 0:
        env.update(OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    work = tempfile.mkdtemp(prefix="ntkit-mpi-bench-")
    rng = np.random.default_rng(0)
    np.save(f"{work}/img.npy", rng.normal(size=(args.images, 16, 16, 1)))
    n, m = args.train, 512
    np.save(f"{work}/x.npy", rng.normal(size=(n, 64)))
    np.save(f"{work}/xt.npy", rng.normal(size=(m, 64)))
    np.save(f"{work}/y.npy", rng.normal(size=(n, 10)))
    kdir = f"{work}/k"
    os.makedirs(kdir)
    subprocess.run([ntkit, "kernel", "--arch", FC, "--x1", f"{work}/x.npy", "--get", "both", "-q",
                    "-o", f"{kdir}/train.npy"], check=True)
    subprocess.run([ntkit, "kernel", "--arch", FC, "--x1", f"{work}/xt.npy", "--x2", f"{work}/x.npy", "--get",
                    "both", "-q", "-o", f"{kdir}/test.npy"], check=True)
    subprocess.run([ntkit, "kernel", "--arch", FC, "--x1", f"{work}/xt.npy", "--get", "nngp", "-q",
                    "-o", f"{kdir}/test_test.nngp.npy"], check=True)

    jobs = {
        f"kernel: CNN NNGP+NTK, {args.images} images 16x16": ["kernel", "--arch", CNN, "--x1", f"{work}/img.npy",
                                                                "--get", "both", "-q", "-o", f"{work}/kc.npy"],
        f"predict --ensemble --time inf, n = {n}, m = {m} (Cholesky)": [
            "predict", "--kernels", kdir, "--train", f"{work}/y.npy", "--ensemble", "--time", "inf",
            "--diag-reg", "1e-6", "-o", f"{work}/p_inf"],
        f"predict --ensemble --time 1, n = {n}, m = {m} (eigendecomposition)": [
            "predict", "--kernels", kdir, "--train", f"{work}/y.npy", "--ensemble", "--time", "1",
            "-o", f"{work}/p_1"],
    }
    launches = {"one process": []}
    for p in (1, 2, 3, 4):
        launches[f"mpirun -np {p}"] = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(p)]
    results = {(j, l): [] for j in jobs for l in launches}
    for _ in range(args.repeats):
        for j, job in jobs.items():
            for l, prefix in launches.items():
                for d in ("p_inf", "p_1"):
                    shutil.rmtree(f"{work}/{d}", ignore_errors=True)
                results[(j, l)].append(timed(prefix + [ntkit] + job, env))
    threads = f"{args.threads} per rank" if args.threads > 0 else "the tool's default (cores / ranks on the node)"
    print(f"median of {args.repeats} runs (wall s / CPU s); threads: {threads}; CPU: {cpu_name()}\n")
    print("| job | " + " | ".join(launches) + " |")
    print("|---|" + "---|" * len(launches))
    for j in jobs:
        cells = []
        for l in launches:
            walls = [w for w, _ in results[(j, l)]]
            cpus = [c for _, c in results[(j, l)]]
            cells.append(f"{statistics.median(walls):.2f} / {statistics.median(cpus):.2f}")
        print(f"| {j} | " + " | ".join(cells) + " |")
    shutil.rmtree(work)


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    return "unknown"


if __name__ == "__main__":
    main()
