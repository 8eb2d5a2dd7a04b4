"""ntkit.plot: the lecture's figures, drawn with matplotlib from ntkit's results.

One function per figure. Each takes data (NumPy arrays, or the dicts that ``ntkit demo`` and
``ntkit classic-demo`` write as report.json / details.json), returns a
``matplotlib.figure.Figure`` and, given ``path``, also writes it there atomically (to a
temporary file in the same folder, then ``os.replace``: an error never leaves a half-written
or stale-named file). Figures are built without pyplot, so no GUI backend or global figure
state is involved; display one in Jupyter as it is, or save it.

The story, in order:

- ``kernel_convergence``: at initialization the empirical NTK K_m of a width-m network
  approaches the infinite-width K; ‖K_m − K‖/‖K‖ on log-log axes with its fitted slope
  (theory: −1/2).
- ``lazy_regime``: wide networks barely move: ‖w(T) − w(0)‖/‖w(0)‖ and the kernel's drift
  during training, against width.
- ``width_scaling``: every finite-width quantity of the demo report on one log-log plot.
- ``training_curves``: the network's loss against the NTK's prediction, per width.
- ``outputs_vs_ntk``: network outputs f(x_j, t) against the NTK's gradient flow
  u(t) = e^(−Kt) u(0), from ``compare_with_ntk`` (which trains through ntkit).
- ``kernel_drift``: ‖K_m(t) − K_m(0)‖/‖K_m(0)‖ during training, per width, from
  ``track_kernel_drift`` (which trains through ntkit).
- ``kernel_heatmap``, ``spectrum``: a kernel matrix and its eigenvalues.
- Classic kernel methods: ``ridge_rmse``, ``ridge_predictions``, ``primal_vs_dual``.

``demo_figures(directory)`` draws all of them for a demo output folder (scripts/plot_demo.py).

matplotlib (>= 3.6) is imported only when a figure is drawn: ``import ntkit`` and
``import ntkit.plot`` do not need it. Bad input (a missing report key, mismatched lengths,
non-positive values on a log axis, NaN) raises ValueError naming what is wrong.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "compare_with_ntk",
    "demo_figures",
    "kernel_convergence",
    "kernel_drift",
    "kernel_heatmap",
    "lazy_regime",
    "loglog_slope",
    "outputs_vs_ntk",
    "primal_vs_dual",
    "ridge_predictions",
    "ridge_rmse",
    "save_figure",
    "spectrum",
    "track_kernel_drift",
    "training_curves",
    "width_scaling",
]

DPI = 110


# ---------------------------------------------------------------------------------------------
# Helpers: input checks, figure creation, atomic saving.
# ---------------------------------------------------------------------------------------------


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("ntkit.plot needs matplotlib (pip install matplotlib)") from e
    return Figure(figsize=(width, height), layout="constrained")


def _vector(name: str, values: Any, *, positive: bool = False, min_length: int = 1) -> np.ndarray:
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected numbers, got {type(values).__name__} ({e})") from None
    if v.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {v.shape}")
    if v.size < min_length:
        raise ValueError(f"{name}: expected at least {min_length} value(s), got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: contains NaN or Inf")
    if positive and np.any(v <= 0):
        raise ValueError(f"{name}: every value must be > 0 for a logarithmic axis, got min {v.min():g}")
    return v


def _matrix(name: str, values: Any) -> np.ndarray:
    try:
        m = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected numbers, got {type(values).__name__} ({e})") from None
    if m.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {m.shape}")
    if m.size == 0:
        raise ValueError(f"{name}: empty, shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name}: contains NaN or Inf")
    return m


def _same_length(what: str, **arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"{what}: lengths differ ({detail})")


def _require(mapping: Any, keys: Sequence[str], what: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{what}: expected a dict, got {type(mapping).__name__}")
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{what}: missing key(s) {', '.join(repr(k) for k in missing)}")


def loglog_slope(x: Any, y: Any) -> float:
    """The least-squares slope of log y against log x (np.polyfit of degree 1): the exponent p
    of y ≈ c·x^p. Needs at least two points, all > 0."""
    lx = np.log(_vector("x", x, positive=True, min_length=2))
    ly = np.log(_vector("y", y, positive=True, min_length=2))
    _same_length("loglog_slope", x=lx, y=ly)
    return float(np.polyfit(lx, ly, 1)[0])


def save_figure(fig, path: str | os.PathLike) -> str:
    """Writes `fig` to `path` atomically: a temporary file in the same folder, then os.replace.
    The format follows the extension (.png, .pdf, .svg, ...). On any error the temporary file
    is removed and a file already at `path` is left as it was. Returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if not ext:
        raise ValueError(f"{path}: no file extension to choose the image format from (e.g. .png)")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=ext, dpi=DPI, bbox_inches="tight")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def _loglog_series(ax, widths, values, label, style="o-", **kwargs) -> float:
    slope = loglog_slope(widths, values)
    ax.loglog(widths, values, style, label=f"{label}  (slope {slope:.2f})", **kwargs)
    return slope


