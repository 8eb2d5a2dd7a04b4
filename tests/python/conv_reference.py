#!/usr/bin/env python3
"""A deliberately naive NumPy oracle for infinite-width convolutional kernels.

It computes the NNGP and the NTK of networks built from Conv, AvgPool, SumPool,
GlobalAvgPool, GlobalSumPool, Flatten, Dense, activations (Relu, Erf, ABRelu, LeakyRelu,
Abs, or any pair of callables T, Tdot), LayerNorm, Identity and branches (FanOut into
parallel branches merged by FanInSum or FanInConcat), under the conventions of
neural-tangents 0.6.5 (`stax` kernel_fn; see docs/mathematics.md §7 and the derivation
notes). It exists to check ntkit's convolutional engine, which stores only the spatial
offsets it needs; this file instead keeps, for every pair of examples (a, b), the FULL
P × P covariance between all positions p of a and all positions q of b (P = H·W for
images, L for sequences, 1 for flat features) and computes each layer by its definition:

  Conv       K'(o, o') = (1/|F|) Σ_f K(i(o, f), i(o', f))     (the same filter tap f on both)
  Pool       K'(o, o') = Σ_a Σ_b K(i(o, a), i(o', b)) / (n(o) n(o'))   (all pairs of taps)

where i(o, f) is the input position read by tap f of output position o (zero padding:
the term is absent; circular padding: the index wraps around). Both are written as sums
of products with 0/1 "tap" matrices A (P_out × P_in) built position by position, so the
code is small enough to read against the definition. Speed is not a goal.

Only NumPy is imported, so pytest can import this file without neural-tangents. The
self-check against neural-tangents needs its virtual environment:

  bench/.venv-nt/bin/python tests/python/conv_reference.py --check-against-nt

Usage:

  import conv_reference as cr
  layers = [("Conv", dict(out_chan=8, filter_shape=(3, 3), padding="SAME", W_std=1.5)),
            ("Relu",),
            ("AvgPool", dict(window_shape=(2, 2), strides=(2, 2))),
            ("Flatten",),
            ("Dense", dict(out_dim=1))]
  nngp, ntk = cr.kernels(layers, x1, x2)          # x: (N, H, W, C), (N, L, C) or (N, d)
  text = cr.network_text(layers)                  # "Conv(8, (3, 3), padding='SAME', ..."

Layer descriptions: a tuple (name,) or (name, dict of keyword arguments) with
neural-tangents' names and defaults; plain strings are accepted for argument-less layers.

  ("Conv", dict(out_chan, filter_shape, strides=None, padding="VALID", W_std=1.0,
                b_std=None, parameterization="ntk"))
  ("Dense", dict(out_dim, W_std=1.0, b_std=None, parameterization="ntk"))
  ("AvgPool", dict(window_shape, strides=None, padding="VALID", normalize_edges=False))
  ("SumPool", dict(window_shape, strides=None, padding="VALID"))
  ("GlobalAvgPool",) ("GlobalSumPool",) ("Flatten",) ("Identity",)
  ("Relu",) ("Abs",) ("LeakyRelu", dict(alpha)) ("ABRelu", dict(a, b)) ("Erf", dict(a=1, b=1, c=0))
  ("Activation", dict(T=callable, Tdot=callable, text="Name(...)"))   # T(q1, q2, k) vectorized
  ("LayerNorm", dict(axis=-1, eps=1e-12))      # axis: -1 or a tuple of activation axes
  ("Residual", [layers...])                    # FanOut(2), parallel(serial(layers), Identity), FanInSum
  ("Parallel", dict(branches=[[layers...], ...], merge="sum" | "concat"))
                                               # FanOut(n), parallel(...), FanInSum / FanInConcat
"""
from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["kernels", "network_text", "State", "apply_layers", "plan_offsets", "ACTIVATIONS"]


# ---- Spatial geometry ------------------------------------------------------------------------

def _out_size_and_low_pad(n, k, s, padding):
    """Output length and number of padded entries before the first input entry, per axis.

    VALID: no padding, out = floor((n - k)/s) + 1. SAME and CIRCULAR: out = ceil(n/s) and the
    total padding is max((out - 1)·s + k − n, 0), of which floor(total/2) goes before the
    input and the rest (one more when the total is odd) after it (XLA's "SAME" rule).
    """
    if padding == "VALID":
        out = (n - k) // s + 1
        low = 0
    elif padding in ("SAME", "CIRCULAR"):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        low = total // 2
    else:
        raise ValueError(f"padding must be 'VALID', 'SAME' or 'CIRCULAR', got {padding!r}")
    if out < 1:
        raise ValueError(f"window {k} does not fit into {n} positions with padding {padding}")
    return out, low


def _source_index(o, t, n, s, low, padding):
    """Input index read by tap t (0 ≤ t < k) of output index o along one axis, or None."""
    j = o * s + t - low
    if padding == "CIRCULAR":
        return j % n
    return j if 0 <= j < n else None


