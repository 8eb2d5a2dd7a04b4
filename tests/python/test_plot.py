"""ntkit.plot: every figure function on small synthetic data (Agg backend), checking what is
drawn (line data equal to the inputs, fitted slopes equal to np.polyfit), the computations
through ntkit against NumPy, atomic writes, ValueError for bad input, and the demo end to end."""
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import ntkit  # noqa: E402
import ntkit.plot as nplot  # noqa: E402
from conftest import REPO_ROOT  # noqa: E402

WIDTHS = np.array([16, 32, 64, 128, 256])


def polyfit_slope(x, y):
    return np.polyfit(np.log(x), np.log(y), 1)[0]


def data_lines(ax):
    """(label, xdata, ydata) of every line that is not a reference/axis line."""
    return [(l.get_label(), np.asarray(l.get_xdata(), float), np.asarray(l.get_ydata(), float)) for l in ax.get_lines()]


def legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None, "no legend drawn"
    return [t.get_text() for t in legend.get_texts()]


@pytest.fixture
def scaling(rng):
    """Power laws with noise: kernel error ∝ m^-0.5, weights m^-0.45, drift m^-0.8, gaps."""
    noise = lambda: np.exp(0.1 * rng.standard_normal(len(WIDTHS)))  # noqa: E731
    return {
        "widths": WIDTHS.tolist(),
        "kernel_rel_error": (2.0 * WIDTHS**-0.5 * noise()).tolist(),
        "weight_rel_change": (0.8 * WIDTHS**-0.45 * noise()).tolist(),
        "kernel_rel_drift": (1.5 * WIDTHS**-0.8 * noise()).tolist(),
        "train_rel_gap": (1.1 * WIDTHS**-0.5 * noise()).tolist(),
        "test_rel_gap": (1.3 * WIDTHS**-0.5 * noise()).tolist(),
    }


