#!/usr/bin/env python3
"""Plots for `ntkit demo` and `ntkit classic-demo`: reads DIR/report.json (and details.json,
*.npy), writes DIR/*.png. If DIR/classic/ holds a classic-demo report, plots it too.

Usage: python3 scripts/plot_demo.py DIR
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path):
    """Writes the figure atomically: a failed run never leaves a half-written PNG."""
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    print(f"  {path}")


def plot_ridge(report, out):
    ridge = report["ridge"]
    names = [r["kernel"] for r in ridge]
    rmse = [r["test_rmse"] for r in ridge]
    y = np.array(report["test_targets"])
    baseline = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(names, rmse, color="tab:blue")
    ax.axvline(baseline, color="gray", ls="--", label="predict the test mean")
    ax.set_xlabel("test RMSE (disease progression units)")
    ax.set_title("Kernel ridge regression on diabetes (λ by 5-fold CV)")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    save(fig, os.path.join(out, "ridge_test_rmse.png"))

    best = min(ridge, key=lambda r: r["test_rmse"])
    pred = np.array(best["test_predictions"])
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y, pred, s=12)
    lo, hi = min(y.min(), pred.min()), max(y.max(), pred.max())
    ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
    ax.set_xlabel("true progression")
    ax.set_ylabel("predicted")
    ax.set_title(f"{best['kernel']}: R² = {best['test_r2']:.3f}")
    save(fig, os.path.join(out, "ridge_predictions.png"))


def plot_primal_dual(report, out):
    pd = report["primal_vs_dual"]
    steps = np.array(pd["steps"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(steps, pd["loss_primal"], label=f"primal: w in R^{pd['features']}", lw=3, alpha=0.5)
    axes[0].plot(steps, pd["loss_dual"], "--", label="dual: α with K = ΦΦᵀ")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("gradient-descent step")
    axes[0].set_ylabel("training loss ½‖f − y‖²")
    axes[0].legend()
    axes[0].set_title("Same training, two parameterizations")
    # Step 0 is exactly 0 (both start at f = 0); show the rest against machine epsilon.
    later = steps > 0
    axes[1].semilogy(steps[later], np.array(pd["max_abs_diff_train"])[later], label="train points")
    axes[1].semilogy(steps[later], np.array(pd["max_abs_diff_test"])[later], label="test points")
    axes[1].axhline(np.finfo(float).eps, color="gray", ls=":", label="float64 epsilon")
    axes[1].set_ylim(1e-18, 1e-6)
    axes[1].set_xlabel("gradient-descent step")
    axes[1].set_ylabel("max |f_primal − f_dual|")
    axes[1].set_title("The kernel trick: identical up to rounding")
    axes[1].legend()
    save(fig, os.path.join(out, "primal_vs_dual.png"))


def plot_heatmap(npy, title, path):
    k = np.load(npy)
    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(k, cmap="viridis")
    fig.colorbar(im, ax=ax)
    ax.set_title(title.format(n=k.shape[0]))
    save(fig, path)


def plot_spectrum(npy, title, path):
    ev = np.load(npy)
    fig, ax = plt.subplots(figsize=(5, 3.8))
    ax.loglog(np.arange(1, len(ev) + 1), np.maximum(ev, np.finfo(float).tiny))
    ax.set_xlabel("index")
    ax.set_ylabel("eigenvalue")
    ax.set_title(title)
    save(fig, path)


def plot_kernel(out):
    plot_heatmap(os.path.join(out, "kernel_rbf_train.npy"), "RBF kernel matrix, {n} training points",
                 os.path.join(out, "kernel_heatmap.png"))
    plot_spectrum(os.path.join(out, "kernel_rbf_eigenvalues.npy"), "RBF kernel spectrum",
                  os.path.join(out, "kernel_spectrum.png"))


QUANTITIES = [
    ("kernel_rel_error", "‖K_m − K‖ / ‖K‖ at init"),
    ("weight_rel_change", "‖w(T) − w(0)‖ / ‖w(0)‖"),
    ("kernel_rel_drift", "‖K_m(w(T)) − K_m(w(0))‖ / ‖K_m(w(0))‖"),
    ("train_rel_gap", "max_t ‖f_NN − f_NTK‖ / ‖y‖ (train)"),
    ("test_rel_gap", "max_t ‖f_NN − f_NTK‖ / ‖y‖ (test)"),
]


def plot_lecture(report, details, out):
    widths = np.array(report["widths"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 5))
    for key, label in QUANTITIES:
        ax.loglog(widths, report[key], "o-", label=f"{label}  (slope {report['slopes'][key]:.2f})")
    ref = np.array(report["kernel_rel_error"])[0] * (widths / widths[0]) ** -0.5
    ax.loglog(widths, ref, "k--", lw=1, label="m^(−1/2) reference")
    ax.set_xlabel("width m")
    ax.set_ylabel("relative size")
    ax.set_title("Wide networks are lazy: finite-width effects shrink with m")
    ax.legend(fontsize=8)
    save(fig, os.path.join(out, "width_scaling.png"))

    steps = np.array(details["curve_steps"])
    curves = details["curves"]
    picks = sorted({0, len(curves) // 2, len(curves) - 1})
    fig, axes = plt.subplots(1, len(picks), figsize=(4.2 * len(picks), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, i in zip(axes, picks):
        c = curves[i]
        ax.plot(steps, c["loss_network"], lw=3, alpha=0.5, label="network")
        ax.plot(steps, c["loss_ntk"], "--", label="infinite-width NTK")
        ax.set_yscale("log")
        ax.set_title(f"width m = {c['width']}")
        ax.set_xlabel("gradient-descent step")
    axes[0].set_ylabel("training loss ½‖f − y‖²")
    axes[0].legend()
    save(fig, os.path.join(out, "training_curves.png"))

    plot_heatmap(os.path.join(out, "ntk_train.npy"), "infinite-width NTK, {n} training points",
                 os.path.join(out, "ntk_heatmap.png"))
    plot_spectrum(os.path.join(out, "ntk_eigenvalues.npy"), "NTK spectrum (modes with small λ train slowly)",
                  os.path.join(out, "ntk_spectrum.png"))


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"plot_demo: error: cannot read {path}: {e}; run `ntkit demo` first", file=sys.stderr)
        return None


def plot_classic(report, out):
    plot_ridge(report, out)
    plot_primal_dual(report, out)
    plot_kernel(out)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    report = load_json(os.path.join(out, "report.json"))
    if report is None:
        return 2
    print(f"plot_demo: writing plots to {out}/")
    if "widths" in report:
        details = load_json(os.path.join(out, "details.json"))
        if details is None:
            return 2
        plot_lecture(report, details, out)
    else:
        plot_classic(report, out)
    classic = os.path.join(out, "classic")
    if os.path.exists(os.path.join(classic, "report.json")):
        print(f"plot_demo: writing plots to {classic}/")
        plot_classic(load_json(os.path.join(classic, "report.json")), classic)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
