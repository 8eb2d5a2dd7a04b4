"""Timing pieces shared by the Python benchmark scripts (bench/numpy_deep_kernel.py and
bench/neural_tangents/compare.py)."""
import statistics
import time


def median_time(fn, repeats, warmup=False):
    """Median wall time of `repeats` calls of fn (after one untimed call if warmup), and all times."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


# Run as `python -c INPROC_SNIPPET ARCH X.npy DTYPE REPEATS` by an interpreter that can import
# ntkit: one warm-up call, then the timed calls of ntkit.kernel (NNGP and NTK together, as the
# CLI's --get both). DTYPE is informational: ntkit.kernel computes in the input's dtype.
INPROC_SNIPPET = r"""
import sys, time, statistics, json
import numpy as np
import ntkit
arch, path, dtype, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = np.load(path)
kw = dict(get=("nngp", "ntk"))
ntkit.kernel(arch, x, **kw)
times = []
for _ in range(repeats):
    t0 = time.perf_counter(); ntkit.kernel(arch, x, **kw); times.append(time.perf_counter() - t0)
print(json.dumps({"median": statistics.median(times), "times": times, "get": str(kw),
                  "module": ntkit.__file__}))
"""