def test_importing_ntkit_and_ntkit_plot_does_not_import_matplotlib():
    code = "import sys, ntkit, ntkit.plot; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_loglog_slope_is_polyfit_and_checks_input():
    x, y = np.array([1.0, 2.0, 4.0, 8.0]), np.array([3.0, 2.0, 1.6, 1.0])
    assert nplot.loglog_slope(x, y) == pytest.approx(polyfit_slope(x, y), rel=1e-14)
    assert nplot.loglog_slope(x, 5 * x**-0.5) == pytest.approx(-0.5, abs=1e-12)
    with pytest.raises(ValueError, match="> 0"):
        nplot.loglog_slope(x, [1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="lengths differ"):
        nplot.loglog_slope(x, [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        nplot.loglog_slope([1.0], [1.0])


def test_kernel_convergence_draws_the_data_its_fitted_slope_and_a_reference(scaling):
    e = np.array(scaling["kernel_rel_error"])
    fig = nplot.kernel_convergence(WIDTHS, e)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    (label, lx, ly), (ref_label, rx, ry) = data_lines(ax)
    np.testing.assert_array_equal(lx, WIDTHS)
    np.testing.assert_array_equal(ly, e)
    slope = polyfit_slope(WIDTHS, e)
    assert f"(slope {slope:.2f})" in label
    assert f"{slope:.2f}" in ax.get_title()
    # The reference goes through the first point with slope exactly -1/2.
    assert ry[0] == pytest.approx(e[0]) and polyfit_slope(rx, ry) == pytest.approx(-0.5)
    assert "reference" in ref_label
    assert "width" in ax.get_xlabel() and ax.get_ylabel()
    assert legend_texts(ax)[0] == label


def test_lazy_regime_draws_weight_change_and_kernel_drift(scaling):
    fig = nplot.lazy_regime(scaling["widths"], scaling["weight_rel_change"], scaling["kernel_rel_drift"])
    left, right = fig.axes
    for ax, key in ((left, "weight_rel_change"), (right, "kernel_rel_drift")):
        label, x, y = data_lines(ax)[0]
        np.testing.assert_array_equal(x, WIDTHS)
        np.testing.assert_array_equal(y, scaling[key])
        assert f"(slope {polyfit_slope(WIDTHS, scaling[key]):.2f})" in label
        assert ax.get_yscale() == "log"
    assert fig.get_suptitle()
    with pytest.raises(ValueError, match="lengths differ"):
        nplot.lazy_regime(WIDTHS, scaling["weight_rel_change"][:-1], scaling["kernel_rel_drift"])


def test_width_scaling_fits_every_quantity(scaling):
    fig = nplot.width_scaling(scaling)
    ax = fig.axes[0]
    lines = data_lines(ax)
    assert len(lines) == 6  # five quantities and the reference
    for (key, _), (label, x, y) in zip(nplot.DEMO_QUANTITIES, lines):
        np.testing.assert_array_equal(y, scaling[key])
        assert f"(slope {polyfit_slope(WIDTHS, scaling[key]):.2f})" in label


def test_width_scaling_rejects_bad_reports(scaling):
    del scaling["kernel_rel_drift"]
    with pytest.raises(ValueError, match="missing key.*'kernel_rel_drift'"):
        nplot.width_scaling(scaling)
    with pytest.raises(ValueError, match="expected a dict"):
        nplot.width_scaling([1, 2, 3])


@pytest.mark.parametrize(
    "values, message",
    [
        ([0.5, 0.4, 0.3, 0.0, 0.1], "must be > 0"),
        ([0.5, 0.4, np.nan, 0.2, 0.1], "NaN or Inf"),
        ([[0.5, 0.4, 0.3, 0.2, 0.1]], "1-D"),
        ([0.5, 0.4, 0.3], "lengths differ"),
        (["a", "b", "c", "d", "e"], "expected numbers"),
    ],
)
def test_kernel_convergence_rejects_bad_values(values, message):
    with pytest.raises(ValueError, match=message):
        nplot.kernel_convergence(WIDTHS, values)


def test_training_curves_draws_the_chosen_widths():
    steps = [0, 10, 20]
    curves = [
        {"width": m, "loss_network": [10.0, 5.0 + 1 / m, 2.0], "loss_ntk": [10.0, 5.0, 1.9]} for m in (16, 64, 256, 1024)
    ]
    fig = nplot.training_curves({"curve_steps": steps, "curves": curves})
    assert [ax.get_title() for ax in fig.axes] == ["width $m$ = 16", "width $m$ = 256", "width $m$ = 1024"]
    fig = nplot.training_curves({"curve_steps": steps, "curves": curves}, widths=[64])
    (_, x, nn), (_, _, ntk) = data_lines(fig.axes[0])
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_array_equal(nn, curves[1]["loss_network"])
    np.testing.assert_array_equal(ntk, curves[1]["loss_ntk"])
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match=r"no curve for width\(s\) \[32\]"):
        nplot.training_curves({"curve_steps": steps, "curves": curves}, widths=[32])
    with pytest.raises(ValueError, match=r"missing key.*'loss_ntk'"):
        nplot.training_curves({"curve_steps": steps, "curves": [{"width": 4, "loss_network": [1, 2, 3]}]})
    with pytest.raises(ValueError, match="lengths differ"):
        nplot.training_curves({"curve_steps": steps[:2], "curves": curves})


@pytest.fixture
def small_problem(rng):
    x = rng.standard_normal((12, 3))
    return x, np.sin(x[:, 0]) + 0.3 * x[:, 1]


def gradient_flow(k, u0, t):
    lam, v = np.linalg.eigh(k)
    return v @ (np.exp(-np.maximum(lam, 0) * t) * (v.T @ u0))


def test_compare_with_ntk_trains_a_copy_and_predicts_gradient_flow(small_problem):
    x, y = small_problem
    net = ntkit.TwoLayerNet(3, 32, seed=5)
    a_before = np.array(net.a)
    lr = 0.05
    c = nplot.compare_with_ntk(net, x, y, learning_rate=lr, steps=20, record_every=5)
    np.testing.assert_array_equal(net.a, a_before)  # the caller's network is untouched
    np.testing.assert_allclose(c["time"], lr * np.array([0, 5, 10, 15, 20]))
    assert c["network"].shape == c["ntk"].shape == (5, 12) and c["width"] == 32
    # The network's outputs are those of the same training done here.
    twin = ntkit.TwoLayerNet(3, 32, seed=5)
    f0 = twin.forward(x)
    np.testing.assert_allclose(c["network"][0], f0, rtol=1e-13)
    twin.train(x, y, learning_rate=lr, steps=20)
    np.testing.assert_allclose(c["network"][-1], twin.forward(x), rtol=1e-12)
    # The prediction is y + e^(-Kt)(f0 - y) with the infinite-width K, or the empirical K_m(w0).
    k = ntkit.two_layer_ntk(x).total()
    for t, f in zip(c["time"], c["ntk"]):
        np.testing.assert_allclose(f, y + gradient_flow(k, f0 - y, t), atol=1e-10)
    e = nplot.compare_with_ntk(net, x, y, learning_rate=lr, steps=20, record_every=5, kernel="empirical")
    km = net.empirical_ntk(x).total()
    np.testing.assert_allclose(e["ntk"][-1], y + gradient_flow(km, f0 - y, c["time"][-1]), atol=1e-10)
    with pytest.raises(ValueError, match="'infinite' or 'empirical'"):
        nplot.compare_with_ntk(net, x, y, learning_rate=lr, steps=2, kernel="finite")
    with pytest.raises(ValueError, match="1-D"):
        nplot.compare_with_ntk(net, x, y[:, None], learning_rate=lr, steps=2)


def test_wider_networks_follow_the_ntk_more_closely(small_problem):
    x, y = small_problem
    gaps = []
    for m in (16, 4096):
        c = nplot.compare_with_ntk(ntkit.TwoLayerNet(3, m, seed=1), x, y, learning_rate=0.05, steps=40, record_every=4)
        gaps.append(np.max(np.linalg.norm(c["network"] - c["ntk"], axis=1)))
    assert gaps[1] < 0.3 * gaps[0]


def test_outputs_vs_ntk_draws_network_and_prediction_per_point(small_problem):
    x, y = small_problem
    comparisons = [
        nplot.compare_with_ntk(ntkit.TwoLayerNet(3, m, seed=2), x, y, learning_rate=0.05, steps=10, record_every=2)
        for m in (8, 64)
    ]
    fig = nplot.outputs_vs_ntk(comparisons, points=[0, 7])
    assert len(fig.axes) == 2
    for ax, c in zip(fig.axes, comparisons):
        lines = data_lines(ax)
        assert len(lines) == 6  # per point: network, prediction, target
        for i, j in enumerate([0, 7]):
            (_, t1, nn), (_, t2, ntk), (_, _, target) = lines[3 * i : 3 * i + 3]
            np.testing.assert_array_equal(t1, c["time"])
            np.testing.assert_array_equal(nn, c["network"][:, j])
            np.testing.assert_array_equal(ntk, c["ntk"][:, j])
            assert target[0] == y[j]
        gap = np.max(np.linalg.norm(c["network"] - c["ntk"], axis=1)) / np.linalg.norm(y)
        assert f"{gap:.3f}" in ax.get_title() and f"{c['width']}" in ax.get_title()
    # By default, points spread over the range of the targets: the smallest and largest included.
    fig = nplot.outputs_vs_ntk(comparisons[0], points=3)
    targets = sorted(line[2][0] for line in data_lines(fig.axes[0])[2::3])
    assert targets[0] == y.min() and targets[-1] == y.max()


def test_outputs_vs_ntk_rejects_bad_comparisons(small_problem):
    x, y = small_problem
    c = nplot.compare_with_ntk(ntkit.TwoLayerNet(3, 8, seed=2), x, y, learning_rate=0.05, steps=4)
    with pytest.raises(ValueError, match=r"missing key.*'ntk'"):
        nplot.outputs_vs_ntk({k: v for k, v in c.items() if k != "ntk"})
    with pytest.raises(ValueError, match=r"must both be \(len\(time\), len\(targets\)\)"):
        nplot.outputs_vs_ntk(dict(c, ntk=c["ntk"][:, :-1]))
    with pytest.raises(ValueError, match=r"point indices must be in \[0, 12\)"):
        nplot.outputs_vs_ntk(c, points=[12])
    with pytest.raises(ValueError, match="same targets"):
        nplot.outputs_vs_ntk([c, dict(c, targets=c["targets"] + 1)])
    with pytest.raises(ValueError, match="no comparisons"):
        nplot.outputs_vs_ntk([])
    with pytest.raises(ValueError, match="'kernel' must be"):
        nplot.outputs_vs_ntk(dict(c, kernel="finite"))


def test_outputs_vs_ntk_names_the_kernel(small_problem):
    x, y = small_problem
    net = ntkit.TwoLayerNet(3, 8, seed=2)
    both = [nplot.compare_with_ntk(net, x, y, learning_rate=0.05, steps=4, kernel=k) for k in ("infinite", "empirical")]
    fig = nplot.outputs_vs_ntk(both)
    assert fig.axes[0].get_title().startswith("infinite-width NTK, width")
    assert fig.axes[1].get_title().startswith("empirical NTK at init, width")
    fig = nplot.outputs_vs_ntk(both[1])
    assert "empirical NTK at init" in legend_texts(fig.axes[0])[1] and fig.axes[0].get_title().startswith("width")


def test_track_kernel_drift_matches_a_manual_run(small_problem):
    x, y = small_problem
    tracks = nplot.track_kernel_drift(x, y, [8, 256], learning_rate=0.05, steps=10, record_every=4)
    np.testing.assert_allclose(tracks["time"], 0.05 * np.array([0, 4, 8, 10]))
    assert tracks["kernel_drift"].shape == tracks["weight_change"].shape == (2, 4)
    assert np.all(tracks["kernel_drift"][:, 0] == 0) and np.all(tracks["kernel_drift"][:, 1:] > 0)
    for i, m in enumerate((8, 256)):
        net = ntkit.TwoLayerNet(3, m, seed=i)
        start = ntkit.TwoLayerNet(3, m, seed=i)
        k0 = net.empirical_ntk(x).total()
        net.train(x, y, learning_rate=0.05, steps=10)
        drift = np.linalg.norm(net.empirical_ntk(x).total() - k0) / np.linalg.norm(k0)
        assert tracks["kernel_drift"][i, -1] == pytest.approx(drift, rel=1e-10)
        assert tracks["weight_change"][i, -1] == pytest.approx(
            net.parameter_distance(start) / start.parameter_norm(), rel=1e-10
        )
    assert tracks["kernel_drift"][1, -1] < tracks["kernel_drift"][0, -1]  # wider: less drift
    with pytest.raises(ValueError, match=r"x must be \(n, d\)"):
        nplot.track_kernel_drift(x[:, 0], y, [8], learning_rate=0.05, steps=2)


def test_kernel_drift_draws_each_width_without_t0():
    t = np.array([0.0, 0.1, 0.2])
    tracks = {
        "time": t,
        "widths": [8, 64],
        "kernel_drift": [[0.0, 0.2, 0.3], [0.0, 0.02, 0.03]],
        "weight_change": [[0.0, 0.1, 0.15], [0.0, 0.01, 0.015]],
    }
    fig = nplot.kernel_drift(tracks)
    left, right = fig.axes
    for ax, key in ((left, "kernel_drift"), (right, "weight_change")):
        assert ax.get_yscale() == "log"
        for i, (label, x, v) in enumerate(data_lines(ax)):
            np.testing.assert_array_equal(x, t[1:])
            np.testing.assert_array_equal(v, np.array(tracks[key][i])[1:])
            assert label == f"$m$ = {tracks['widths'][i]}"
    with pytest.raises(ValueError, match=r"has shape \(2, 2\), expected"):
        nplot.kernel_drift(dict(tracks, kernel_drift=[[0.0, 0.2], [0.0, 0.1]]))
    with pytest.raises(ValueError, match="> 0 after t = 0"):
        nplot.kernel_drift(dict(tracks, weight_change=[[0.0, 0.0, 0.1], [0.0, 0.1, 0.1]]))


def test_kernel_heatmap_and_spectrum(rng):
    z = rng.standard_normal((6, 6))
    k = z @ z.T
    fig = nplot.kernel_heatmap(k, title="K of {n} points")
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(), k)
    assert fig.axes[0].get_title() == "K of 6 points" and len(fig.axes) == 2  # with a colour bar
    with pytest.raises(ValueError, match="square"):
        nplot.kernel_heatmap(k[:, :4])
    ev = np.array([0.5, 3.0, -1e-17, 1.0])
    (_, rank, drawn), = data_lines(nplot.spectrum(ev).axes[0])
    np.testing.assert_array_equal(rank, [1, 2, 3, 4])
    np.testing.assert_array_equal(drawn, [3.0, 1.0, 0.5, np.finfo(float).tiny])


@pytest.fixture
def classic_report():
    steps = list(range(0, 50, 10))
    return {
        "test_targets": [100.0, 150.0, 80.0, 210.0],
        "ridge": [
            {"kernel": "linear", "test_rmse": 55.0, "test_predictions": [110, 140, 90, 180], "test_r2": 0.4},
            {"kernel": "rbf", "test_rmse": 50.0, "test_predictions": [105, 145, 85, 190], "test_r2": 0.5},
        ],
        "primal_vs_dual": {
            "steps": steps,
            "features": 66,
            "loss_primal": [100.0 / (1 + s) for s in steps],
            "loss_dual": [100.0 / (1 + s) for s in steps],
            "max_abs_diff_train": [0.0, 1e-15, 2e-15, 0.0, 3e-15],
            "max_abs_diff_test": [0.0, 2e-15, 3e-15, 4e-15, 5e-15],
        },
    }


def test_classic_figures_draw_the_report(classic_report):
    ax = nplot.ridge_rmse(classic_report).axes[0]
    assert [p.get_width() for p in ax.patches] == [55.0, 50.0]
    y = np.array(classic_report["test_targets"])
    baseline = [line for line in ax.get_lines() if "test mean" in line.get_label()][0]
    assert baseline.get_xdata()[0] == pytest.approx(np.sqrt(np.mean((y - y.mean()) ** 2)))

    ax = nplot.ridge_predictions(classic_report).axes[0]
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), np.c_[y, [105, 145, 85, 190]])  # the best: rbf
    assert ax.get_title() == "rbf: test $R^2$ = 0.500"

    left, right = nplot.primal_vs_dual(classic_report).axes
    pd = classic_report["primal_vs_dual"]
    (_, s, primal), (_, _, dual) = data_lines(left)
    np.testing.assert_array_equal(primal, pd["loss_primal"])
    np.testing.assert_array_equal(dual, pd["loss_dual"])
    (_, s, train), (_, _, test), _ = data_lines(right)
    np.testing.assert_array_equal(s, pd["steps"][1:])  # step 0 (both exactly 0) left out
    np.testing.assert_array_equal(train, [1e-15, 2e-15, np.finfo(float).tiny, 3e-15])  # an exact 0 stays visible
    np.testing.assert_array_equal(test, pd["max_abs_diff_test"][1:])


