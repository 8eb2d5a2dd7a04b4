"""A third opinion for the agreement table: the NNGP/NTK recursion (docs/mathematics.md §5) in mpmath at 50
significant digits, entry by entry, written from the textbook formulas (Cho & Saul 2009 for the
arc-cosine family, Williams 1997 for erf), not from either implementation.

It understands the same architecture text as ntkit and neural-tangents, for the layers where
the two disagreed or where correlation-1 pairs make the float64 rounding matter: Dense ('ntk'
and 'standard'), Relu, LeakyRelu, ABRelu, Abs, Sign, RectifiedMonomial(0..2), Erf,
Sigmoid_like, Hermite, Identity, LayerNorm, FanOut, parallel, FanInSum, FanInConcat, Residual.
Any other layer raises NotImplementedError (the table then shows no reference for that case).

Diagonal entries are computed with k = q1 = q2 exactly (θ = 0), as the exact mathematics has
them; a pair of exactly parallel float inputs also keeps correlation 1 up to ~1e-50.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 50
PI = mp.pi


class State:
    """Kernel state of K(X1, X2): q1 (n1), q2 (n2), k and ntk (n1 x n2), width (channels)."""

    def __init__(self, q1, q2, k, t, width):
        self.q1, self.q2, self.k, self.t, self.width = q1, q2, k, t, width

    def copy(self):
        return State(list(self.q1), list(self.q2), [list(r) for r in self.k],
                     [list(r) for r in self.t], self.width)


def _geometry(q1, q2, k):
    p = q1 * q2
    s2 = p - k * k
    s = mp.sqrt(s2) if s2 > 0 else mp.mpf(0)
    theta = mp.atan2(s, k)
    return mp.sqrt(p), s, theta


def _elementwise(pair_fn, diag_fn=None):
    """pair_fn(q1, q2, k) -> (T, Tdot); diag uses pair_fn(q, q, q)[0] unless diag_fn given."""
    def apply(st: State) -> State:
        out = st.copy()
        for i in range(len(st.q1)):
            for j in range(len(st.q2)):
                tv, td = pair_fn(st.q1[i], st.q2[j], st.k[i][j])
                out.k[i][j] = tv
                out.t[i][j] = st.t[i][j] * td
        dfn = diag_fn or (lambda q: pair_fn(q, q, q)[0])
        out.q1 = [dfn(q) for q in st.q1]
        out.q2 = [dfn(q) for q in st.q2]
        return out
    return apply


def ABRelu(a, b, do_stabilize=False):  # do_stabilize only rescales (ReLU is homogeneous)
    a, b = mp.mpf(a), mp.mpf(b)

    def pair(q1, q2, k):
        _, s, theta = _geometry(q1, q2, k)
        tdot = (a * a + b * b) / 2 - (a - b) ** 2 * theta / (2 * PI)
        return (a - b) ** 2 * s / (2 * PI) + tdot * k, tdot
    return _elementwise(pair)


def Relu(do_stabilize=False):
    return ABRelu(0, 1)


def LeakyRelu(alpha, do_stabilize=False):
    return ABRelu(alpha, 1)


def Abs(do_stabilize=False):
    return ABRelu(-1, 1)


def Sign():
    def pair(q1, q2, k):
        if q1 == 0 or q2 == 0:
            return mp.mpf(0), mp.mpf(0)
        _, _, theta = _geometry(q1, q2, k)
        return 1 - 2 * theta / PI, mp.mpf(0)  # Tdot = 0: neural-tangents' convention
    return _elementwise(pair)


def _j(n, theta):
    c, s = mp.cos(theta), mp.sin(theta)
    if n == 0:
        return PI - theta
    if n == 1:
        return s + (PI - theta) * c
    if n == 2:
        return 3 * s * c + (PI - theta) * (1 + 2 * c * c)
    raise NotImplementedError(f"RectifiedMonomial({n}) in the reference")


def RectifiedMonomial(degree):
    n = int(degree)

    def pair(q1, q2, k):
        r, _, theta = _geometry(q1, q2, k)
        tv = r ** n * _j(n, theta) / (2 * PI)
        td = mp.mpf(0) if n == 0 else n * n * r ** (n - 1) * _j(n - 1, theta) / (2 * PI)
        return tv, td
    return _elementwise(pair)


def Erf(a=1.0, b=1.0, c=0.0):
    a, b, c = mp.mpf(a), mp.mpf(b), mp.mpf(c)

    def pair(q1, q2, k):
        d1, d2 = 1 + 2 * b * b * q1, 1 + 2 * b * b * q2
        tv = a * a * (2 / PI) * mp.asin(2 * b * b * k / mp.sqrt(d1 * d2)) + c * c
        td = a * a * b * b * (4 / PI) / mp.sqrt(d1 * d2 - 4 * b ** 4 * k * k)
        return tv, td
    return _elementwise(pair)


def Sigmoid_like():
    return Erf(0.5, 1 / mp.mpf("2.4020563531719796"), 0.5)


def _hermite_t(n, q1, q2, k):
    """E[h_n(u) h_n(v)], h_n = He_n/sqrt(n!), (u, v) ~ N(0, [[q1, k], [k, q2]]), any variance:
    from the generating function sum_n He_n(x) s^n/n! = exp(x s - s^2/2), whose expectation is
    exp(a s^2 + k s t + b t^2) with a = (q1 - 1)/2, b = (q2 - 1)/2; n! times the coefficient of
    s^n t^n is  n! sum_{j <= n/2} k^(n-2j)/(n-2j)! (a b)^j/(j!)^2."""
    if n < 0:
        return mp.mpf(0)
    ab = (q1 - 1) * (q2 - 1) / 4
    return mp.factorial(n) * mp.fsum(k ** (n - 2 * j) / mp.factorial(n - 2 * j) * ab ** j
                                     / mp.factorial(j) ** 2 for j in range(n // 2 + 1))


def Hermite(degree):
    """He_n(x)/sqrt(n!) with its exact dual at any variance (neural-tangents' stax.Hermite
    computes k^n, the unit-variance case). T' = E[h_n'(u) h_n'(v)] = n E[h_(n-1)(u) h_(n-1)(v)]
    (He_n' = n He_(n-1))."""
    n = int(degree)

    def pair(q1, q2, k):
        return _hermite_t(n, q1, q2, k), n * _hermite_t(n - 1, q1, q2, k)
    return _elementwise(pair)


def Dense(out_dim, W_std=1.0, b_std=None, parameterization="ntk", **_):
    w2 = mp.mpf(W_std) ** 2
    b2 = mp.mpf(0) if b_std is None else mp.mpf(b_std) ** 2

    def apply(st: State) -> State:
        out = st.copy()
        for i in range(len(st.q1)):
            for j in range(len(st.q2)):
                k_new = w2 * st.k[i][j] + b2
                if parameterization == "ntk":
                    out.t[i][j] = w2 * st.t[i][j] + k_new
                elif parameterization == "standard":
                    out.t[i][j] = (st.width * st.k[i][j] + w2 * st.t[i][j]
                                   + (0 if b_std is None else 1))
                else:
                    raise ValueError(parameterization)
                out.k[i][j] = k_new
        out.q1 = [w2 * q + b2 for q in st.q1]
        out.q2 = [w2 * q + b2 for q in st.q2]
        out.width = out_dim
        return out
    return apply


def LayerNorm(axis=-1, eps=1e-12, batch_axis=0, channel_axis=-1):
    e = mp.mpf(eps)

    def apply(st: State) -> State:
        out = st.copy()
        for i in range(len(st.q1)):
            for j in range(len(st.q2)):
                f = mp.sqrt((st.q1[i] + e) * (st.q2[j] + e))
                out.k[i][j] = st.k[i][j] / f
                out.t[i][j] = st.t[i][j] / f
        out.q1 = [q / (q + e) for q in st.q1]
        out.q2 = [q / (q + e) for q in st.q2]
        return out
    return apply


def Identity():
    return lambda st: st


def serial(*layers):
    def apply(st):
        for layer in layers:
            st = layer(st)
        return st
    return apply


def FanOut(num):
    return lambda st: [st.copy() for _ in range(num)]


def parallel(*branches):
    return lambda sts: [b(s) for b, s in zip(branches, sts)]


def FanInSum():
    def apply(sts):
        out = sts[0].copy()
        for s in sts[1:]:
            out.q1 = [x + y for x, y in zip(out.q1, s.q1)]
            out.q2 = [x + y for x, y in zip(out.q2, s.q2)]
            out.k = [[x + y for x, y in zip(r1, r2)] for r1, r2 in zip(out.k, s.k)]
            out.t = [[x + y for x, y in zip(r1, r2)] for r1, r2 in zip(out.t, s.t)]
        return out
    return apply


def FanInConcat(axis=-1):
    """Features side by side: the next layer sees h.h'/n = sum_b (n_b/n) h_b.h_b'/n_b, so q, k
    and the NTK are the width-weighted means of the branches'; the width is sum_b n_b."""
    if axis != -1:
        raise NotImplementedError("FanInConcat(axis != -1) in the reference")

    def apply(sts):
        total = sum(s.width for s in sts)
        mean = lambda rows: [mp.fsum(s.width * v for s, v in zip(sts, vals)) / total
                             for vals in zip(*rows)]
        out = sts[0].copy()
        out.q1 = mean([s.q1 for s in sts])
        out.q2 = mean([s.q2 for s in sts])
        out.k = [mean([s.k[i] for s in sts]) for i in range(len(out.k))]
        out.t = [mean([s.t[i] for s in sts]) for i in range(len(out.t))]
        out.width = total
        return out
    return apply


def Residual(*layers):
    return serial(FanOut(2), parallel(serial(*layers), Identity()), FanInSum())


NAMESPACE = {name: obj for name, obj in globals().items()
             if callable(obj) and name[0].isupper() and name != "State"}
NAMESPACE.update(serial=serial, parallel=parallel)


def _unsupported(name):
    def fail(*args, **kwargs):
        raise NotImplementedError(f"{name} in the reference")
    return fail


class _Namespace(dict):
    def __missing__(self, key):
        return _unsupported(key)


def kernels(text, x1, x2=None):
    """(nngp, ntk) as float64 arrays, computed at 50 digits."""
    net = eval(f"serial({text})", {"__builtins__": {}}, _Namespace(NAMESPACE))
    x1 = [[mp.mpf(float(v)) for v in row] for row in np.asarray(x1)]
    x2 = x1 if x2 is None else [[mp.mpf(float(v)) for v in row] for row in np.asarray(x2)]
    d = len(x1[0])

    def dot(u, v):
        return mp.fsum(a * b for a, b in zip(u, v)) / d

    st = State([dot(u, u) for u in x1], [dot(v, v) for v in x2],
               [[dot(u, v) for v in x2] for u in x1],
               [[mp.mpf(0)] * len(x2) for _ in x1], d)
    st = net(st)
    to_np = lambda m: np.array([[float(v) for v in row] for row in m])
    return to_np(st.k), to_np(st.t)