def _tap_matrices(shape, window, strides, padding):
    """One 0/1 matrix per tap f of the window: A_f[o, i] = 1 if output o reads input i at f.

    Positions are flattened in row-major (C) order of their coordinates. Returns the list of
    matrices (in the order of itertools.product over the taps), the output shape, and the
    number of in-range taps of every output position (for normalize_edges).
    """
    if not (len(shape) == len(window) == len(strides)):
        raise ValueError(f"window {tuple(window)} and strides {tuple(strides)} must have one "
                         f"entry per spatial axis of the input {tuple(shape)}")
    geometry = [_out_size_and_low_pad(n, k, s, padding)
                for n, k, s in zip(shape, window, strides)]
    out_shape = tuple(g[0] for g in geometry)
    out_positions = list(itertools.product(*[range(m) for m in out_shape]))
    in_index = {pos: r for r, pos in enumerate(itertools.product(*[range(n) for n in shape]))}
    taps = list(itertools.product(*[range(k) for k in window]))
    mats = []
    for tap in taps:
        A = np.zeros((len(out_positions), len(in_index)))
        for r, out_pos in enumerate(out_positions):
            src = tuple(_source_index(o, t, n, s, g[1], padding)
                        for o, t, n, s, g in zip(out_pos, tap, shape, strides, geometry))
            if all(j is not None for j in src):
                A[r, in_index[src]] += 1.0
        mats.append(A)
    counts = sum(A.sum(axis=1) for A in mats)
    return mats, out_shape, counts


# ---- The kernel state of a pair of batches ---------------------------------------------------

class State:
    """Everything the recursion knows after a layer, for batches x1 (N1) and x2 (N2).

    k12[a, b, p, q]: NNGP covariance between position p of x1[a] and position q of x2[b];
    t12: the NTK, same layout; k11[a, p, q], k22[b, p, q]: each batch with itself (the
    same example only), which supplies the variances q1 = k11[a, p, p], q2 = k22[b, q, q];
    shape: the spatial shape (() for flat features); width: the channel count (what the
    'standard' parameterization uses as fan-in); gaussian: neural-tangents' is_gaussian.
    """

    def __init__(self, k12, t12, k11, k22, shape, width, gaussian):
        self.k12, self.t12, self.k11, self.k22 = k12, t12, k11, k22
        self.shape, self.width, self.gaussian = tuple(shape), int(width), bool(gaussian)

    def replace(self, **kw):
        d = dict(k12=self.k12, t12=self.t12, k11=self.k11, k22=self.k22, shape=self.shape,
                 width=self.width, gaussian=self.gaussian)
        d.update(kw)
        return State(**d)

    @property
    def positions(self):
        return int(np.prod(self.shape)) if self.shape else 1


def input_state(x1, x2=None):
    """The input layer: K(p, q) = Σ_c x1[a, p, c] x2[b, q, c] / C, Θ = 0; not Gaussian."""
    x1 = np.asarray(x1, dtype=np.float64)
    x2 = x1 if x2 is None else np.asarray(x2, dtype=np.float64)
    if x1.ndim < 2 or x1.shape[1:] != x2.shape[1:]:
        raise ValueError(f"inputs must be (N, ..., C) with equal non-batch shapes, got "
                         f"{x1.shape} and {x2.shape}")
    shape, C = x1.shape[1:-1], x1.shape[-1]
    f1 = x1.reshape(x1.shape[0], -1, C)
    f2 = x2.reshape(x2.shape[0], -1, C)
    k12 = np.einsum("apc,bqc->abpq", f1, f2) / C
    k11 = np.einsum("apc,aqc->apq", f1, f1) / C
    k22 = np.einsum("apc,aqc->apq", f2, f2) / C
    return State(k12, np.zeros_like(k12), k11, k22, shape, C, gaussian=False)


def _sandwich(mats_left, mat, weights=None):
    """Σ_f w_f A_f M A_fᵀ over the two position axes (the last two) of M."""
    out = 0.0
    for r, A in enumerate(mats_left):
        w = 1.0 if weights is None else weights[r]
        out = out + w * (A @ mat @ A.T)  # (A M Aᵀ)[o, r] = Σ_pq A[o, p] M[p, q] A[r, q]
    return out


def _both_sides(B_left, mat, B_right):
    """B_left M B_rightᵀ over the two position axes of M."""
    return B_left @ mat @ B_right.T


# ---- Layers ----------------------------------------------------------------------------------

def _dense(st, out_dim, W_std=1.0, b_std=None, parameterization="ntk"):
    """Acts on the channels at every position; every entry of K and Θ separately."""
    bias = 0.0 if b_std is None else b_std ** 2

    def affine(K):
        return W_std ** 2 * K + bias

    if parameterization == "ntk":
        k12 = affine(st.k12)
        t12 = W_std ** 2 * st.t12 + k12
    elif parameterization == "standard":
        t12 = st.width * st.k12 + W_std ** 2 * st.t12 + (0.0 if b_std is None else 1.0)
        k12 = affine(st.k12)
    else:
        raise ValueError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    return st.replace(k12=k12, t12=t12, k11=affine(st.k11), k22=affine(st.k22),
                      width=out_dim, gaussian=True)


def _conv(st, out_chan, filter_shape, strides=None, padding="VALID", W_std=1.0, b_std=None,
          parameterization="ntk"):
    """Conv: the same tap on both sides, averaged over the |F| taps; bias on every entry."""
    filter_shape = tuple(filter_shape)
    strides = tuple(strides) if strides else (1,) * len(filter_shape)
    if not st.shape:
        raise ValueError("Conv needs spatial inputs, got flat features")
    taps, out_shape, _ = _tap_matrices(st.shape, filter_shape, strides, padding)
    F = len(taps)
    bias = 0.0 if b_std is None else b_std ** 2

    def conv(M):  # the covariance of the convolution of unit-variance, unscaled weights
        return _sandwich(taps, M) / F

    c12, c11, c22, ct = conv(st.k12), conv(st.k11), conv(st.k22), conv(st.t12)
    k12 = W_std ** 2 * c12 + bias
    if parameterization == "ntk":
        t12 = W_std ** 2 * ct + k12
    elif parameterization == "standard":
        fan_in = st.width * F
        t12 = fan_in * c12 + W_std ** 2 * ct + (0.0 if b_std is None else 1.0)
    else:
        raise ValueError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    return st.replace(k12=k12, t12=t12, k11=W_std ** 2 * c11 + bias,
                      k22=W_std ** 2 * c22 + bias, shape=out_shape, width=out_chan,
                      gaussian=True)