def test_classic_figures_reject_bad_reports(classic_report):
    with pytest.raises(ValueError, match=r"missing key.*'test_targets'"):
        nplot.ridge_rmse({"ridge": classic_report["ridge"]})
    bad = dict(classic_report, ridge=[{"kernel": "linear", "test_rmse": 1.0}])
    with pytest.raises(ValueError, match=r"report\['ridge'\]\[0\]: missing key"):
        nplot.ridge_predictions(bad)
    pd = dict(classic_report["primal_vs_dual"], loss_dual=[1.0, 2.0])
    with pytest.raises(ValueError, match="lengths differ"):
        nplot.primal_vs_dual({"primal_vs_dual": pd})


def test_save_figure_writes_atomically(tmp_path, scaling):
    path = tmp_path / "k.png"
    fig = nplot.kernel_convergence(WIDTHS, scaling["kernel_rel_error"], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["k.png"]
    nplot.save_figure(fig, tmp_path / "k.svg")
    assert (tmp_path / "k.svg").read_text().lstrip().startswith("<?xml")


def test_a_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, scaling, monkeypatch):
    fig = nplot.kernel_convergence(WIDTHS, scaling["kernel_rel_error"])
    with pytest.raises(ValueError, match="not supported|Format"):
        nplot.save_figure(fig, tmp_path / "k.notaformat")
    with pytest.raises(ValueError, match="no file extension"):
        nplot.save_figure(fig, tmp_path / "k")
    assert os.listdir(tmp_path) == []

    (tmp_path / "k.png").write_bytes(b"old")

    def broken_savefig(f, **kwargs):
        f.write(b"half a png")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        nplot.save_figure(fig, tmp_path / "k.png")
    assert os.listdir(tmp_path) == ["k.png"] and (tmp_path / "k.png").read_bytes() == b"old"
    # Bad input raises before anything is written.
    with pytest.raises(ValueError):
        nplot.kernel_convergence(WIDTHS, [1.0], tmp_path / "new.png")
    assert os.listdir(tmp_path) == ["k.png"]