def _reference(ax, widths, anchor, exponent=-0.5):
    ax.loglog(widths, anchor * (widths / widths[0]) ** exponent, "k--", lw=1, label=r"$m^{-1/2}$ reference")


def _width_axis(ax):
    ax.set_xlabel("width $m$ (hidden units)")
    ax.grid(True, which="both", alpha=0.25)


# ---------------------------------------------------------------------------------------------
# The lecture demo (ntkit demo): finite width against the NTK.
# ---------------------------------------------------------------------------------------------

DEMO_QUANTITIES = [
    ("kernel_rel_error", r"$\|K_m - K\|\,/\,\|K\|$ at init"),
    ("weight_rel_change", r"$\|w(T) - w(0)\|\,/\,\|w(0)\|$"),
    ("kernel_rel_drift", r"$\|K_m(T) - K_m(0)\|\,/\,\|K_m(0)\|$"),
    ("train_rel_gap", r"$\max_t \|f_{NN} - f_{NTK}\|\,/\,\|y\|$ (train)"),
    ("test_rel_gap", r"$\max_t \|f_{NN} - f_{NTK}\|\,/\,\|y\|$ (test)"),
]


def kernel_convergence(widths: Any, kernel_rel_error: Any, path=None):
    """NTK convergence with width: ‖K_m − K‖/‖K‖ (Frobenius) of the empirical NTK at
    initialization against the width m, log-log, with the fitted slope in the legend and an
    m^(−1/2) reference line through the first point.

    widths: (W,) > 0; kernel_rel_error: (W,) > 0 (report.json's "widths" and
    "kernel_rel_error"). Returns the Figure; writes it to `path` when given."""
    w = _vector("widths", widths, positive=True, min_length=2)
    e = _vector("kernel_rel_error", kernel_rel_error, positive=True, min_length=2)
    _same_length("kernel_convergence", widths=w, kernel_rel_error=e)
    fig = _figure(6.0, 4.5)
    ax = fig.subplots()
    slope = _loglog_series(ax, w, e, r"$\|K_m - K\|_F\,/\,\|K\|_F$", color="tab:blue")
    _reference(ax, w, e[0])
    _width_axis(ax)
    ax.set_ylabel("relative distance to the infinite-width NTK")
    ax.set_title(f"The NTK at initialization converges: error $\\propto m^{{{slope:.2f}}}$")
    ax.legend()
    return _finish(fig, path)


def lazy_regime(widths: Any, weight_rel_change: Any, kernel_rel_drift: Any, path=None):
    """The lazy regime: after the same training, how far the weights moved,
    ‖w(T) − w(0)‖/‖w(0)‖ (left), and how far the network's own NTK drifted,
    ‖K_m(w(T)) − K_m(w(0))‖/‖K_m(w(0))‖ (right), against width m; log-log with fitted slopes
    and m^(−1/2) references.

    All three arguments (W,), > 0 (report.json's "widths", "weight_rel_change",
    "kernel_rel_drift"). Returns the Figure; writes it to `path` when given."""
    w = _vector("widths", widths, positive=True, min_length=2)
    dw = _vector("weight_rel_change", weight_rel_change, positive=True, min_length=2)
    dk = _vector("kernel_rel_drift", kernel_rel_drift, positive=True, min_length=2)
    _same_length("lazy_regime", widths=w, weight_rel_change=dw, kernel_rel_drift=dk)
    fig = _figure(11.0, 4.3)
    left, right = fig.subplots(1, 2)
    s1 = _loglog_series(left, w, dw, r"$\|w(T) - w(0)\|\,/\,\|w(0)\|$", color="tab:orange")
    _reference(left, w, dw[0])
    left.set_ylabel("relative weight change after training")
    left.set_title(f"Weights barely move: $\\propto m^{{{s1:.2f}}}$")
    s2 = _loglog_series(right, w, dk, r"$\|K_m(T) - K_m(0)\|\,/\,\|K_m(0)\|$", color="tab:green")
    _reference(right, w, dk[0])
    right.set_ylabel("relative kernel change after training")
    right.set_title(f"So the NTK stays put: $\\propto m^{{{s2:.2f}}}$")
    for ax in (left, right):
        _width_axis(ax)
        ax.legend()
    fig.suptitle("Lazy training: wider networks stay closer to their initialization")
    return _finish(fig, path)


