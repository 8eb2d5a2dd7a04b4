"""Before the engine loads: let OpenBLAS run the kernels this CPU is best at.

OpenBLAS picks its kernels once, when it loads, from the CPU model; Debian 12's 0.3.21 falls
back to generic Prescott kernels on CPUs newer than itself (4x slower GEMM on such a Xeon).
The choice can be overridden only before it loads, through OPENBLAS_CORETYPE. So before the
package imports its engine, a child process loads the engine alone and asks it (C++,
ntkit::detail::openblas_core_to_request, the same rule the command-line tool applies) which
kernels to request, if any; the answer is put in this process's environment. A user's own
OPENBLAS_CORETYPE is kept. ntkit.blas_info() tells what was chosen.
"""

import os
import subprocess
import sys

# Loads the extension file by path, without the package (whose __init__ would probe again).
_PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ntkit._core", sys.argv[1])
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)
print(core._openblas_core_to_request() or "-", core.blas_info()["core"])
"""


# Set once a probe has answered, so that child processes (multiprocessing, joblib workers) that
# import ntkit on the same machine do not probe again.
CHECKED = "NTKIT_OPENBLAS_KERNELS_CHECKED"


def choose_openblas_kernels(extension_path):
    if "OPENBLAS_CORETYPE" in os.environ or os.environ.get(CHECKED) == "1" or not extension_path:
        return
    try:
        probe = subprocess.run([sys.executable, "-S", "-c", _PROBE, extension_path], capture_output=True, text=True,
                               timeout=60, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    except (OSError, subprocess.SubprocessError):
        return  # no child process here: the library keeps its own choice
    words = probe.stdout.split()
    if probe.returncode != 0 or len(words) != 2:
        return  # the probe failed: the library keeps its own choice
    os.environ[CHECKED] = "1"
    if words[0] != "-":
        os.environ["OPENBLAS_CORETYPE"], os.environ["NTKIT_REPLACED_OPENBLAS_CORE"] = words