def _pool(st, window_shape, strides=None, padding="VALID", normalize_edges=False, average=True):
    """Pool: every tap pair (a, b); divided by |window| per side, or by the in-range count."""
    window_shape = tuple(window_shape)
    strides = tuple(strides) if strides else (1,) * len(window_shape)
    if not st.shape:
        raise ValueError("pooling needs spatial inputs, got flat features")
    taps, out_shape, counts = _tap_matrices(st.shape, window_shape, strides, padding)
    B = sum(taps)  # B[o, i]: how often output o reads input i
    if average:
        if padding == "SAME" and normalize_edges:
            B = B / counts[:, None]
        else:
            B = B / len(taps)
    pool = lambda M: _both_sides(B, M, B)  # noqa: E731
    return st.replace(k12=pool(st.k12), t12=pool(st.t12), k11=pool(st.k11), k22=pool(st.k22),
                      shape=out_shape)


def _global_pool(st, average):
    """Sum (or mean) over all P × P position pairs; keeps is_gaussian."""
    if not st.shape:
        raise ValueError("global pooling needs spatial inputs, got flat features")
    P = st.positions
    scale = 1.0 / (P * P) if average else 1.0
    red = lambda M: scale * M.sum(axis=(-2, -1), keepdims=True)  # noqa: E731
    return st.replace(k12=red(st.k12), t12=red(st.t12), k11=red(st.k11), k22=red(st.k22),
                      shape=())


def _flatten(st):
    """Mean over the P equal-position entries (p, p); width becomes P·C; not Gaussian."""
    P = st.positions

    def diag_mean(M):
        return np.trace(M, axis1=-2, axis2=-1)[..., None, None] / P

    return st.replace(k12=diag_mean(st.k12), t12=diag_mean(st.t12), k11=diag_mean(st.k11),
                      k22=diag_mean(st.k22), shape=(), width=P * st.width, gaussian=False)


def _variances(k_self):
    return np.diagonal(k_self, axis1=-2, axis2=-1)  # (N, P)


def _activation(st, T, Tdot):
    """K'(p, q) = T(q1(p), q2(q), K(p, q)), Θ'(p, q) = Θ(p, q) Tdot(...) with per-position
    variances q1(p) = k11[a, p, p], q2(q) = k22[b, q, q]."""
    if not st.gaussian:
        raise ValueError("the input to an activation must be Gaussian (an affine layer first)")
    v1, v2 = _variances(st.k11), _variances(st.k22)
    q1 = v1[:, None, :, None]
    q2 = v2[None, :, None, :]
    k12 = T(q1, q2, st.k12)
    t12 = st.t12 * Tdot(q1, q2, st.k12)
    k11 = T(v1[:, :, None], v1[:, None, :], st.k11)
    k22 = T(v2[:, :, None], v2[:, None, :], st.k22)
    return st.replace(k12=k12, t12=t12, k11=k11, k22=k22, gaussian=False)


def _layer_norm(st, axis=-1, eps=1e-12):
    """Divide by √((eps + q̄1(p)) (eps + q̄2(q))); q̄ is the per-position variance, averaged
    over the spatial axes listed in `axis` (activation axes: 0 batch, 1..S spatial, S+1 or -1
    channel; the channel axis must be listed)."""
    if not st.gaussian:
        raise ValueError("LayerNorm needs a Gaussian input")
    S = len(st.shape)
    ndim = S + 2
    axes = {a % ndim for a in ((axis,) if isinstance(axis, int) else tuple(axis))}
    if ndim - 1 not in axes:
        raise ValueError("LayerNorm must normalize over the channel axis")
    if 0 in axes:
        raise NotImplementedError("LayerNorm over the batch axis is not in this reference")
    spatial_norm = [a - 1 for a in sorted(axes) if 1 <= a <= S]

    def mean_variance(k_self):
        v = eps + _variances(k_self)  # (N, P)
        if spatial_norm:
            v = v.reshape((v.shape[0],) + st.shape)
            v = v.mean(axis=tuple(1 + a for a in spatial_norm), keepdims=True)
            v = np.broadcast_to(v, (v.shape[0],) + st.shape).reshape(v.shape[0], -1)
        return v

    v1, v2 = mean_variance(st.k11), mean_variance(st.k22)
    d12 = np.sqrt(v1[:, None, :, None] * v2[None, :, None, :])
    d11 = np.sqrt(v1[:, :, None] * v1[:, None, :])
    d22 = np.sqrt(v2[:, :, None] * v2[:, None, :])
    return st.replace(k12=st.k12 / d12, t12=st.t12 / d12, k11=st.k11 / d11, k22=st.k22 / d22)