def width_scaling(report: Mapping, path=None):
    """Every finite-width effect of the lecture demo on one log-log plot against width m, with
    fitted slopes (np.polyfit on the logs) in the legend and an m^(−1/2) reference.

    report: ``ntkit demo``'s report.json as a dict, with "widths" and the keys
    "kernel_rel_error", "weight_rel_change", "kernel_rel_drift", "train_rel_gap",
    "test_rel_gap" (each (W,), > 0). Returns the Figure; writes it to `path` when given."""
    _require(report, ["widths"] + [k for k, _ in DEMO_QUANTITIES], "width_scaling: report")
    w = _vector("report['widths']", report["widths"], positive=True, min_length=2)
    fig = _figure(7.5, 5.2)
    ax = fig.subplots()
    for key, label in DEMO_QUANTITIES:
        v = _vector(f"report[{key!r}]", report[key], positive=True, min_length=2)
        _same_length("width_scaling", widths=w, **{key: v})
        _loglog_series(ax, w, v, label)
    _reference(ax, w, float(np.asarray(report["kernel_rel_error"], dtype=float)[0]))
    _width_axis(ax)
    ax.set_ylabel("relative size (dimensionless)")
    ax.set_title("Wide networks are lazy: every finite-width effect shrinks with $m$")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def training_curves(details: Mapping, path=None, *, widths: Sequence[int] | None = None):
    """Training loss ½‖f − y‖² of the network against the infinite-width NTK's prediction of
    the same gradient descent, one panel per width (log loss axis).

    details: ``ntkit demo``'s details.json as a dict: "curve_steps" (R,) and "curves", a list
    of {"width", "loss_network" (R,), "loss_ntk" (R,)}. widths: which widths to show (default:
    the smallest, a middle and the largest). Returns the Figure; writes it to `path`."""
    _require(details, ["curve_steps", "curves"], "training_curves: details")
    steps = _vector("details['curve_steps']", details["curve_steps"])
    curves = details["curves"]
    if not isinstance(curves, Sequence) or len(curves) == 0:
        raise ValueError("training_curves: details['curves'] must be a non-empty list")
    for i, c in enumerate(curves):
        _require(c, ["width", "loss_network", "loss_ntk"], f"training_curves: details['curves'][{i}]")
    if widths is None:
        picks = sorted({0, len(curves) // 2, len(curves) - 1})
    else:
        by_width = {int(c["width"]): i for i, c in enumerate(curves)}
        unknown = [m for m in widths if int(m) not in by_width]
        if unknown:
            raise ValueError(f"training_curves: no curve for width(s) {unknown}; have {sorted(by_width)}")
        picks = [by_width[int(m)] for m in widths]
    fig = _figure(4.2 * len(picks), 3.8)
    axes = np.atleast_1d(fig.subplots(1, len(picks), sharey=True))
    for ax, i in zip(axes, picks):
        c = curves[i]
        nn = _vector(f"curves[{i}]['loss_network']", c["loss_network"], positive=True)
        ntk = _vector(f"curves[{i}]['loss_ntk']", c["loss_ntk"], positive=True)
        _same_length(f"training_curves: width {c['width']}", curve_steps=steps, loss_network=nn, loss_ntk=ntk)
        ax.plot(steps, nn, lw=3, alpha=0.5, label="network (gradient descent)")
        ax.plot(steps, ntk, "--", color="k", label="infinite-width NTK prediction")
        ax.set_yscale("log")
        ax.set_title(f"width $m$ = {int(c['width'])}")
        ax.set_xlabel("gradient-descent step")
        ax.grid(True, which="both", alpha=0.25)
    axes[0].set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    axes[0].legend()
    fig.suptitle("Training loss: the network follows its NTK's prediction, closer as $m$ grows")
    return _finish(fig, path)


def compare_with_ntk(
    net,
    x: Any,
    y: Any,
    *,
    learning_rate: float,
    steps: int,
    record_every: int = 1,
    kernel: str = "infinite",
) -> dict:
    """Trains a copy of the ntkit.TwoLayerNet `net` by full-batch gradient descent on
    ½ Σ (f(x_j) − y_j)² (TwoLayerNet.train) and predicts the same training from the NTK alone
    (KernelDynamics): gradient flow u(t) = e^(−Kt) u(0), u = f(X) − y, from the network's own
    initial outputs, at the recorded times t = η·step. `net` itself is not changed.

    kernel: "infinite" (two_layer_ntk, the m → ∞ limit) or "empirical" (the network's own NTK
    K_m at initialization, net.empirical_ntk). x (n, d), y (n,).

    Returns a dict for ``outputs_vs_ntk``: "time" (R,), "network" (R, n) = f_NN(X, t),
    "ntk" (R, n) = the prediction, "targets" (n,), "width" m, "kernel"."""
    import ntkit

    if kernel not in ("infinite", "empirical"):
        raise ValueError(f"compare_with_ntk: kernel must be 'infinite' or 'empirical', got {kernel!r}")
    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"compare_with_ntk: y must be 1-D (n,), got shape {y.shape}")
    trained = copy.copy(net)
    f0 = trained.forward(x)
    if kernel == "infinite":
        k = ntkit.two_layer_ntk(x, activation=net.activation).total()
    else:
        k = trained.empirical_ntk(x).total()
    trace = trained.train(x, y, learning_rate=learning_rate, steps=steps, record_every=record_every)
    time = np.asarray(trace.steps, dtype=float) * learning_rate
    dynamics = ntkit.KernelDynamics(k, y)
    ntk = np.stack([dynamics.train_at_time(t, f0) for t in time])
    return {
        "time": time,
        "network": np.asarray(trace.train_outputs),
        "ntk": ntk,
        "targets": y,
        "width": int(net.width),
        "kernel": kernel,
    }


_KIND_NAMES = {"infinite": "infinite-width NTK", "empirical": "empirical NTK at init"}


def _kind(comparison: Mapping) -> str:
    kind = comparison.get("kernel", "infinite")
    if kind not in _KIND_NAMES:
        raise ValueError(f"outputs_vs_ntk: 'kernel' must be 'infinite' or 'empirical', got {kind!r}")
    return kind


def _spread_points(targets: np.ndarray, count: int) -> list[int]:
    order = np.argsort(targets, kind="stable")
    count = min(count, len(order))
    return [int(order[i]) for i in np.linspace(0, len(order) - 1, count).round().astype(int)]


def outputs_vs_ntk(comparisons: Mapping | Sequence[Mapping], path=None, *, points: int | Sequence[int] = 4):
    """Network outputs against the NTK's gradient-flow prediction over training time: for a
    few training points x_j, f_NN(x_j, t) (solid) and the prediction f_NTK(x_j, t) (dashed, same
    colour), with the target y_j (dotted), one panel per comparison (e.g. per width); the panel
    title gives max_t ‖f_NN − f_NTK‖/‖y‖ over all n points.

    comparisons: one dict or a list of dicts from ``compare_with_ntk`` ("time" (R,), "network"
    and "ntk" (R, n), "targets" (n,), "width"). points: how many points (spread over the range
    of the targets) or their indices. Returns the Figure; writes it to `path` when given."""
    if isinstance(comparisons, Mapping):
        comparisons = [comparisons]
    if len(comparisons) == 0:
        raise ValueError("outputs_vs_ntk: no comparisons given")
    checked = []
    for i, c in enumerate(comparisons):
        what = f"outputs_vs_ntk: comparisons[{i}]"
        _require(c, ["time", "network", "ntk", "targets", "width"], what)
        t = _vector(f"{what}['time']", c["time"])
        nn, ntk = _matrix(f"{what}['network']", c["network"]), _matrix(f"{what}['ntk']", c["ntk"])
        y = _vector(f"{what}['targets']", c["targets"])
        if nn.shape != ntk.shape or nn.shape != (len(t), len(y)):
            raise ValueError(
                f"{what}: 'network' {nn.shape} and 'ntk' {ntk.shape} must both be (len(time), len(targets)) "
                f"= ({len(t)}, {len(y)})"
            )
        if checked and (y.size != checked[0][3].size or np.any(y != checked[0][3])):
            raise ValueError(f"{what}: every comparison must have the same targets")
        checked.append((t, nn, ntk, y, c))
    n = checked[0][3].size
    if isinstance(points, (int, np.integer)):
        if points < 1:
            raise ValueError(f"outputs_vs_ntk: points must be >= 1, got {points}")
        picks = _spread_points(checked[0][3], int(points))
    else:
        picks = [int(p) for p in points]
        if not picks or any(p < 0 or p >= n for p in picks):
            raise ValueError(f"outputs_vs_ntk: point indices must be in [0, {n}), got {list(points)}")
    kinds = {_kind(c) for *_, c in checked}
    one_kind = len(kinds) == 1
    kind = _KIND_NAMES[kinds.pop()] if one_kind else "NTK"
    fig = _figure(4.6 * len(checked), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(checked), sharey=True))
    colors = [f"C{i % 10}" for i in range(len(picks))]
    for ax, (t, nn, ntk, y, c) in zip(axes, checked):
        for j, color in zip(picks, colors):
            ax.plot(t, nn[:, j], color=color, lw=2.5, alpha=0.6)
            ax.plot(t, ntk[:, j], "--", color=color, lw=1.3)
            ax.axhline(y[j], color=color, ls=":", lw=1)
        gap = np.max(np.linalg.norm(nn - ntk, axis=1)) / np.linalg.norm(y)
        ax.set_title(f"{'' if one_kind else _KIND_NAMES[_kind(c)] + ', '}width $m$ = {int(c['width'])}:  $\\max_t \\|f_{{NN}} - f_{{NTK}}\\| = {gap:.3f}\\,\\|y\\|$", fontsize=10)
        ax.set_xlabel(r"training time $t = \eta \cdot$ step")
        ax.grid(True, alpha=0.25)
    axes[0].set_ylabel("output $f(x_j, t)$ (standardized target units)")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="gray", lw=2.5, alpha=0.6, label="trained network"),
        Line2D([], [], color="gray", ls="--", lw=1.3, label=f"{kind}: $u(t) = e^{{-Kt}}u(0)$"),
        Line2D([], [], color="gray", ls=":", lw=1, label="target $y_j$"),
    ]
    axes[0].legend(handles=handles, fontsize=8)
    fig.suptitle(f"Network outputs follow the NTK's gradient flow ({len(picks)} training points)")
    return _finish(fig, path)


