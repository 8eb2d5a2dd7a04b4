"""ntkit: Neural Tangent Kernels from a C++ engine, NumPy in, NumPy out.

- ``kernel(arch, x1, x2=None, get="ntk")``: infinite-width NTK / NNGP of a deep network
  given in neural-tangents' layer syntax, e.g. ``"Dense(512, W_std=1.5, b_std=0.05), Relu,
  Dense(1)"`` (``Network`` parses it once for reuse); ``kernel_diagonal`` for k(x_i, x_i);
  ``kernel_to_npy`` computes it out of core straight into .npy files.
- ``classic_kernel(x1, x2=None, kernel="rbf", ...)``: linear, polynomial, RBF, arc-cosine.
- ``TwoLayerNet``, ``LinearizedTwoLayerNet``, ``two_layer_ntk``: the lecture's network
  f(x) = m^(-1/2) Σ b_i σ(a_i·x), its training, empirical and infinite-width NTK.
- ``Mlp``, ``LinearizedMlp``, ``monte_carlo_kernel``: finite deep networks of the same
  description, their empirical NTK/NNGP and training (gd, sgd, momentum; mse, cross-entropy).
- ``KernelDynamics``: gradient-flow / gradient-descent predictions at any time, inf included;
  ``predict_mse``: the same at a whole list of times in one call (one eigendecomposition).
- ``gp_inference``, ``EnsemblePredictor``, ``max_learning_rate``: GP posteriors and the
  infinite ensemble of trained networks (neural-tangents' predict module) from NNGP/NTK blocks;
  ``predict_ode``: training with cross-entropy (or any supported loss) in function space.
- ``KernelRidge``, ``select_ridge_lambda``, ``PolynomialFeatureMap``,
  ``FeatureSpaceRegression``, ``DualKernelRegression``.
- ``read_idx`` (MNIST's IDX format, gzip or not) and ``read_examples`` (as the tool reads
  inputs: .npy, IDX, text; row ranges "x.npy[:100]"; "fashion-mnist:train[:1000]").
- ``ntkit.sklearn``: ``NTKRegressor``, ``NTKClassifier`` and the kernel ``NTKKernel``.
- ``ntkit.plot``: the lecture's figures with matplotlib (imported only there, when drawing).

Inputs are NumPy arrays (rows are examples; a 1-D array is a column; ``kernel`` also takes
images (N, H, W, C) and signals (N, L, C) for Conv networks). C-contiguous
float64 arrays (and float32 ones for ``kernel`` and ``classic_kernel``, which then compute in
float32) are read in place; anything else is converted once. Results are NumPy arrays. The GIL is released while the library computes.
The library's errors (ntkit::Error) arrive as ValueError with the library's message.
The module is compiled for the building machine's CPU (-march=native).
"""

import os as _os

# The engine's OpenMP worker threads sleep when idle instead of spinning (libgomp reads this
# once, when the library loads, i.e. at the import below): spinning threads take cores from
# everything else on a shared machine (see apps/ntkit/main.cpp for measurements). A value the
# user set is kept; it has no effect if another package loaded libgomp first.
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# Likewise OpenBLAS's idle worker threads: they poll for ~0.1 s before sleeping by default, ~0.3 ms
# with this (OpenBLAS reads it when it loads; apps/ntkit/main.cpp has the measurements).
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")


def _engine_path():
    import importlib.util

    spec = importlib.util.find_spec("ntkit._core")
    return spec.origin if spec is not None else None


# OpenBLAS's kernels for this CPU, chosen before it loads (see ntkit/_blas.py).
from ntkit._blas import choose_openblas_kernels as _choose_openblas_kernels  # noqa: E402

_choose_openblas_kernels(_engine_path())

from ntkit._core import (  # noqa: E402
    DualKernelRegression,
    EnsemblePredictor,
    FeatureSpaceRegression,
    KernelDynamics,
    KernelRidge,
    LinearizedMlp,
    LinearizedTwoLayerNet,
    Mlp,
    MlpTrainTrace,
    Network,
    NtkParts,
    PolynomialFeatureMap,
    RidgeSelection,
    TwoLayerNet,
    TwoLayerTrace,
    __version__,
    blas_info,
    classic_kernel,
    classic_kernel_diagonal,
    gp_inference,
    kernel,
    kernel_diagonal,
    kernel_to_npy,
    max_learning_rate,
    monte_carlo_kernel,
    parse_network,
    predict_mse,
    predict_ode,
    read_examples,
    read_idx,
    select_ridge_lambda,
    two_layer_ntk,
)

__all__ = [
    "DualKernelRegression",
    "EnsemblePredictor",
    "FeatureSpaceRegression",
    "KernelDynamics",
    "KernelRidge",
    "LinearizedMlp",
    "LinearizedTwoLayerNet",
    "Mlp",
    "MlpTrainTrace",
    "Network",
    "NtkParts",
    "PolynomialFeatureMap",
    "RidgeSelection",
    "TwoLayerNet",
    "TwoLayerTrace",
    "__version__",
    "classic_kernel",
    "classic_kernel_diagonal",
    "gp_inference",
    "kernel",
    "kernel_diagonal",
    "kernel_to_npy",
    "max_learning_rate",
    "monte_carlo_kernel",
    "parse_network",
    "predict_mse",
    "predict_ode",
    "read_examples",
    "read_idx",
    "select_ridge_lambda",
    "two_layer_ntk",
]