def _merge(states, how):
    if how == "sum":
        if len(states) > 1 and not all(s.gaussian for s in states):
            raise ValueError("FanInSum needs Gaussian branches (an affine layer in each)")
        if any(s.shape != states[0].shape or s.width != states[0].width for s in states):
            raise ValueError("FanInSum needs branches of equal shapes")
        total = lambda name: sum(getattr(s, name) for s in states)  # noqa: E731
        return states[0].replace(k12=total("k12"), t12=total("t12"), k11=total("k11"),
                                 k22=total("k22"), gaussian=all(s.gaussian for s in states))
    if how == "concat":  # along channels: the width-weighted average
        if any(s.shape != states[0].shape for s in states):
            raise ValueError("FanInConcat needs branches of equal spatial shapes")
        widths = [s.width for s in states]
        w = [1] * len(widths) if len(set(widths)) == 1 else widths
        avg = lambda name: sum(wi * getattr(s, name) for wi, s in zip(w, states)) / sum(w)  # noqa
        return states[0].replace(k12=avg("k12"), t12=avg("t12"), k11=avg("k11"), k22=avg("k22"),
                                 width=sum(widths), gaussian=False)
    raise ValueError(f"merge must be 'sum' or 'concat', got {how!r}")


# ---- Activations: T(q1, q2, k) and Tdot(q1, q2, k), vectorized ------------------------------

def ab_relu(a, b):
    """a·min(x, 0) + b·max(x, 0) (Cho & Saul's arc-cosine kernels); θ = π/2 when q1q2 = 0."""
    def parts(q1, q2, k):
        s = np.sqrt(np.maximum(q1 * q2 - k * k, 0.0))
        both_zero = (s == 0) & (k == 0)
        theta = np.where(both_zero, np.pi / 2, np.arctan2(s, np.where(both_zero, 1.0, k)))
        jump = (a - b) ** 2 / (2 * np.pi)
        tdot = (a * a + b * b) / 2 - jump * theta
        return jump * s + tdot * k, tdot

    return (lambda q1, q2, k: parts(q1, q2, k)[0]), (lambda q1, q2, k: parts(q1, q2, k)[1])


def erf_kernel(a=1.0, b=1.0, c=0.0):
    """a·erf(b x) + c (Williams 1997)."""
    def root(q1, q2, k):
        return np.sqrt(np.maximum((1 + 2 * b * b * q1) * (1 + 2 * b * b * q2)
                                  - 4 * (b * b * k) ** 2, 0.0))

    T = lambda q1, q2, k: a * a * (2 / np.pi) * np.arctan2(2 * b * b * k, root(q1, q2, k)) + c * c  # noqa
    Td = lambda q1, q2, k: a * a * b * b * (4 / np.pi) / root(q1, q2, k)  # noqa: E731
    return T, Td


ACTIVATIONS = {
    "Relu": lambda: ab_relu(0.0, 1.0),
    "Abs": lambda: ab_relu(-1.0, 1.0),
    "LeakyRelu": lambda alpha: ab_relu(alpha, 1.0),
    "ABRelu": lambda a, b: ab_relu(a, b),
    "Erf": lambda a=1.0, b=1.0, c=0.0: erf_kernel(a, b, c),
}


# ---- Networks --------------------------------------------------------------------------------

def _name_and_args(layer):
    if isinstance(layer, str):
        return layer, {}
    name = layer[0]
    arg = layer[1] if len(layer) > 1 else {}
    return name, arg


def apply_layers(layers, st, plan=None):
    """Runs the layer list on a State and returns the final State.

    plan (from plan_offsets): before each layer, the covariance entries at offsets the plan
    does not list are set to 0 (used by --check-offsets to show they are never read)."""
    for i, layer in enumerate(layers):
        name, arg = _name_and_args(layer)
        if plan is not None:
            st = _keep_offsets(st, plan[i]["need_in"])
        if name == "Conv":
            st = _conv(st, **arg)
        elif name == "Dense":
            st = _dense(st, **arg)
        elif name == "AvgPool":
            st = _pool(st, average=True, **arg)
        elif name == "SumPool":
            st = _pool(st, average=False, **arg)
        elif name == "GlobalAvgPool":
            st = _global_pool(st, average=True)
        elif name == "GlobalSumPool":
            st = _global_pool(st, average=False)
        elif name == "Flatten":
            st = _flatten(st)
        elif name == "Identity":
            pass
        elif name == "LayerNorm":
            st = _layer_norm(st, **arg)
        elif name in ACTIVATIONS:
            st = _activation(st, *ACTIVATIONS[name](**arg))
        elif name == "Activation":
            st = _activation(st, arg["T"], arg["Tdot"])
        elif name == "Residual":
            sub = None if plan is None else plan[i]["branches"][0]
            st = _merge([apply_layers(arg, st, sub), st], "sum")
        elif name == "Parallel":
            subs = [None] * len(arg["branches"]) if plan is None else plan[i]["branches"]
            st = _merge([apply_layers(branch, st, sub)
                         for branch, sub in zip(arg["branches"], subs)],
                        arg.get("merge", "sum"))
        else:
            raise ValueError(f"unknown layer {name!r}")
    return st


def kernels(layers, x1, x2=None):
    """(nngp, ntk) of the network `layers` between x1 and x2 (x2 = None: x1 with itself).

    x: (N, d) flat, (N, L, C) sequences or (N, H, W, C) images (any number of spatial axes).
    Networks that end with a flat output return (N1, N2) arrays. Networks that end with
    spatial outputs return (N1, N2, P, P) in row-major position order (neural-tangents would
    return (N1, N2, H, H, W, W), with the spatial axes reversed after an odd number of Convs).
    """
    st = apply_layers(layers, input_state(x1, x2))
    if st.shape:
        return st.k12, st.t12
    return st.k12[:, :, 0, 0], st.t12[:, :, 0, 0]


