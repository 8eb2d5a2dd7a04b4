"""Independent NumPy implementations of the formulas (docs/mathematics.md §1, §2, §4, §5), written from the
specification, not from the C++ code, to check the module's numbers against."""
import numpy as np


def arccos_kernel(x1, x2, order):
    """Cho & Saul (2009): (1/π) ‖x‖ⁿ ‖y‖ⁿ J_n(θ)."""
    n1 = np.linalg.norm(x1, axis=1)[:, None]
    n2 = np.linalg.norm(x2, axis=1)[None, :]
    cos = np.clip(x1 @ x2.T / (n1 * n2), -1.0, 1.0)
    theta = np.arccos(cos)
    j = {0: np.pi - theta,
         1: np.sin(theta) + (np.pi - theta) * cos,
         2: 3 * np.sin(theta) * cos + (np.pi - theta) * (1 + 2 * cos**2)}[order]
    return (n1 * n2) ** order * j / np.pi


def rbf_kernel(x1, x2, gamma):
    sq = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1)
    return np.exp(-gamma * sq)


def _relu_dual(q1, q2, k):
    r = np.sqrt(np.maximum(q1 * q2 - k**2, 0.0))
    theta = np.arctan2(r, k)
    return (r + (np.pi - theta) * k) / (2 * np.pi), (np.pi - theta) / (2 * np.pi)


def _erf_dual(q1, q2, k):
    s = (1 + 2 * q1) * (1 + 2 * q2)
    return (2 / np.pi) * np.arcsin(2 * k / np.sqrt(s)), (4 / np.pi) / np.sqrt(s - 4 * k**2)


DUALS = {"relu": _relu_dual, "erf": _erf_dual}


def deep_kernels(layers, x1, x2):
    """NNGP and NTK of a serial network under the 'ntk' parameterization (docs/mathematics.md §5).

    layers: ("dense", W_std, b_std) or ("relu",) / ("erf",). Returns (nngp, ntk).
    """
    d = x1.shape[1]
    k = x1 @ x2.T / d
    q1 = (x1**2).sum(1)[:, None] / d
    q2 = (x2**2).sum(1)[None, :] / d
    ntk = np.zeros_like(k)
    for layer in layers:
        if layer[0] == "dense":
            w, b = layer[1], layer[2]
            k, q1, q2 = w**2 * k + b**2, w**2 * q1 + b**2, w**2 * q2 + b**2
            ntk = w**2 * ntk + k
        else:
            dual = DUALS[layer[0]]
            t, t_dot = dual(q1, q2, k)
            q1, q2 = dual(q1, q1, q1)[0], dual(q2, q2, q2)[0]
            k, ntk = t, ntk * t_dot
    return k, ntk


def two_layer_relu_ntk(x1, x2):
    """K^a = (x·x') (π − θ)/(2π), K^b = ‖x‖‖x'‖ (sin θ + (π − θ) cos θ)/(2π) (docs/mathematics.md §2)."""
    gram = x1 @ x2.T
    t, t_dot = _relu_dual((x1**2).sum(1)[:, None], (x2**2).sum(1)[None, :], gram)
    return gram * t_dot, t


def gradient_flow(k_train, y, k_test_train, t):
    """f_t(X) = y − e^(−Kt) y and f_t(X*) = K* K⁻¹ (I − e^(−Kt)) y, from f_0 = 0 (docs/mathematics.md §4)."""
    y2 = y.reshape(len(y), -1)
    if np.isinf(t):
        return y.copy(), (k_test_train @ np.linalg.solve(k_train, y2)).reshape((-1,) + y.shape[1:])
    lam, v = np.linalg.eigh(k_train)
    train = y2 - v @ (np.exp(-lam * t)[:, None] * (v.T @ y2))
    gain = -np.expm1(-lam * t) / lam  # (1 − e^(−λt)) / λ
    test = k_test_train @ (v @ (gain[:, None] * (v.T @ y2)))
    return train.reshape(y.shape), test.reshape((-1,) + y.shape[1:])