def track_kernel_drift(
    x: Any,
    y: Any,
    widths: Sequence[int],
    *,
    learning_rate: float,
    steps: int,
    record_every: int = 10,
    activation: str = "relu",
    seed: int = 0,
) -> dict:
    """Trains one ntkit.TwoLayerNet per width on (x (n, d), y (n,)) by full-batch gradient
    descent and records, every `record_every` steps, the drift of its own NTK
    ‖K_m(w(t)) − K_m(w(0))‖/‖K_m(w(0))‖ (Frobenius, TwoLayerNet.empirical_ntk) and the weight
    change ‖w(t) − w(0)‖/‖w(0)‖.

    Returns a dict for ``kernel_drift``: "time" (R,) = η·step, "widths" (W,),
    "kernel_drift" (W, R), "weight_change" (W, R)."""
    import ntkit

    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"track_kernel_drift: x must be (n, d), got shape {x.shape}")
    if steps < 1 or record_every < 1:
        raise ValueError(f"track_kernel_drift: need steps >= 1 and record_every >= 1, got {steps}, {record_every}")
    marks = list(range(0, steps + 1, record_every))
    if marks[-1] != steps:
        marks.append(steps)
    drift = np.zeros((len(widths), len(marks)))
    moved = np.zeros((len(widths), len(marks)))
    for i, m in enumerate(widths):
        net = ntkit.TwoLayerNet(x.shape[1], int(m), activation=activation, seed=seed + i)
        start = copy.copy(net)
        k0 = net.empirical_ntk(x).total()
        norm0, w0 = np.linalg.norm(k0), start.parameter_norm()
        for r in range(1, len(marks)):
            net.train(x, y, learning_rate=learning_rate, steps=marks[r] - marks[r - 1], record_every=marks[r] - marks[r - 1])
            drift[i, r] = np.linalg.norm(net.empirical_ntk(x).total() - k0) / norm0
            moved[i, r] = net.parameter_distance(start) / w0
    return {
        "time": np.asarray(marks, dtype=float) * learning_rate,
        "widths": np.asarray(widths, dtype=int),
        "kernel_drift": drift,
        "weight_change": moved,
    }


