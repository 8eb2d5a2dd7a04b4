# Type stubs of the C++ extension ntkit._core (python/src/*.cpp). Docstrings live in the
# extension itself (help(ntkit.kernel)); these give editors and type checkers the signatures.
import os
from collections.abc import Callable, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

__version__: str

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.floating]
F64Array = npt.NDArray[np.float64]

def _view_address_float64(x: ArrayLike) -> int: ...
def _view_address_float32(x: ArrayLike) -> int: ...

# ---- classic kernels (classic_kernels.cpp) ----
def classic_kernel(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    kernel: str = "linear",
    degree: int = 2,
    c: float = 1.0,
    gamma: float | None = None,
    order: int = 1,
) -> FloatArray: ...
def classic_kernel_diagonal(
    x: ArrayLike,
    *,
    kernel: str = "linear",
    degree: int = 2,
    c: float = 1.0,
    gamma: float | None = None,
    order: int = 1,
) -> FloatArray: ...

# ---- deep networks (analytic_kernels.cpp) ----
class Network:
    def __init__(self, text: str) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def parse_network(text: str) -> Network: ...
@overload
def kernel(
    arch: str | Network,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    get: str = "ntk",
    quadrature_degree: int = ...,
    fixed_layers: int = 0,
) -> FloatArray: ...
@overload
def kernel(
    arch: str | Network,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    get: Sequence[str],
    quadrature_degree: int = ...,
    fixed_layers: int = 0,
) -> tuple[FloatArray, ...]: ...
@overload
def kernel_diagonal(
    arch: str | Network, x: ArrayLike, *, get: str = "ntk", quadrature_degree: int = ..., fixed_layers: int = 0
) -> F64Array: ...
@overload
def kernel_diagonal(
    arch: str | Network, x: ArrayLike, *, get: Sequence[str], quadrature_degree: int = ..., fixed_layers: int = 0
) -> tuple[F64Array, ...]: ...

def kernel_to_npy(
    arch: str | Network,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    ntk: str | os.PathLike[str] | None = None,
    nngp: str | os.PathLike[str] | None = None,
    dtype: str = "float64",
    quadrature_degree: int = ...,
    panel_rows: int = 0,
    fixed_layers: int = 0,
) -> None: ...

# ---- feature maps and linear models (feature_models.cpp) ----
class PolynomialFeatureMap:
    def __init__(self, input_dim: int, degree: int, c: float = 1.0, max_features: int = 16777216) -> None: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def degree(self) -> int: ...
    @property
    def c(self) -> float: ...
    @property
    def output_dim(self) -> int: ...
    def transform(self, x: ArrayLike) -> F64Array: ...
    def exponents(self, feature: int) -> list[int]: ...

class FeatureSpaceRegression:
    def __init__(self, features: ArrayLike, targets: ArrayLike, initial_weights: ArrayLike | None = None) -> None: ...
    def step(self, learning_rate: float) -> None: ...
    def predict(self, features: ArrayLike) -> F64Array: ...
    def train_outputs(self) -> F64Array: ...
    def loss(self) -> float: ...
    @property
    def weights(self) -> F64Array: ...

class DualKernelRegression:
    def __init__(
        self, kernel: ArrayLike, targets: ArrayLike, initial_train_outputs: ArrayLike | None = None
    ) -> None: ...
    def step(self, learning_rate: float) -> None: ...
    def predict(self, cross_kernel: ArrayLike, initial_outputs: ArrayLike | None = None) -> F64Array: ...
    def train_outputs(self) -> F64Array: ...
    def loss(self) -> float: ...
    @property
    def coefficients(self) -> F64Array: ...

# ---- kernel ridge (kernel_ridge.cpp) ----
class KernelRidge:
    def __init__(self) -> None: ...
    def fit(self, kernel: ArrayLike, targets: ArrayLike, lam: float) -> KernelRidge: ...
    def predict(self, cross_kernel: ArrayLike) -> F64Array: ...
    @property
    def dual_coef(self) -> F64Array: ...
    @property
    def fitted(self) -> bool: ...

class RidgeSelection:
    @property
    def lambda_(self) -> float: ...
    @property
    def lambdas(self) -> list[float]: ...
    @property
    def mean_squared_error(self) -> list[float]: ...

def select_ridge_lambda(
    kernel: ArrayLike, targets: ArrayLike, lambdas: Sequence[float], *, folds: int = 5, seed: int = 0
) -> RidgeSelection: ...

# ---- the two-layer network (two_layer.cpp) ----
class NtkParts:
    @property
    def a(self) -> F64Array: ...
    @property
    def b(self) -> F64Array: ...
    def total(self) -> F64Array: ...