def write_synthetic_demo(folder, scaling, classic_report, rng):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(scaling))
    curves = [{"width": m, "loss_network": [4.0, 2.0, 1.0], "loss_ntk": [4.0, 1.9, 0.9]} for m in scaling["widths"]]
    details = {"activation": "relu", "steps": 6, "curve_steps": [0, 3, 6], "curves": curves}
    (folder / "details.json").write_text(json.dumps(details))
    z = rng.standard_normal((5, 5))
    np.save(folder / "ntk_train.npy", z @ z.T)
    np.save(folder / "ntk_eigenvalues.npy", np.linalg.eigvalsh(z @ z.T)[::-1])
    (folder / "classic").mkdir()
    (folder / "classic" / "report.json").write_text(json.dumps(classic_report))


def test_demo_figures_draws_every_figure_of_a_demo_folder(tmp_path, scaling, classic_report, rng):
    write_synthetic_demo(tmp_path, scaling, classic_report, rng)
    data = np.c_[rng.standard_normal((30, 3)), rng.standard_normal(30)]
    lines = []
    written = nplot.demo_figures(tmp_path, data=data, dynamics_widths=(8, 32), log=lines.append)
    names = sorted(os.path.relpath(p, tmp_path) for p in written)
    assert names == sorted(
        ["width_scaling.png", "ntk_convergence.png", "lazy_regime.png", "training_curves.png", "ntk_heatmap.png",
         "ntk_spectrum.png", "outputs_vs_ntk.png", "kernel_drift.png", "classic/ridge_test_rmse.png",
         "classic/ridge_predictions.png", "classic/primal_vs_dual.png"]
    )
    for p in written:
        assert open(p, "rb").read(4) == b"\x89PNG"
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    assert any("training 2 networks" in line for line in lines)