def kernel_drift(tracks: Mapping, path=None):
    """Kernel drift during training: ‖K_m(t) − K_m(0)‖/‖K_m(0)‖ against training time, one
    line per width (left), and the weight change ‖w(t) − w(0)‖/‖w(0)‖ (right); log y axes
    (t = 0, where both are 0, is left out).

    tracks: a dict from ``track_kernel_drift``: "time" (R,), "widths" (W,),
    "kernel_drift" and "weight_change" (W, R). Returns the Figure; writes it to `path`."""
    _require(tracks, ["time", "widths", "kernel_drift", "weight_change"], "kernel_drift: tracks")
    t = _vector("tracks['time']", tracks["time"], min_length=2)
    widths = _vector("tracks['widths']", tracks["widths"], positive=True)
    panels = []
    for key in ("kernel_drift", "weight_change"):
        v = _matrix(f"tracks[{key!r}]", tracks[key])
        if v.shape != (len(widths), len(t)):
            raise ValueError(f"kernel_drift: tracks[{key!r}] has shape {v.shape}, expected (len(widths), len(time)) = ({len(widths)}, {len(t)})")
        later = t > 0
        if np.any(v[:, later] <= 0):
            raise ValueError(f"kernel_drift: tracks[{key!r}] must be > 0 after t = 0 for a logarithmic axis")
        panels.append(v)
    later = t > 0
    fig = _figure(11.0, 4.3)
    left, right = fig.subplots(1, 2)
    for i, m in enumerate(widths):
        left.plot(t[later], panels[0][i, later], "-", color=f"C{i % 10}", label=f"$m$ = {int(m)}")
        right.plot(t[later], panels[1][i, later], "-", color=f"C{i % 10}", label=f"$m$ = {int(m)}")
    left.set_ylabel(r"$\|K_m(t) - K_m(0)\|\,/\,\|K_m(0)\|$")
    left.set_title("The network's own NTK moves less the wider it is")
    right.set_ylabel(r"$\|w(t) - w(0)\|\,/\,\|w(0)\|$")
    right.set_title("...because its weights move less")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_xlabel(r"training time $t = \eta \cdot$ step")
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8)
    fig.suptitle("Kernel drift during gradient descent")
    return _finish(fig, path)


