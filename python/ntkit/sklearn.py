"""scikit-learn estimators and a kernel built on ntkit's infinite-width NTK / NNGP.

- ``NTKRegressor``: the prediction of an infinitely wide network trained by gradient flow
  on the squared loss for a time ``time`` (inf: to convergence), averaged over random
  initializations: f_t(X*) = K(X*, X) K⁻¹ (I - e^(-Kt)) y with K the NTK (or, with
  ``kernel="nngp"``, the NNGP kernel: a network whose last layer alone is trained). This
  is neural-tangents' ``gradient_descent_mse_ensemble`` mean.
- ``NTKClassifier``: the same regression on one-hot labels; the predicted class is the
  largest output.
- ``NTKKernel``: K(X, Y) as a scikit-learn kernel, for ``SVC(kernel=NTKKernel(...))``,
  ``KernelRidge(kernel=NTKKernel(...))`` or ``GaussianProcessRegressor``.

``architecture`` is neural-tangents' layer syntax, as in ``ntkit.kernel``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.gaussian_process.kernels import Kernel
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ntkit._core import KernelDynamics, Network, kernel, kernel_diagonal

__all__ = ["NTKClassifier", "NTKKernel", "NTKRegressor", "DEFAULT_ARCHITECTURE"]

#: The command-line tool's example network (README): one ReLU hidden layer.
DEFAULT_ARCHITECTURE = "Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)"


class _NTKPredictor(BaseEstimator):
    """Kernel regression of the infinite-width network at time ``time`` (shared by both)."""

    _parameter_constraints: dict = {
        "architecture": [str, Network],
        "kernel": [StrOptions({"ntk", "nngp"})],
        "time": [Interval(Real, 0, None, closed="both")],
        "diag_reg": [Interval(Real, 0, None, closed="both")],
        "diag_reg_absolute": ["boolean"],
        "loss": [StrOptions({"sum", "mean"})],
        "fixed_layers": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        architecture=DEFAULT_ARCHITECTURE,
        *,
        kernel="ntk",
        time=math.inf,
        diag_reg=1e-6,
        diag_reg_absolute=False,
        loss="sum",
        fixed_layers=0,
    ):
        self.architecture = architecture
        self.kernel = kernel
        self.time = time
        self.diag_reg = diag_reg
        self.diag_reg_absolute = diag_reg_absolute
        self.loss = loss
        self.fixed_layers = fixed_layers

    def _fit_targets(self, X, targets):
        """Stores what predict needs: the training inputs and the dual coefficients."""
        self._validate_params()
        self.network_ = Network(self.architecture) if isinstance(self.architecture, str) else self.architecture
        k_train = kernel(self.network_, X, get=self.kernel, fixed_layers=self.fixed_layers)
        dynamics = KernelDynamics(
            k_train, targets, loss=self.loss, diag_reg=self.diag_reg, diag_reg_absolute=self.diag_reg_absolute
        )
        # The prediction f_t(X*) = K(X*, X) A_t y is linear in K(X*, X), so evaluating it at
        # K(X*, X) = I gives the coefficients A_t y once; predict is then one product.
        self.dual_coef_ = dynamics.test_at_time(self.time, np.eye(X.shape[0]))
        self.X_fit_ = X

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return kernel(self.network_, X, self.X_fit_, get=self.kernel, fixed_layers=self.fixed_layers) @ self.dual_coef_


class NTKRegressor(RegressorMixin, _NTKPredictor):
    """Regression by an infinitely wide network trained with gradient flow (NTK regression).

    Parameters
    ----------
    architecture : str or ntkit.Network
        The network in neural-tangents' layer syntax, e.g.
        ``"Dense(512, W_std=1.5, b_std=0.05), Relu, Dense(1)"``. Widths do not matter
        (infinite width); W_std, b_std, activations and depth do.
    kernel : {"ntk", "nngp"}
        "ntk": every layer is trained; "nngp": only the last layer is (a Gaussian-process
        posterior mean at time=inf).
    time : float >= 0 or inf
        Training time of gradient flow (t = learning rate × steps); inf is the converged
        network, kernel regression K(X*, X) K⁻¹ y.
    diag_reg : float >= 0
        Added to the kernel's diagonal as diag_reg · mean(diag K) (or diag_reg itself with
        diag_reg_absolute). The small default keeps time=inf well-defined when training
        points repeat (a singular kernel); 0 interpolates exactly.
    diag_reg_absolute : bool
    loss : {"sum", "mean"}
        Loss normalization that sets the time scale: ½ Σ (f - y)² or ½ mean (f - y)²
        (neural-tangents' convention). Irrelevant at time=inf.
    fixed_layers : int >= 0
        With kernel="ntk": the first fixed_layers Dense layers are not trained (Arora et al.
        2020); up to the number of Dense layers - 1 (then only the readout trains: the NNGP).

    Attributes
    ----------
    X_fit_ : ndarray (n_samples, n_features)
    dual_coef_ : ndarray (n_samples,) or (n_samples, n_targets)
        Predictions are ``K(X, X_fit_) @ dual_coef_``.
    network_ : ntkit.Network
    n_features_in_ : int
    """

    def fit(self, X, y):
        """Computes the training kernel and the coefficients; y is (n,) or (n, n_targets)."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        self._fit_targets(X, y.astype(np.float64, copy=False))
        return self

    def predict(self, X):
        """Predictions for X (n, n_features): (n,) or (n, n_targets) like y."""
        return self._outputs(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class NTKClassifier(ClassifierMixin, _NTKPredictor):
    """Classification by an infinitely wide network trained with gradient flow on one-hot labels.

    Parameters are those of ``NTKRegressor``. The outputs are the regression of the one-hot
    label vectors; the predicted class is the largest output (shifting or scaling the
    one-hot targets would not change it: the outputs are linear in the targets).

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    X_fit_, dual_coef_ (n_samples, n_classes), network_, n_features_in_
    """

    def fit(self, X, y):
        """Computes the training kernel and the coefficients for labels y (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        one_hot = np.zeros((X.shape[0], len(self.classes_)))
        one_hot[np.arange(X.shape[0]), labels] = 1.0
        self._fit_targets(X, one_hot)
        return self

    def decision_function(self, X):
        """Class scores: (n, n_classes), or (n,) for two classes (positive: classes_[1])."""
        outputs = self._outputs(X)
        if len(self.classes_) == 2:
            return outputs[:, 1] - outputs[:, 0]
        return outputs

    def predict(self, X):
        """The class with the largest output, for every row of X."""
        outputs = self._outputs(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(outputs, axis=1)]


class NTKKernel(Kernel):
    """The infinite-width NTK (or NNGP) of a network as a scikit-learn kernel.

    ``SVC(kernel=NTKKernel(arch))``, ``KernelRidge(kernel=NTKKernel(arch))`` and
    ``GaussianProcessRegressor(kernel=NTKKernel(arch) + WhiteKernel())`` compute whole
    kernel matrices in one call of ``ntkit.kernel`` (scikit-learn recognizes its kernels;
    a plain function would be called once per pair of points). It has no hyperparameters to
    optimize: the architecture is fixed.

    Parameters
    ----------
    architecture : str or ntkit.Network
        The network in neural-tangents' layer syntax (see ``ntkit.kernel``).
    kernel : {"ntk", "nngp"}
    fixed_layers : int >= 0
        The NTK with the first fixed_layers Dense layers not trained (see ``ntkit.kernel``).

    Its repr shows every argument (scikit-learn's kernels print their hyperparameters, and
    this one has none), so ``GridSearchCV.best_params_`` tells which network won.
    """

    def __init__(self, architecture=DEFAULT_ARCHITECTURE, kernel="ntk", fixed_layers=0):
        self.architecture = architecture
        self.kernel = kernel
        self.fixed_layers = fixed_layers

    def __repr__(self):
        args = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __call__(self, X, Y=None, eval_gradient=False):
        """K(X, Y) (n_X, n_Y); K(X, X) when Y is None. With eval_gradient, also the gradient
        with respect to the (no) hyperparameters: an (n_X, n_X, 0) array."""
        K = kernel(self.architecture, X, Y, get=self.kernel, fixed_layers=self.fixed_layers)
        if eval_gradient:
            if Y is not None:
                raise ValueError("NTKKernel: the gradient can only be evaluated when Y is None")
            return K, np.empty((K.shape[0], K.shape[0], 0))
        return K

    def diag(self, X):
        """k(x_i, x_i) for every row of X, (n_X,), in O(n_X)."""
        return kernel_diagonal(self.architecture, X, get=self.kernel, fixed_layers=self.fixed_layers)

    def is_stationary(self):
        """No: the NTK depends on the inputs' norms, not only on their difference."""
        return False