def two_layer_ntk(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    activation: str = "relu",
    quadrature_degree: int = 0,
    force_quadrature: bool = False,
) -> NtkParts: ...

class TwoLayerTrace:
    @property
    def steps(self) -> npt.NDArray[np.int_]: ...
    @property
    def loss(self) -> F64Array: ...
    @property
    def train_outputs(self) -> F64Array: ...
    @property
    def test_outputs(self) -> F64Array: ...
    @property
    def weight_rel_change(self) -> F64Array: ...

class TwoLayerNet:
    def __init__(self, input_dim: int, width: int, *, activation: str = "relu", seed: int = 0) -> None: ...
    @staticmethod
    def from_weights(a: ArrayLike, b: ArrayLike, *, activation: str = "relu") -> TwoLayerNet: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def activation(self) -> str: ...
    @property
    def a(self) -> F64Array: ...
    @property
    def b(self) -> F64Array: ...
    def forward(self, x: ArrayLike) -> F64Array: ...
    def __call__(self, x: ArrayLike) -> F64Array: ...
    def loss_gradient(self, x: ArrayLike, y: ArrayLike) -> tuple[F64Array, F64Array]: ...
    def gradient_step(self, x: ArrayLike, y: ArrayLike, learning_rate: float) -> None: ...
    def empirical_ntk(self, x1: ArrayLike, x2: ArrayLike | None = None) -> NtkParts: ...
    def train(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        learning_rate: float,
        steps: int,
        x_test: ArrayLike | None = None,
        record_every: int = 1,
        progress: Callable[[int], object] | None = None,
    ) -> TwoLayerTrace: ...
    def parameter_norm(self) -> float: ...
    def parameter_distance(self, other: TwoLayerNet) -> float: ...
    def __copy__(self) -> TwoLayerNet: ...
    def __deepcopy__(self, memo: dict) -> TwoLayerNet: ...

class LinearizedTwoLayerNet:
    def __init__(self, initial: TwoLayerNet) -> None: ...
    def forward(self, x: ArrayLike) -> F64Array: ...
    def gradient_step(self, x: ArrayLike, y: ArrayLike, learning_rate: float) -> None: ...
    def displacement_norm(self) -> float: ...
    @property
    def initial(self) -> TwoLayerNet: ...

# ---- predictions (kernel_dynamics.cpp) ----
class KernelDynamics:
    def __init__(
        self,
        k_train: ArrayLike,
        targets: ArrayLike,
        *,
        loss: str = "sum",
        diag_reg: float = 0.0,
        diag_reg_absolute: bool = False,
    ) -> None: ...
    def train_at_time(self, t: float, f0_train: ArrayLike | None = None) -> F64Array: ...
    def test_at_time(
        self, t: float, k_test_train: ArrayLike, f0_train: ArrayLike | None = None, f0_test: ArrayLike | None = None
    ) -> F64Array: ...
    def train_after_steps(self, steps: int, learning_rate: float, f0_train: ArrayLike | None = None) -> F64Array: ...
    def test_after_steps(
        self,
        steps: int,
        learning_rate: float,
        k_test_train: ArrayLike,
        f0_train: ArrayLike | None = None,
        f0_test: ArrayLike | None = None,
    ) -> F64Array: ...
    @property
    def eigenvalues(self) -> F64Array: ...
    def max_stable_learning_rate(self) -> float: ...

# ---- finite deep networks (mlp.cpp) ----
class MlpTrainTrace:
    @property
    def steps(self) -> npt.NDArray[np.int_]: ...
    @property
    def loss(self) -> F64Array: ...
    @property
    def train_outputs(self) -> F64Array: ...
    @property
    def test_outputs(self) -> F64Array: ...
    @property
    def weight_rel_change(self) -> F64Array: ...
    @property
    def kernel_rel_drift(self) -> F64Array: ...