def kernel_heatmap(k: Any, path=None, *, title: str = "kernel matrix"):
    """A kernel matrix K (n, n) as a heat map with a colour bar (colours span the 1st–99th
    percentile of the entries); `title` may contain {n}.
    Returns the Figure; writes it to `path` when given."""
    k = _matrix("k", k)
    if k.shape[0] != k.shape[1]:
        raise ValueError(f"kernel_heatmap: k must be square, got shape {k.shape}")
    fig = _figure(5.2, 4.4)
    ax = fig.subplots()
    # Colours span the 1st-99th percentile, so a few large diagonal entries do not wash out
    # the rest; the colour bar's arrows mark the clipped ends.
    lo, hi = np.percentile(k, [1, 99])
    if not hi > lo:
        lo, hi = k.min(), k.max()
    im = ax.imshow(k, cmap="viridis", interpolation="nearest", vmin=lo, vmax=hi)
    fig.colorbar(im, ax=ax, label="$K(x_i, x_j)$ (1st–99th percentile)", extend="both")
    ax.set_xlabel("training point $j$")
    ax.set_ylabel("training point $i$")
    ax.set_title(title.format(n=k.shape[0]))
    return _finish(fig, path)


def spectrum(eigenvalues: Any, path=None, *, title: str = "kernel spectrum"):
    """Eigenvalues in descending order against their rank, log-log (values <= 0 from rounding
    are drawn at the smallest positive float64). Returns the Figure; writes it to `path`."""
    ev = _vector("eigenvalues", eigenvalues)
    ev = np.sort(ev)[::-1]
    fig = _figure(5.4, 4.0)
    ax = fig.subplots()
    ax.loglog(np.arange(1, ev.size + 1), np.maximum(ev, np.finfo(float).tiny), ".-", ms=3)
    ax.set_xlabel("rank $i$ (largest first)")
    ax.set_ylabel(r"eigenvalue $\lambda_i$")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.25)
    return _finish(fig, path)


# ---------------------------------------------------------------------------------------------
# Classic kernel methods (ntkit classic-demo).
# ---------------------------------------------------------------------------------------------


def _ridge_rows(report: Mapping, what: str) -> list:
    _require(report, ["ridge", "test_targets"], what)
    rows = report["ridge"]
    if not isinstance(rows, Sequence) or len(rows) == 0:
        raise ValueError(f"{what}: report['ridge'] must be a non-empty list")
    for i, r in enumerate(rows):
        _require(r, ["kernel", "test_rmse", "test_predictions", "test_r2"], f"{what}: report['ridge'][{i}]")
    return rows


def ridge_rmse(report: Mapping, path=None):
    """Kernel ridge regression: test RMSE per kernel (horizontal bars, best at the top of the
    list as given), against the RMSE of predicting the test mean (dashed).

    report: ``ntkit classic-demo``'s report.json: "ridge" (a list of {"kernel", "test_rmse",
    "test_predictions", "test_r2"}) and "test_targets". Returns the Figure; writes to `path`."""
    rows = _ridge_rows(report, "ridge_rmse: report")
    y = _vector("report['test_targets']", report["test_targets"])
    rmse = _vector("test_rmse", [r["test_rmse"] for r in rows])
    baseline = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    fig = _figure(8.0, 0.45 * len(rows) + 1.6)
    ax = fig.subplots()
    bars = ax.barh([str(r["kernel"]) for r in rows], rmse, color="tab:blue")
    ax.bar_label(bars, fmt="%.1f", padding=3, fontsize=8)
    ax.axvline(baseline, color="gray", ls="--", label=f"predict the test mean ({baseline:.1f})")
    ax.set_xlabel("test RMSE (disease-progression units; lower is better)")
    ax.set_title(r"Kernel ridge regression on diabetes ($\lambda$ by 5-fold CV)")
    ax.invert_yaxis()
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _finish(fig, path)