# ---- Which offsets each layer needs (docs/mathematics.md §7) ---------------------------------

def _window_geometry(name, arg):
    if name == "Conv":
        k = tuple(arg["filter_shape"])
    else:
        k = tuple(arg["window_shape"])
    s = tuple(arg.get("strides") or (1,) * len(k))
    return k, s, arg.get("padding", "VALID")


def _output_shape(layers, shape):
    for layer in layers:
        name, arg = _name_and_args(layer)
        if name in ("Conv", "AvgPool", "SumPool"):
            k, s, pad = _window_geometry(name, arg)
            shape = tuple(_out_size_and_low_pad(n, kk, ss, pad)[0]
                          for n, kk, ss in zip(shape, k, s))
        elif name in ("GlobalAvgPool", "GlobalSumPool", "Flatten"):
            shape = ()
        elif name == "Parallel":
            shape = _output_shape(arg["branches"][0], shape)
        elif name == "Residual":
            shape = _output_shape(arg, shape)
    return tuple(shape)


def _all_offsets(shape):
    return tuple(frozenset(range(-(n - 1), n)) for n in shape)


def _union(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return tuple(x | y for x, y in zip(a, b))


def _plan(layers, shape, need_out):
    """Backward pass: (offsets needed at the input, per-layer plan). An offset set is a tuple
    of one frozenset of integer offsets q − p per spatial axis; None for flat states."""
    shapes = [tuple(shape)]
    for layer in layers:
        shapes.append(_output_shape([layer], shapes[-1]))
    plan = [None] * len(layers)
    need = need_out
    for i in range(len(layers) - 1, -1, -1):
        name, arg = _name_and_args(layers[i])
        shp_in = shapes[i]
        entry = {}
        if not shp_in:
            need_in = None
        elif name in ("Conv", "AvgPool", "SumPool"):
            k, s, pad = _window_geometry(name, arg)
            need_in = []
            for ax, (n, kk, ss) in enumerate(zip(shp_in, k, s)):
                spread = range(-(kk - 1), kk) if name != "Conv" else (0,)
                base = {ss * d + e for d in need[ax] for e in spread}
                if pad == "CIRCULAR":  # any plain offset of the same residue mod n
                    res = {b % n for b in base}
                    need_in.append(frozenset(e for e in range(-(n - 1), n) if e % n in res))
                else:
                    need_in.append(frozenset(e for e in base if abs(e) <= n - 1))
            need_in = tuple(need_in)
        elif name == "Flatten":
            need_in = tuple(frozenset({0}) for _ in shp_in)
        elif name in ("GlobalAvgPool", "GlobalSumPool"):
            need_in = _all_offsets(shp_in)
        elif name == "Residual":
            sub_need, sub_plan = _plan(arg, shp_in, need)
            entry["branches"] = [sub_plan]
            need_in = _union(sub_need, need)
        elif name == "Parallel":
            need_in, subs = None, []
            for branch in arg["branches"]:
                sub_need, sub_plan = _plan(branch, shp_in, need)
                subs.append(sub_plan)
                need_in = _union(need_in, sub_need)
            entry["branches"] = subs
        else:  # Dense, activations, LayerNorm, Identity: position by position
            need_in = need
        entry["need_in"] = need_in
        plan[i] = entry
        need = need_in
    return need, plan


def plan_offsets(layers, input_shape):
    """The offsets q − p of K(p, q) that each layer's input needs, planned backwards from the
    output (all offsets if the network ends spatially). input_shape: one example without the
    batch axis, e.g. (H, W, C). Returns a list aligned with `layers`: dicts with "need_in" (a
    tuple of sorted offset tuples per spatial axis, or None for flat inputs) and, for
    Residual/Parallel, "branches" (their plans)."""
    shape = tuple(input_shape[:-1])
    out = _output_shape(layers, shape)
    _, plan = _plan(layers, shape, _all_offsets(out) if out else None)
    return plan


def _keep_offsets(st, need):
    if need is None or not st.shape:
        return st
    pos = list(itertools.product(*[range(n) for n in st.shape]))
    keep = np.array([[all((q[a] - p[a]) in need[a] for a in range(len(st.shape)))
                      for q in pos] for p in pos])
    z = lambda M: np.where(keep, M, 0.0)  # noqa: E731
    return st.replace(k12=z(st.k12), t12=z(st.t12), k11=z(st.k11), k22=z(st.k22))


def check_offsets():
    """The §7 offset rule: zeroing every covariance entry that plan_offsets does not list
    leaves the kernels unchanged, on every network of the self-check grid."""
    rng = np.random.default_rng(7)
    worst, kept = 0.0, []
    for label, layers, shape in _check_cases():
        x1 = rng.standard_normal((3,) + shape)
        x2 = rng.standard_normal((2,) + shape)
        plan = plan_offsets(layers, shape)
        st0, st1 = input_state(x1, x2), input_state(x1, x2)
        a = apply_layers(layers, st0)
        b = apply_layers(layers, st1, plan)
        for m, n in ((a.k12, b.k12), (a.t12, b.t12)):
            worst = max(worst, float(np.max(np.abs(m - n)) / np.max(np.abs(m))))
        need = plan[0]["need_in"]
        if need is not None:
            full = np.prod([2 * n - 1 for n in shape[:-1]])
            kept.append(np.prod([len(x) for x in need]) / full)
    print(f"{len(_check_cases())} networks: kernels with only the planned offsets kept differ "
          f"by at most {worst:.1e} (relative); at the input the plan keeps "
          f"{min(kept):.0%}..{max(kept):.0%} of the offsets")
    return worst <= 1e-14


# ---- Network text (neural-tangents' syntax, as ntkit parses it) --------------------------------

_DEFAULTS = {
    "Conv": dict(strides=None, padding="VALID", W_std=1.0, b_std=None, parameterization="ntk"),
    "Dense": dict(W_std=1.0, b_std=None, parameterization="ntk"),
    "AvgPool": dict(strides=None, padding="VALID", normalize_edges=False),
    "SumPool": dict(strides=None, padding="VALID"),
    "LayerNorm": dict(axis=-1, eps=1e-12),
    "Erf": dict(a=1.0, b=1.0, c=0.0),
}
_POSITIONAL = {"Conv": ("out_chan", "filter_shape"), "Dense": ("out_dim",),
               "AvgPool": ("window_shape",), "SumPool": ("window_shape",),
               "LeakyRelu": ("alpha",), "ABRelu": ("a", "b")}


def _value_text(v):
    if isinstance(v, str):
        return "'" + v + "'"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_value_text(e) for e in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, float):
        return repr(float(v))
    return str(v)