def test_demo_figures_reports_a_missing_or_broken_report(tmp_path):
    with pytest.raises(ValueError, match="cannot read .*report.json.*run `ntkit demo` first"):
        nplot.demo_figures(tmp_path, log=lambda _: None)
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        nplot.demo_figures(tmp_path, log=lambda _: None)
    (tmp_path / "report.json").write_text(json.dumps({"widths": [1, 2], "kernel_rel_error": [1, 1]}))
    (tmp_path / "details.json").write_text("{}")
    with pytest.raises(ValueError, match="missing key"):
        nplot.demo_figures(tmp_path, log=lambda _: None)


def test_plot_demo_script_on_a_real_demo_run(tmp_path, ntkit_cli):
    """The CLI's demos, then scripts/plot_demo.py through the module; the CLI's log-log slopes
    are the ones the figures fit."""
    out = tmp_path / "demo"
    ntkit_cli("demo", "--out", out, "--min-width", 16, "--max-width", 64, "--seeds", 1, "--steps", 20,
              "--record-every", 5)
    ntkit_cli("classic-demo", "--out", out / "classic", "--steps", 20)
    report = json.loads((out / "report.json").read_text())
    for key, _ in nplot.DEMO_QUANTITIES:
        assert nplot.loglog_slope(report["widths"], report[key]) == pytest.approx(report["slopes"][key], abs=1e-9)
    script = REPO_ROOT / "scripts" / "plot_demo.py"
    result = subprocess.run([sys.executable, script, out, "--widths", "8,64"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    for name in ["width_scaling", "ntk_convergence", "lazy_regime", "training_curves", "outputs_vs_ntk", "kernel_drift",
                 "ntk_heatmap", "ntk_spectrum", "classic/ridge_test_rmse", "classic/primal_vs_dual",
                 "classic/kernel_heatmap", "classic/kernel_spectrum"]:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
    missing = subprocess.run([sys.executable, script, tmp_path / "nothing"], capture_output=True, text=True)
    assert missing.returncode == 2 and "run `ntkit demo` first" in missing.stderr