def ridge_predictions(report: Mapping, path=None):
    """The best kernel's (lowest test RMSE) test predictions against the true targets, with the
    diagonal y = ŷ. report: as for ``ridge_rmse``. Returns the Figure; writes it to `path`."""
    rows = _ridge_rows(report, "ridge_predictions: report")
    y = _vector("report['test_targets']", report["test_targets"])
    best = min(rows, key=lambda r: r["test_rmse"])
    pred = _vector("test_predictions", best["test_predictions"])
    _same_length("ridge_predictions", test_targets=y, test_predictions=pred)
    fig = _figure(4.8, 4.6)
    ax = fig.subplots()
    ax.scatter(y, pred, s=12, label="test examples")
    lo, hi = min(y.min(), pred.min()), max(y.max(), pred.max())
    ax.plot([lo, hi], [lo, hi], color="gray", lw=1, label="perfect prediction")
    ax.set_xlabel("true disease progression")
    ax.set_ylabel("predicted disease progression")
    ax.set_title(f"{best['kernel']}: test $R^2$ = {best['test_r2']:.3f}")
    ax.legend(loc="upper left")
    return _finish(fig, path)


def primal_vs_dual(report: Mapping, path=None):
    """The kernel trick: gradient descent on explicit polynomial features (primal, w ∈ R^D) and
    on the dual coefficients with K = ΦΦᵀ give the same predictions. Left: both training losses;
    right: max |f_primal − f_dual| on training and test points, against float64 epsilon.

    report: ``ntkit classic-demo``'s report.json with "primal_vs_dual": "steps", "features",
    "loss_primal", "loss_dual", "max_abs_diff_train", "max_abs_diff_test". Returns the Figure;
    writes it to `path` when given."""
    _require(report, ["primal_vs_dual"], "primal_vs_dual: report")
    pd = report["primal_vs_dual"]
    keys = ["steps", "features", "loss_primal", "loss_dual", "max_abs_diff_train", "max_abs_diff_test"]
    _require(pd, keys, "primal_vs_dual: report['primal_vs_dual']")
    steps = _vector("steps", pd["steps"], min_length=2)
    series = {k: _vector(k, pd[k]) for k in keys[2:]}
    _same_length("primal_vs_dual", steps=steps, **series)
    fig = _figure(11.0, 4.0)
    left, right = fig.subplots(1, 2)
    left.plot(steps, series["loss_primal"], lw=3, alpha=0.5, label=f"primal: $w \\in R^{{{int(pd['features'])}}}$")
    left.plot(steps, series["loss_dual"], "--", color="k", label=r"dual: $\alpha$ with $K = \Phi\Phi^T$")
    left.set_yscale("log")
    left.set_xlabel("gradient-descent step")
    left.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    left.legend()
    left.set_title("Same training, two parameterizations")
    # Both start at f = 0, so step 0's difference is exactly 0: plot the rest, floored at the
    # smallest positive float so an exact 0 later still shows.
    later = steps > 0
    tiny = np.finfo(float).tiny
    right.semilogy(steps[later], np.maximum(series["max_abs_diff_train"][later], tiny), label="training points")
    right.semilogy(steps[later], np.maximum(series["max_abs_diff_test"][later], tiny), label="test points")
    right.axhline(np.finfo(float).eps, color="gray", ls=":", label="float64 epsilon")
    right.set_ylim(1e-18, 1e-6)
    right.set_xlabel("gradient-descent step")
    right.set_ylabel(r"$\max |f_{primal} - f_{dual}|$")
    right.set_title("The kernel trick: identical up to rounding")
    right.legend()
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.25)
    return _finish(fig, path)


# ---------------------------------------------------------------------------------------------
# A demo output folder.
# ---------------------------------------------------------------------------------------------