class Mlp:
    def __init__(self, arch: str | Network, input_dim: int | Sequence[int], *, seed: int = 0) -> None: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def input_shape(self) -> tuple[int, ...]: ...
    @property
    def output_dim(self) -> int: ...
    @property
    def network(self) -> Network: ...
    @property
    def parameter_count(self) -> int: ...
    @property
    def parameters(self) -> F64Array: ...
    def set_parameters(self, parameters: ArrayLike) -> None: ...
    def dense_parameters(self) -> list[dict[str, int]]: ...
    def forward(self, x: ArrayLike) -> F64Array: ...
    def __call__(self, x: ArrayLike) -> F64Array: ...
    def vjp(self, x: ArrayLike, cotangent: ArrayLike) -> F64Array: ...
    def jvp(self, x: ArrayLike, tangent: ArrayLike) -> F64Array: ...
    @overload
    def empirical_kernel(
        self, x1: ArrayLike, x2: ArrayLike | None = None, *, get: str = "ntk", full_logits: bool = False
    ) -> F64Array: ...
    @overload
    def empirical_kernel(
        self, x1: ArrayLike, x2: ArrayLike | None = None, *, get: Sequence[str], full_logits: bool = False
    ) -> tuple[F64Array, ...]: ...
    def train(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        learning_rate: float,
        steps: int,
        x_test: ArrayLike | None = None,
        optimizer: str = "gd",
        loss: str = "mse",
        batch_size: int = 0,
        momentum: float = 0.9,
        record_every: int = 1,
        record_kernel_drift: bool = True,
        seed: int = 0,
        progress: Callable[[int], object] | None = None,
    ) -> MlpTrainTrace: ...
    def __copy__(self) -> Mlp: ...
    def __deepcopy__(self, memo: dict) -> Mlp: ...

class LinearizedMlp:
    def __init__(self, initial: Mlp) -> None: ...
    def forward(self, x: ArrayLike) -> F64Array: ...
    @property
    def parameters(self) -> F64Array: ...
    def set_parameters(self, parameters: ArrayLike) -> None: ...
    @property
    def initial(self) -> Mlp: ...
    def train(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        learning_rate: float,
        steps: int,
        x_test: ArrayLike | None = None,
        optimizer: str = "gd",
        loss: str = "mse",
        batch_size: int = 0,
        momentum: float = 0.9,
        record_every: int = 1,
        record_kernel_drift: bool = True,
        seed: int = 0,
        progress: Callable[[int], object] | None = None,
    ) -> MlpTrainTrace: ...

@overload
def monte_carlo_kernel(
    arch: str | Network,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    samples: int,
    seed: int = 0,
    get: str = "ntk",
    full_logits: bool = False,
) -> F64Array: ...
@overload
def monte_carlo_kernel(
    arch: str | Network,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    samples: int,
    seed: int = 0,
    get: Sequence[str],
    full_logits: bool = False,
) -> tuple[F64Array, ...]: ...

# ---- GP inference and ensembles (predict.cpp) ----
KernelBlocks = tuple[ArrayLike | None, ArrayLike | None]  # (nngp, ntk)

def gp_inference(
    k_train: KernelBlocks,
    y_train: ArrayLike,
    k_test_train: KernelBlocks,
    k_test_test: KernelBlocks | None = None,
    *,
    get: str = "nngp",
    diag_reg: float = 0.0,
    diag_reg_absolute: bool = False,
) -> tuple[F64Array, F64Array | None]: ...

class EnsemblePredictor:
    def __init__(
        self,
        k_train: KernelBlocks,
        y_train: ArrayLike,
        *,
        get: str = "ntk",
        loss: str = "sum",
        diag_reg: float = 0.0,
        diag_reg_absolute: bool = False,
    ) -> None: ...
    def test(
        self, times: Sequence[float], k_test_train: KernelBlocks, nngp_test_test: ArrayLike | None = None
    ) -> tuple[F64Array, F64Array | None]: ...
    def train(self, times: Sequence[float], *, covariance: bool = False) -> tuple[F64Array, F64Array | None]: ...

def predict_mse(
    k_train: ArrayLike,
    y_train: ArrayLike,
    times: Sequence[float],
    k_test_train: ArrayLike | None = None,
    *,
    loss: str = "sum",
    learning_rate: float = 0.0,
    momentum: float = 0.0,
    diag_reg: float = 0.0,
    diag_reg_absolute: bool = False,
    f0_train: ArrayLike | None = None,
    f0_test: ArrayLike | None = None,
) -> tuple[F64Array, F64Array | None]: ...
def predict_ode(
    k_train: ArrayLike,
    y_train: ArrayLike,
    times: Sequence[float],
    k_test_train: ArrayLike | None = None,
    *,
    objective: str = "cross-entropy",
    loss: str = "sum",
    learning_rate: float = 1.0,
    momentum: float = 0.0,
    f0_train: ArrayLike | None = None,
    f0_test: ArrayLike | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 1000000,
) -> tuple[F64Array, F64Array | None]: ...
def max_learning_rate(ntk_train: ArrayLike, *, loss: str = "sum", y_size: int = 1, momentum: float = 0.0) -> float: ...
def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[np.generic]: ...
def read_examples(source: str | os.PathLike[str]) -> F64Array: ...
