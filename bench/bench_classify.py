"""Benchmark of `ntkit classify` (issue 18): wall time and cores used (CPU time / wall time) of
the default run (ridge over the NTK grid) and of `--method svm`, on generated data sets of
1,000 to 4,000 points, for one or more ntkit binaries (e.g. before and after a change).

    python3 bench/bench_classify.py --bin before=/path/old/ntkit --bin after=build/apps/ntkit/ntkit \
        --sizes 1000,2000 --out bench/results/classify.md

The data: a mixture of 3 Gaussian classes (unit variance) in 12 dimensions whose centres are
drawn with standard deviation 0.35 per coordinate, about 1.7 apart (overlapping classes, so
the SVM has many support vectors and regularization matters), seeded, written as .npy. Each run is timed once
(a run is tens of seconds to minutes); the load average before it is recorded, since another
process on the machine changes the numbers.
"""
import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def make_data(n, directory):
    rng = np.random.default_rng(n)
    centres = rng.standard_normal((3, 12)) * 0.35
    labels = rng.integers(0, 3, n)
    x = centres[labels] + rng.standard_normal((n, 12))
    np.save(directory / f"x{n}.npy", x)
    np.save(directory / f"y{n}.npy", labels.astype(np.int64))


def timed(args, cwd):
    """Runs args; returns (wall seconds, CPU seconds of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip().splitlines()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", action="append", required=True, help="NAME=PATH of an ntkit binary (repeatable)")
    parser.add_argument("--sizes", default="1000,2000", help="training set sizes (comma-separated)")
    parser.add_argument("--methods", default="ridge,svm")
    parser.add_argument("--out", help="append the markdown table to this file")
    args = parser.parse_args()
    binaries = [b.split("=", 1) for b in args.bin]
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for n in sizes:
            make_data(n, d)
            for method in args.methods.split(","):
                for name, path in binaries:
                    extra = ["--method", "svm"] if method == "svm" else []
                    quiet = ["-q"] if "-q" in subprocess.run([path, "classify", "--help"], capture_output=True, text=True).stdout else []
                    load = os.getloadavg()[0]
                    wall, cpu, chosen = timed([path, "classify", "--train", f"x{n}.npy", f"y{n}.npy", *extra, *quiet,
                                               "-o", f"out-{name}-{n}-{method}"], d)
                    rows.append((n, method, name, wall, cpu / wall, load, chosen))
                    print(f"n={n} {method:5s} {name:8s} {wall:8.1f} s  cores {cpu / wall:4.2f}  load {load:4.1f}  {chosen}",
                          flush=True)
    table = ["| points | method | binary | wall s | cores used | load before | chosen |", "|---|---|---|---|---|---|---|"]
    for n, method, name, wall, cores, load, chosen in rows:
        table.append(f"| {n} | {method} | {name} | {wall:.1f} | {cores:.2f} | {load:.1f} | {chosen} |")
    text = "\n".join(table) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(f"\n{platform.node()} {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs\n\n" + text)


if __name__ == "__main__":
    main()