def _load_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}; run `ntkit demo` first") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def _standardized_split(data: np.ndarray, rows: int, seed: int):
    """At most `rows` rows of `data` (a seeded random subset), features and target standardized
    as the demo does (mean 0, standard deviation 1 over these rows)."""
    if data.ndim != 2 or data.shape[1] < 2 or data.shape[0] < 2:
        raise ValueError(f"data: expected (n >= 2, d + 1) with the target last, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("data: contains NaN or Inf")
    order = np.random.default_rng(seed).permutation(data.shape[0])
    train = data[order[: max(2, min(rows, data.shape[0]))]]
    x, y = train[:, :-1], train[:, -1]
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    y = (y - y.mean()) / (y.std() or 1.0)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _lecture_dynamics_figures(directory: str, details: Mapping, data: np.ndarray, rows: int, widths: Sequence[int],
                              log) -> list:
    import ntkit

    x, y = _standardized_split(data, rows, seed=0)
    activation = str(details.get("activation", "relu"))
    steps = int(details.get("steps", 200))
    # The demo's rule: a quarter of the largest stable rate 2/λ_max of the infinite-width NTK.
    k = ntkit.two_layer_ntk(x, activation=activation).total()
    lr = ntkit.KernelDynamics(k, y).max_stable_learning_rate() / 4
    log(f"  training {len(widths)} networks of widths {list(widths)} through ntkit ({steps} steps, η = {lr:.3g})")
    comparisons = [
        compare_with_ntk(
            ntkit.TwoLayerNet(x.shape[1], int(m), activation=activation, seed=i),
            x,
            y,
            learning_rate=lr,
            steps=steps,
            record_every=max(1, steps // 50),
        )
        for i, m in enumerate(widths)
    ]
    written = []
    path = os.path.join(directory, "outputs_vs_ntk.png")
    _close(outputs_vs_ntk(comparisons, path))
    written.append(path)
    tracks = track_kernel_drift(x, y, widths, learning_rate=lr, steps=steps, record_every=max(1, steps // 20),
                                activation=activation)
    path = os.path.join(directory, "kernel_drift.png")
    _close(kernel_drift(tracks, path))
    written.append(path)
    return written


def _close(fig) -> None:
    fig.clear()


def demo_figures(directory: str | os.PathLike, *, data: Any = None, dynamics_widths: Sequence[int] = (64, 512, 4096),
                 log=print) -> list[str]:
    """Draws every figure for a demo output folder and returns the paths written.

    directory/report.json from ``ntkit demo`` gives width_scaling.png, ntk_convergence.png,
    lazy_regime.png, training_curves.png (with details.json), ntk_heatmap.png and
    ntk_spectrum.png (with ntk_train.npy, ntk_eigenvalues.npy); given `data` (an (n, d + 1)
    array or a CSV path with a header line, target last, e.g. data/diabetes.csv) also
    outputs_vs_ntk.png and kernel_drift.png, which train fresh networks of `dynamics_widths`
    through ntkit on as many rows of `data` as the demo had training points (a seeded random
    subset, standardized). A report from ``ntkit classic-demo`` (here
    or in directory/classic/) gives ridge_test_rmse.png, ridge_predictions.png,
    primal_vs_dual.png, kernel_heatmap.png, kernel_spectrum.png. `log` receives progress lines.
    Raises ValueError for a missing or malformed report."""
    directory = os.fspath(directory)
    report = _load_json(os.path.join(directory, "report.json"))
    written: list[str] = []

    def draw(function, name, *args, **kwargs):
        path = os.path.join(directory, name)
        _close(function(*args, path, **kwargs))
        written.append(path)
        log(f"  {path}")

    log(f"ntkit.plot: writing figures to {directory}/")
    if "widths" in report:
        details = _load_json(os.path.join(directory, "details.json"))
        draw(width_scaling, "width_scaling.png", report)
        draw(kernel_convergence, "ntk_convergence.png", report["widths"], report["kernel_rel_error"])
        draw(lazy_regime, "lazy_regime.png", report["widths"], report["weight_rel_change"], report["kernel_rel_drift"])
        draw(training_curves, "training_curves.png", details)
        ntk_train = np.load(os.path.join(directory, "ntk_train.npy"))
        draw(kernel_heatmap, "ntk_heatmap.png", ntk_train, title="infinite-width NTK, {n} training points")
        draw(spectrum, "ntk_spectrum.png", np.load(os.path.join(directory, "ntk_eigenvalues.npy")),
             title="NTK spectrum: modes with small λ train slowly")
        if data is not None:
            if isinstance(data, (str, os.PathLike)):
                data = np.loadtxt(data, delimiter=",", skiprows=1)
            paths = _lecture_dynamics_figures(directory, details, np.asarray(data, dtype=float), ntk_train.shape[0],
                                              dynamics_widths, log)
            for p in paths:
                log(f"  {p}")
            written += paths
    else:
        _classic_figures(directory, report, draw)
    classic = os.path.join(directory, "classic")
    if "widths" in report and os.path.exists(os.path.join(classic, "report.json")):
        written += demo_figures(classic, log=log)
    return written


def _classic_figures(directory: str, report: Mapping, draw) -> None:
    draw(ridge_rmse, "ridge_test_rmse.png", report)
    draw(ridge_predictions, "ridge_predictions.png", report)
    draw(primal_vs_dual, "primal_vs_dual.png", report)
    k = os.path.join(directory, "kernel_rbf_train.npy")
    if os.path.exists(k):
        draw(kernel_heatmap, "kernel_heatmap.png", np.load(k), title="RBF kernel matrix, {n} training points")
        draw(spectrum, "kernel_spectrum.png", np.load(os.path.join(directory, "kernel_rbf_eigenvalues.npy")),
             title="RBF kernel spectrum")