def _layer_text(layer):
    name, arg = _name_and_args(layer)
    if name == "Residual":
        return "Residual(" + ", ".join(_layer_text(x) for x in arg) + ")"
    if name == "Parallel":
        branches = arg["branches"]
        merge = {"sum": "FanInSum", "concat": "FanInConcat"}[arg.get("merge", "sum")]
        return (f"FanOut({len(branches)}), parallel("
                + ", ".join(_branch_text(b) for b in branches) + f"), {merge}")
    if name == "Activation":
        return arg["text"]
    parts = [_value_text(arg[p]) for p in _POSITIONAL.get(name, ()) if p in arg]
    defaults = _DEFAULTS.get(name, {})
    for key, value in arg.items():
        if key in _POSITIONAL.get(name, ()):
            continue
        if key in defaults and _same(defaults[key], value):
            continue
        parts.append(f"{key}={_value_text(value)}")
    return name + ("(" + ", ".join(parts) + ")" if parts else "")


def _same(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(b, (int, float)) and not isinstance(b, bool) and float(a) == float(b)
    return a == b


def _branch_text(branch):
    if not branch:
        return "Identity"
    if len(branch) == 1 and _name_and_args(branch[0])[0] not in ("Residual", "Parallel"):
        return _layer_text(branch[0])
    return "serial(" + ", ".join(_layer_text(x) for x in branch) + ")"


def network_text(layers):
    """The network in neural-tangents' syntax, e.g. "Conv(8, (3, 3), padding='SAME'), Relu"."""
    return ", ".join(_layer_text(x) for x in layers)


# ---- Self-check against neural-tangents (needs bench/.venv-nt) ------------------------------

def _stax_layers(layers, stax):
    out = []
    for layer in layers:
        name, arg = _name_and_args(layer)
        if name == "Residual":
            out += [stax.FanOut(2), stax.parallel(stax.serial(*_stax_layers(arg, stax)),
                                                   stax.Identity()), stax.FanInSum()]
        elif name == "Parallel":
            branches = [stax.serial(*_stax_layers(b, stax)) if b else stax.Identity()
                        for b in arg["branches"]]
            merge = stax.FanInSum() if arg.get("merge", "sum") == "sum" else stax.FanInConcat()
            out += [stax.FanOut(len(branches)), stax.parallel(*branches), merge]
        elif name == "Activation":
            raise ValueError("custom activations have no stax counterpart here")
        else:
            out.append(getattr(stax, name)(**arg))
    return out


def _check_cases():
    """(label, layers, input shape) over paddings, strides, parameterizations and pools."""
    cases = []
    pads = ("VALID", "SAME", "CIRCULAR")
    for dims, shape, filt in ((2, (5, 6, 2), (3, 2)), (2, (5, 6, 2), (2, 2)),
                              (1, (7, 2), (3,)), (1, (7, 2), (2,))):
        for pad, stride, param, bias in itertools.product(pads, (1, 2), ("ntk", "standard"),
                                                          (None, 0.0, 0.3)):
            st = (stride,) * dims
            conv = dict(out_chan=3, filter_shape=filt, strides=st, padding=pad, W_std=1.3,
                        b_std=bias, parameterization=param)
            conv2 = dict(out_chan=4, filter_shape=(2,) * dims, padding="SAME", W_std=0.9,
                         b_std=0.1, parameterization=param)
            readout = ("Dense", dict(out_dim=1, W_std=1.1, b_std=bias, parameterization=param))
            tag = f"{dims}d-f{''.join(map(str, filt))}-{pad}-s{stride}-{param}-b{bias}"
            cases.append((tag + "-flatten",
                          [("Conv", conv), ("Relu",), ("Conv", conv2), ("Erf",), ("Flatten",),
                           readout], shape))
            cases.append((tag + "-gap",
                          [("Conv", conv), ("Relu",), ("Conv", conv2), ("GlobalAvgPool",),
                           readout], shape))
        for pool, pad, stride, norm in itertools.product(("AvgPool", "SumPool"), pads, (1, 2),
                                                         (False, True)):
            if pool == "SumPool" and norm:
                continue
            for win in ((2,) * dims, (3,) * dims):
                parg = dict(window_shape=win, strides=(stride,) * dims, padding=pad)
                if pool == "AvgPool":
                    parg["normalize_edges"] = norm
                for param in ("ntk", "standard"):
                    conv = dict(out_chan=5, filter_shape=filt, padding="SAME", W_std=1.2,
                                b_std=0.2, parameterization=param)
                    tag = (f"{dims}d-{pool}{''.join(map(str, win))}-{pad}-s{stride}"
                           f"{'-edges' if norm else ''}-{param}")
                    cases.append((tag, [("Conv", conv), ("Relu",), (pool, parg),
                                        ("Conv", dict(conv, out_chan=2)), ("Relu",),
                                        ("Flatten",),
                                        ("Dense", dict(out_dim=1, W_std=0.8, b_std=0.1,
                                                       parameterization=param))], shape))
    # Global pools, Dense on spatial inputs, LayerNorm, residual blocks, FanInConcat.
    for dims, shape in ((2, (5, 6, 2)), (1, (7, 2))):
        c3 = dict(out_chan=4, filter_shape=(3,) * dims, padding="SAME", W_std=1.4, b_std=0.1)
        cs = dict(c3, parameterization="standard")
        d = f"{dims}d"
        cases += [
            (d + "-gsp", [("Conv", c3), ("Relu",), ("GlobalSumPool",), ("Dense", dict(out_dim=1))],
             shape),
            (d + "-gap-relu-dense", [("Conv", c3), ("GlobalAvgPool",), ("Relu",),
                                     ("Dense", dict(out_dim=2, b_std=0.1))], shape),
            (d + "-spatial-dense", [("Dense", dict(out_dim=3, W_std=1.2, b_std=0.3)), ("Relu",),
                                    ("Conv", c3), ("Relu",),
                                    ("Dense", dict(out_dim=5, W_std=0.7, b_std=0.2)), ("Erf",),
                                    ("Flatten",), ("Dense", dict(out_dim=1))], shape),
            (d + "-spatial-dense-standard",
             [("Dense", dict(out_dim=3, W_std=1.2, b_std=0.3, parameterization="standard")),
              ("Relu",), ("Conv", cs), ("Relu",),
              ("Dense", dict(out_dim=5, W_std=0.7, b_std=0.0, parameterization="standard")),
              ("Relu",), ("AvgPool", dict(window_shape=(2,) * dims)), ("Flatten",),
              ("Dense", dict(out_dim=1, b_std=0.1, parameterization="standard"))], shape),
            (d + "-layernorm", [("Conv", c3), ("LayerNorm",), ("Relu",), ("Conv", c3),
                                ("LayerNorm", dict(eps=0.5)), ("Erf", dict(a=1.5, b=0.7, c=0.1)),
                                ("Flatten",), ("Dense", dict(out_dim=1))], shape),
            (d + "-layernorm-spatial",
             [("Conv", c3), ("LayerNorm", dict(axis=tuple(range(1, dims + 2)))), ("Relu",),
              ("Conv", c3), ("GlobalAvgPool",), ("Dense", dict(out_dim=1))], shape),
            (d + "-residual", [("Conv", c3), ("Residual", [("Relu",), ("Conv", c3), ("Relu",),
                                                           ("Conv", c3)]),
                               ("Residual", [("LeakyRelu", dict(alpha=0.1)), ("Conv", c3)]),
                               ("Relu",), ("AvgPool", dict(window_shape=(2,) * dims,
                                                           strides=(2,) * dims,
                                                           padding="SAME")),
                               ("Flatten",), ("Dense", dict(out_dim=1))], shape),
            (d + "-residual-standard",
             [("Conv", cs), ("Residual", [("Relu",), ("Conv", cs)]), ("Abs",),
              ("GlobalAvgPool",), ("Dense", dict(out_dim=1, parameterization="standard"))],
             shape),
            (d + "-concat", [("Conv", c3), ("Parallel", dict(
                branches=[[("Relu",), ("Conv", dict(c3, out_chan=3))],
                          [("Erf",), ("Conv", dict(c3, out_chan=6, filter_shape=(1,) * dims))]],
                merge="concat")), ("Conv", cs), ("Relu",), ("Flatten",),
                ("Dense", dict(out_dim=1))], shape),
            (d + "-concat-flat", [("Conv", c3), ("Relu",), ("Parallel", dict(
                branches=[[("Conv", dict(c3, out_chan=3)), ("GlobalAvgPool",)],
                          [("GlobalSumPool",)]], merge="concat")),
                ("Dense", dict(out_dim=7, parameterization="standard")), ("Relu",),
                ("Dense", dict(out_dim=1, parameterization="standard"))], shape),
            (d + "-ends-spatial", [("Conv", c3), ("Relu",), ("Conv", dict(c3, strides=(2,) * dims))],
             shape),
        ]
    cases.append(("flat-mlp", [("Dense", dict(out_dim=8, W_std=1.5, b_std=0.1)), ("Relu",),
                               ("Dense", dict(out_dim=1))], (6,)))
    return cases


def _nt_kernels(layers, x1, x2, stax, dims):
    import numpy as _np
    kernel_fn = stax.serial(*_stax_layers(layers, stax))[2]
    k = kernel_fn(x1, x2, ("nngp", "ntk"))
    nngp, ntk = _np.asarray(k.nngp), _np.asarray(k.ntk)
    if nngp.ndim > 2:  # spatial output: (N1, N2, X, X, Y, Y...), maybe reversed
        is_rev = kernel_fn(x1, x2, "is_reversed")
        n1, n2 = nngp.shape[:2]
        S = (nngp.ndim - 2) // 2

        def to_pp(m):
            m = m.reshape((n1, n2) + m.shape[2:])
            # (a, b, s0, s0', s1, s1', ...) -> (a, b, s0, s1, ..., s0', s1', ...)
            order = [0, 1] + [2 + 2 * i for i in range(S)] + [3 + 2 * i for i in range(S)]
            m = m.transpose(order)
            if is_rev:  # spatial axes stored last-first
                order = ([0, 1] + [2 + S - 1 - i for i in range(S)]
                         + [2 + 2 * S - 1 - i for i in range(S)])
                m = m.transpose(order)
            P = int(_np.prod(m.shape[2:2 + S]))
            return m.reshape(n1, n2, P, P)

        nngp, ntk = to_pp(nngp), to_pp(ntk)
    return nngp, ntk


def _max_rel(a, b):
    scale = max(np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


def _batch_diagonal_mask(n, shape):
    """True on the entries (a, a, ...) of an (n, n, ...) array."""
    m = np.zeros(shape, dtype=bool)
    for a in range(n):
        m[a, a] = True
    return m


def check_against_nt(verbose=False):
    """Compares the reference with neural-tangents on every network of _check_cases().

    Three numbers per network, each max|ref − nt| / max|nt| over NNGP and NTK:
    K(X1, X2) (two different batches), K(X1, X1) without its (a, a) entries, and the (a, a)
    entries of K(X1, X1). The last is reported, not judged at 1e-12: neural-tangents computes
    the cross covariance of an example with itself and its variance by differently shaped
    reductions, which can differ in the last bit, so that its angle θ at a point paired with
    itself comes out ~1e-8 instead of 0 and Tdot (which has infinite slope there for Relu)
    moves by ~1e-9 relative. The reference has θ = 0 exactly there (see the notes).
    """
    import sys
    import time
    import types
    import warnings
    sys.modules.setdefault("neural_tangents.experimental",
                           types.ModuleType("neural_tangents.experimental"))
    import jax
    jax.config.update("jax_enable_x64", True)
    from neural_tangents import stax
    warnings.filterwarnings("ignore", message=".*FanIn.*")
    warnings.filterwarnings("ignore", message=".*mismatching `channel_axis`.*")  # global pools

    rng = np.random.default_rng(20261203)
    worst = {"cross": (0.0, None), "self-off": (0.0, None), "self-diag": (0.0, None)}
    cases = _check_cases()
    t0 = time.time()
    for label, layers, shape in cases:
        x1 = rng.standard_normal((3,) + shape)
        x2 = rng.standard_normal((2,) + shape)
        errs = {}
        ref = kernels(layers, x1, x2)
        got = _nt_kernels(layers, x1, x2, stax, len(shape) - 1)
        errs["cross"] = max(_max_rel(r, g) for r, g in zip(ref, got))
        ref = kernels(layers, x1, None)
        got = _nt_kernels(layers, x1, None, stax, len(shape) - 1)
        diag = _batch_diagonal_mask(3, ref[0].shape)
        errs["self-off"] = max(float(np.max(np.abs(r - g)[~diag]) / np.max(np.abs(g)))
                               for r, g in zip(ref, got))
        errs["self-diag"] = max(float(np.max(np.abs(r - g)[diag]) / np.max(np.abs(g)))
                                for r, g in zip(ref, got))
        for key, e in errs.items():
            if e > worst[key][0]:
                worst[key] = (e, label)
        if verbose or max(errs["cross"], errs["self-off"]) > 1e-12:
            print(f"{label:52s} cross {errs['cross']:.1e}  self (a != b) {errs['self-off']:.1e}"
                  f"  self (a = b) {errs['self-diag']:.1e}   {network_text(layers)}")
    print(f"{len(cases)} networks in {time.time() - t0:.0f} s; max relative difference "
          f"(max|ref - nt| / max|nt|, NNGP and NTK):")
    for key, title in (("cross", "K(X1, X2)"), ("self-off", "K(X1, X1), entries a != b"),
                       ("self-diag", "K(X1, X1), entries a = b (reported only)")):
        print(f"  {title:42s} {worst[key][0]:.2e}  ({worst[key][1]})")
    ok = max(worst["cross"][0], worst["self-off"][0]) <= 1e-12
    print("PASS" if ok else "FAIL", "(target 1e-12 on K(X1, X2) and on K(X1, X1) off the (a, a) "
          "entries)")
    return ok


if __name__ == "__main__":
    import argparse
    import sys
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check-against-nt", action="store_true",
                   help="compare with neural-tangents (run with bench/.venv-nt/bin/python)")
    p.add_argument("--check-offsets", action="store_true",
                   help="check the §7 offset rule (plan_offsets) on the grid; NumPy only")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.check_offsets:
        ok = check_offsets()
        if not args.check_against_nt:
            sys.exit(0 if ok else 1)
    if args.check_against_nt:
        sys.exit(0 if check_against_nt(args.verbose) else 1)
    p.print_help()
