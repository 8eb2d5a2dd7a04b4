"""End-to-end tests of `ntkit classify` and `ntkit regress` on the shipped data sets
(data/wine.csv, data/diabetes.csv): against NumPy kernel ridge regression on the same kernel,
against reference numbers of scikit-learn's libsvm-based estimators, and the error contract."""
import json

import numpy as np
import pytest

from conftest import REPO_ROOT, run_on_terminal

ARCH2 = "Dense(512, W_std=1.5, b_std=0.1), Relu, Dense(512, W_std=1.5, b_std=0.1), Relu, Dense(1, W_std=1.5, b_std=0.1)"
ARCH1 = "Dense(512, W_std=1.5, b_std=0.1), Relu, Dense(1, W_std=1.5, b_std=0.1)"


def split(tmp_path, name, every):
    """Every `every`-th row (0, every, 2·every, ...) is a test point: a fixed split, no RNG."""
    d = np.loadtxt(REPO_ROOT / "data" / name, delimiter=",", skiprows=1)
    test = np.arange(len(d)) % every == 0
    x, y = d[:, :-1], d[:, -1]
    for fname, arr in [("x", x[~test]), ("y", y[~test]), ("xt", x[test]), ("yt", y[test])]:
        np.save(tmp_path / f"{fname}.npy", arr)
    return x[~test], y[~test], x[test], y[test]


def standardized(x, xt):
    m, s = x.mean(axis=0), x.std(axis=0)
    return (x - m) / s, (xt - m) / s


def ntk(ntkit_ok, tmp_path, arch, x, xt):
    np.save(tmp_path / "xs.npy", x)
    np.save(tmp_path / "xts.npy", xt)
    ntkit_ok("kernel", "--arch", arch, "--x1", "xs.npy", "-o", "k.npy")
    ntkit_ok("kernel", "--arch", arch, "--x1", "xts.npy", "--x2", "xs.npy", "-o", "kt.npy")
    return np.load(tmp_path / "k.npy"), np.load(tmp_path / "kt.npy")


def report(tmp_path, out):
    return json.loads((tmp_path / out / "report.json").read_text())


@pytest.fixture
def wine(tmp_path):
    return split(tmp_path, "wine.csv", 5)  # 142 train, 36 test wines


def test_wine_svm_reproduces_scikit_learn(ntkit_ok, tmp_path, wine):
    # Reference: scikit-learn 1.9.1, sklearn.svm.SVC(kernel="precomputed", C=C) fitted on the
    # NTK of ARCH2 (from `ntkit kernel --arch`) of the standardized training wines, predicting
    # the 36 test wines of this split: 34 correct for C = 0.01, 36 for C = 0.1 (and its
    # predicted labels equal ntkit's one by one). scikit-learn wraps its own copy of libsvm.
    _, _, _, yt = wine
    for c, correct in [(0.01, 34), (0.1, 36)]:
        ntkit_ok("classify", "--train", "x.npy", "y.npy", "--test", "xt.npy", "yt.npy", "--arch", ARCH2,
                 "--method", "svm", "--C", c, "-o", f"S{c}")
        pred = np.load(tmp_path / f"S{c}" / "predictions.npy")
        assert pred.shape == (36,)
        assert (pred == yt).sum() == correct
        assert report(tmp_path, f"S{c}")["test_accuracy"] == pytest.approx(correct / 36)


def test_wine_ridge_matches_numpy(ntkit_ok, tmp_path, wine):
    x, y, xt, yt = wine
    for flag, xs_xts in [("--standardize", standardized(x, xt)), ("--no-standardize", (x, xt))]:
        k, kt = ntk(ntkit_ok, tmp_path, ARCH2, *xs_xts)
        for reg in [1e-3, 1e-1]:
            ntkit_ok("classify", "--train", "x.npy", "y.npy", "--test", "xt.npy", "yt.npy", "--arch", ARCH2,
                     "--diag-reg", reg, flag, "-o", "R")
            # One-hot kernel ridge regression, λ = diag_reg · tr(K)/n, argmax.
            scores = kt @ np.linalg.solve(k + reg * np.trace(k) / len(k) * np.eye(len(k)), np.eye(3)[y.astype(int)])
            np.testing.assert_array_equal(np.load(tmp_path / "R" / "predictions.npy"), scores.argmax(axis=1))


def test_wine_cross_validated_ntk_beats_nearest_neighbour(ntkit_ok, tmp_path, wine):
    # Known results for this data set (scikit-learn's description of it, from Aeberhard, Coomans
    # and de Vel 1992, leave-one-out on z-scored data): RDA 100%, QDA 99.4%, LDA 98.9%,
    # 1-nearest-neighbour 96.1%. The NTK with one-hot ridge regression, tuned by 5-fold
    # cross-validation over the default grid, should do at least as well as 1NN.
    out = ntkit_ok("classify", "--train", "x.npy", "y.npy", "--test", "xt.npy", "yt.npy", "-o", "G")
    r = report(tmp_path, "G")
    assert r["cv_accuracy"] >= 0.961, r
    assert r["test_accuracy"] >= 34 / 36, r
    # depths × (three W_std with b_std = 0.1, and one for b_std = 0: without biases W_std only
    # rescales the kernel, which ridge's relative λ undoes) × nine diag_reg values.
    assert len(r["cross_validation"]) == 3 * (3 + 1) * 9
    assert len(r["equivalent_kernels_skipped"]) == 3 * 2
    assert "test accuracy" in out.stdout
    # The choice is the best of the table.
    assert r["cv_accuracy"] == max(row["accuracy"] for row in r["cross_validation"])


def test_regress_diabetes_matches_numpy_and_scikit_learn(ntkit_ok, tmp_path):
    x, y, xt, yt = split(tmp_path, "diabetes.csv", 4)  # 331 train, 111 test patients
    k, kt = ntk(ntkit_ok, tmp_path, ARCH1, *standardized(x, xt))
    ntkit_ok("regress", "--train", "x.npy", "y.npy", "--test", "xt.npy", "yt.npy", "--arch", ARCH1, "--diag-reg", 0.1, "-o", "R")
    expect = kt @ np.linalg.solve(k + 0.1 * np.trace(k) / len(k) * np.eye(len(k)), y)
    np.testing.assert_allclose(np.load(tmp_path / "R" / "predictions.npy"), expect, rtol=1e-9)
    assert report(tmp_path, "R")["test_rmse"] == pytest.approx(np.sqrt(np.mean((expect - yt) ** 2)), rel=1e-9)
    # Reference: scikit-learn 1.9.1 sklearn.svm.SVR(kernel="precomputed", C=10, epsilon=5) on the
    # same kernel and split: test RMSE 60.29391100291346.
    ntkit_ok("regress", "--train", "x.npy", "y.npy", "--test", "xt.npy", "yt.npy", "--arch", ARCH1, "--method", "svm",
             "--C", 10, "--epsilon", 5, "-o", "S")
    assert report(tmp_path, "S")["test_rmse"] == pytest.approx(60.29391100291346, rel=1e-6)


def expect_error(ntkit, tmp_path, command, args, *phrases):
    result = ntkit(command, *args, "-o", "OUT")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("ntkit: error: "), result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert not (tmp_path / "OUT").exists()


def test_bad_inputs(ntkit, tmp_path, wine):
    _, y, _, _ = wine
    y_frac = y.copy()
    y_frac[7] = 1.5
    np.save(tmp_path / "y_frac.npy", y_frac)
    np.save(tmp_path / "y_short.npy", y[:100])
    np.save(tmp_path / "xt_narrow.npy", np.zeros((5, 12)))
    fast = ["--arch", ARCH1]
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y_frac.npy"] + fast, "y_frac.npy", "row 8", "integers", "regress")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--test", "xt.npy", "y_frac.npy"] + fast, "y_frac.npy")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y_short.npy"] + fast, "y_short.npy", "100 rows")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--test", "xt_narrow.npy"] + fast, "xt_narrow.npy", "columns")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--method", "knn"] + fast, "--method")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--method", "svm", "--C", "0"] + fast, "--C")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--arch", "Dense(1), Rleu"], "Rleu")
    expect_error(ntkit, tmp_path, "regress", ["--train", "x.npy", "y.npy", "--depth", "-1"], "--depth", ">= 0")


# ---- Issue 18: kernel classification as a practitioner uses it ----------------------------------

WINE = REPO_ROOT / "data" / "wine.csv"
FAST = ["--arch", ARCH1]


def test_help_tells_the_defaults(ntkit_ok):
    out = ntkit_ok("classify", "--help").stdout
    assert "{false}" not in out, out  # --standardize is on by default
    assert "TEXT=linear" not in out, out  # the default is the NTK grid, not the linear kernel
    assert "--no-standardize" in out and "(the default)" in out
    assert "--label-column" in out and "--validation" in out and "--fixed-layers" in out


@pytest.mark.parametrize("args, phrases", [
    (["--C", "1000"], ["--C", "--method svm"]),                           # ridge ignored --C
    (["--method", "svm", "--diag-reg", "0.1"], ["--diag-reg", "ridge"]),
    (FAST + ["--w-std", "2"], ["--w-std", "--arch"]),                       # --arch ignored the grid
    (FAST + ["--depth", "2"], ["--depth", "--arch"]),
    (["--kernel", "rbf", "--depth", "2"], ["--depth", "--kernel"]),
    (["--gamma", "0.5"], ["--gamma", "rbf"]),                                 # no --kernel rbf
    (["--kernel", "polynomial", "--gamma", "0.5"], ["--gamma", "rbf"]),
    (["--kernel", "rbf"] + FAST, ["--kernel", "--arch"]),
    (["--validation", "idx.npy", "--cv", "3"], ["--cv", "--validation"]),
    (["--standardize", "--no-standardize"], ["--standardize"]),
    (["--kernel", "rbff"], ["--kernel", "unknown kernel 'rbff'"]),
])
def test_ineffective_or_conflicting_options_are_errors(ntkit, tmp_path, wine, args, phrases):
    np.save(tmp_path / "idx.npy", np.arange(10))
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy"] + args, *phrases)


def test_regress_epsilon_with_ridge_is_an_error(ntkit, tmp_path, wine):
    expect_error(ntkit, tmp_path, "regress", ["--train", "x.npy", "y.npy", "--epsilon", "1"] + FAST, "--epsilon", "svm")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32"])
def test_any_integer_label_dtype_and_predictions_in_that_dtype(ntkit_ok, tmp_path, wine, dtype):
    _, y, _, yt = wine
    np.save(tmp_path / "yd.npy", (y + 3).astype(dtype))  # classes 3, 4, 5
    np.save(tmp_path / "ytd.npy", (yt + 3).astype(dtype))
    ntkit_ok("classify", "--train", "x.npy", "yd.npy", "--test", "xt.npy", "ytd.npy", *FAST, "--diag-reg", 0.01, "-o", "D")
    pred = np.load(tmp_path / "D" / "predictions.npy")
    assert pred.dtype == np.dtype(dtype) and pred.shape == (36,)
    assert set(pred) <= {3, 4, 5} and np.mean(pred == yt + 3) >= 34 / 36
    assert report(tmp_path, "D")["test_accuracy"] == pytest.approx(np.mean(pred == yt + 3))


def test_boolean_labels(ntkit_ok, tmp_path, wine):
    _, y, _, yt = wine
    np.save(tmp_path / "yb.npy", y == 0)
    np.save(tmp_path / "ytb.npy", yt == 0)
    ntkit_ok("classify", "--train", "x.npy", "yb.npy", "--test", "xt.npy", "ytb.npy", *FAST, "--method", "svm", "--C", 1, "-o", "B")
    pred = np.load(tmp_path / "B" / "predictions.npy")
    assert pred.dtype == np.bool_ and np.mean(pred == (yt == 0)) >= 34 / 36
    assert report(tmp_path, "B")["classes"] == ["False", "True"]


def test_string_labels_in_csv_and_predictions_as_csv(ntkit_ok, tmp_path, wine):
    _, y, _, yt = wine
    names = np.array(["barolo", "grignolino", "barbera"])
    (tmp_path / "ys.csv").write_text("cultivar\n" + "\n".join(names[y.astype(int)]) + "\n")
    (tmp_path / "yts.csv").write_text("\n".join(names[yt.astype(int)]) + "\n")  # no header
    ntkit_ok("classify", "--train", "x.npy", "ys.csv", "--test", "xt.npy", "yts.csv", *FAST, "--diag-reg", 0.01, "-o", "S")
    lines = (tmp_path / "S" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "cultivar" and len(lines) == 37
    assert np.mean(np.array(lines[1:]) == names[yt.astype(int)]) >= 34 / 36
    assert report(tmp_path, "S")["classes"] == sorted(names)


def test_string_labels_in_npy_and_predictions_in_that_dtype(ntkit_ok, tmp_path, wine):
    _, y, _, yt = wine
    names = np.array(["barolo", "grignolino", "barbera"])
    np.save(tmp_path / "yn.npy", names[y.astype(int)])  # dtype <U10
    np.save(tmp_path / "ytn.npy", names[yt.astype(int)])
    ntkit_ok("classify", "--train", "x.npy", "yn.npy", "--test", "xt.npy", "ytn.npy", *FAST, "--diag-reg", 0.01, "-o", "U")
    pred = np.load(tmp_path / "U" / "predictions.npy")
    assert pred.dtype == np.dtype("<U10") and np.mean(pred == names[yt.astype(int)]) >= 34 / 36
    assert report(tmp_path, "U")["test_accuracy"] == pytest.approx(np.mean(pred == names[yt.astype(int)]))


def test_label_errors(ntkit, tmp_path, wine):
    _, y, _, _ = wine
    np.save(tmp_path / "yc.npy", y.astype(np.complex128))
    np.save(tmp_path / "yo.npy", y.astype(object))
    np.save(tmp_path / "y2.npy", np.stack([y, y], axis=1))
    (tmp_path / "y15.csv").write_text("\n".join(["1.5"] + ["1"] * 141) + "\n")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "yc.npy"] + FAST, "yc.npy", "dtype", "integer")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "yo.npy"] + FAST, "yo.npy", "object labels", "astype(str)")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y2.npy"] + FAST, "y2.npy", "(142, 2)")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y15.csv"] + FAST, "y15.csv", "line 1", "integers")


def test_single_class_is_an_error(ntkit, tmp_path, wine):
    np.save(tmp_path / "y1.npy", np.full(142, 7, dtype=np.int64))
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y1.npy"] + FAST, "y1.npy", "'7'", "two classes")


def test_too_few_points_for_the_folds_names_cv_and_the_counts(ntkit, tmp_path, wine):
    x, y, _, _ = wine
    np.save(tmp_path / "x4.npy", x[[0, 1, 60, 61]])
    np.save(tmp_path / "y4.npy", y[[0, 1, 60, 61]])
    expect_error(ntkit, tmp_path, "classify", ["--train", "x4.npy", "y4.npy"] + FAST, "--cv 5", "only 4 points", "--cv 4")


def test_rbf_gamma_grid(ntkit_ok, tmp_path, wine):
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--kernel", "rbf", "--gamma", "0.01,0.1,1", "--diag-reg", 0.01, "-o", "G")
    r = report(tmp_path, "G")
    assert [row["kernel"] for row in r["cross_validation"]] == ["rbf(gamma=0.01)", "rbf(gamma=0.1)", "rbf(gamma=1)"]
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--kernel", "rbf", "--diag-reg", 0.01, "-o", "D")
    assert len(report(tmp_path, "D")["cross_validation"]) == 3  # 0.1/d, 1/d, 10/d


def test_label_column_on_the_shipped_wine_csv(ntkit_ok, tmp_path):
    # The README's "classify your own CSV" example, as it is written there.
    out = ntkit_ok("classify", "--train", WINE, "--label-column", "class", "--arch", ARCH1, "-o", "W")
    assert "chosen:" in out.stdout
    r = report(tmp_path, "W")
    assert r["train_points"] == 178 and r["classes"] == ["0", "1", "2"] and r["cv_accuracy"] > 0.95
    # By index, and a test file with the label column (scored) and without it.
    d = np.loadtxt(WINE, delimiter=",", skiprows=1)
    header = WINE.read_text().splitlines()[0]
    (tmp_path / "with.csv").write_text(header + "\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in d[::5]) + "\n")
    np.savetxt(tmp_path / "without.csv", d[::5, :-1], delimiter=",")
    ntkit_ok("classify", "--train", WINE, "--label-column", "-1", "--test", "with.csv", *FAST, "-o", "I")
    assert report(tmp_path, "I")["test_accuracy"] > 0.9
    assert (tmp_path / "I" / "predictions.csv").read_text().splitlines()[0] == "class"
    ntkit_ok("classify", "--train", WINE, "--label-column", "13", "--test", "without.csv", *FAST, "-o", "N")
    assert "test_accuracy" not in report(tmp_path, "N")
    assert len((tmp_path / "N" / "predictions.csv").read_text().splitlines()) == 1 + 36


def test_label_column_errors(ntkit, tmp_path):
    expect_error(ntkit, tmp_path, "classify", ["--train", WINE, "--label-column", "kind"] + FAST, "--label-column", "no column 'kind'", "proline")
    expect_error(ntkit, tmp_path, "classify", ["--train", WINE, "--label-column", "20"] + FAST, "--label-column", "14 columns")
    expect_error(ntkit, tmp_path, "classify", ["--train", WINE] + FAST, "--train", "--label-column")
    expect_error(ntkit, tmp_path, "classify", ["--train", WINE, WINE, "--label-column", "class"] + FAST, "--label-column")


def test_duplicates_skipped_and_grid_edges_reported(ntkit_ok, tmp_path, wine):
    # b_std = 0: the three W_std give one kernel for ridge, three for the SVM.
    grid = ["--depth", "1", "--b-std", "0", "--w-std", "1,1.5,2"]
    ntkit_ok("classify", "--train", "x.npy", "y.npy", *grid, "--diag-reg", 0.01, "-o", "R")
    assert len(report(tmp_path, "R")["cross_validation"]) == 1
    ntkit_ok("classify", "--train", "x.npy", "y.npy", *grid, "--method", "svm", "--C", 1, "-o", "S")
    assert len(report(tmp_path, "S")["cross_validation"]) == 3
    # Costs far too small (C ≤ 0.01 predicts the majority class): the largest is the only best.
    out = ntkit_ok("classify", "--train", "x.npy", "y.npy", *FAST, "--method", "svm", "--C", "0.001,0.01,0.1", "-o", "E")
    notes = report(tmp_path, "E")["notes"]
    assert any("--C 0.1 is the largest value tried" in n for n in notes), notes
    assert "note: --C 0.1 is the largest" in out.stdout
    # Ties inside the grid are no edge: no note for the default C grid on these wines.
    ntkit_ok("classify", "--train", "x.npy", "y.npy", *FAST, "--method", "svm", "-o", "N")
    assert not any("--C" in n for n in report(tmp_path, "N")["notes"])


def test_depth_zero_is_the_linear_kernel(ntkit_ok, tmp_path, wine):
    # Depth 0 is the readout alone, Dense(1, W_std=1, b_std=0): the kernel x·x'/d, which ridge
    # (relative λ) treats as the linear kernel x·x'.
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--depth", 0, "--w-std", 1, "--b-std", 0,
             "--diag-reg", 0.1, "-o", "Z")
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--kernel", "linear", "--diag-reg", 0.1, "-o", "L")
    np.testing.assert_array_equal(np.load(tmp_path / "Z" / "predictions.npy"), np.load(tmp_path / "L" / "predictions.npy"))
    assert report(tmp_path, "Z")["kernel"] == "Dense(1, W_std=1, b_std=0)"


def test_fixed_layers_from_kernel_predict_and_classify(ntkit_ok, ntkit, tmp_path, wine):
    x, _, _, _ = wine
    np.save(tmp_path / "x20.npy", x[:20] / 100)
    # One hidden layer, its first layer fixed: only the readout trains, the NTK is the NNGP.
    ntkit_ok("kernel", "--arch", ARCH1, "--x1", "x20.npy", "--fixed-layers", 1, "-o", "kf.npy")
    ntkit_ok("kernel", "--arch", ARCH1, "--x1", "x20.npy", "--get", "nngp", "-o", "kg.npy")
    np.testing.assert_allclose(np.load(tmp_path / "kf.npy"), np.load(tmp_path / "kg.npy"), rtol=1e-14)
    bad = ntkit("kernel", "--arch", ARCH1, "--x1", "x20.npy", "--fixed-layers", 2, "-o", "k2.npy")
    assert bad.returncode == 2 and "--fixed-layers" in bad.stderr and "2 Dense layers" in bad.stderr
    for args, phrase in [(["--kernel", "rbf"], "add --arch"), (["--arch", ARCH1, "--get", "nngp"], "only the NTK")]:
        bad = ntkit("kernel", *args, "--x1", "x20.npy", "--fixed-layers", 1, "-o", "k3.npy")
        assert bad.returncode == 2 and "--fixed-layers" in bad.stderr and phrase in bad.stderr, bad.stderr
    bad = ntkit("predict", "--kernels", ".", "--train", "x20.npy", "y20.npy", "--fixed-layers", 1, "-o", "R")
    assert bad.returncode == 2 and "ntkit kernel --fixed-layers" in bad.stderr, bad.stderr
    np.save(tmp_path / "y20.npy", np.arange(20.0))
    ntkit_ok("predict", "--arch", ARCH1, "--train", "x20.npy", "y20.npy", "--test", "x20.npy", "--time", "inf",
             "--fixed-layers", 1, "--diag-reg", 1e-3, "-o", "P")
    ntkit_ok("predict", "--arch", ARCH1, "--train", "x20.npy", "y20.npy", "--test", "x20.npy", "--time", "inf",
             "--get", "nngp", "--diag-reg", 1e-3, "-o", "Q")
    np.testing.assert_allclose(np.load(tmp_path / "P" / "test.npy"), np.load(tmp_path / "Q" / "test.npy"), rtol=1e-9)
    # classify: a grid over L' (Arora et al. 2020's family); L' > depth is skipped.
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--depth", "1,2", "--w-std", 1.5, "--b-std", 0.1,
             "--fixed-layers", "0,1,2", "--diag-reg", 0.01, "-o", "C")
    names = [row["kernel"] for row in report(tmp_path, "C")["cross_validation"]]
    assert len(names) == 2 + 3 and sum("[first 2 fixed]" in n for n in names) == 1


def test_fixed_validation_split_from_an_index_file(ntkit_ok, tmp_path, wine):
    x, y, _, _ = wine
    val = np.arange(0, 142, 4)
    np.savetxt(tmp_path / "val.txt", val, fmt="%d")
    ntkit_ok("classify", "--train", "x.npy", "y.npy", "--validation", "val.txt", "--arch", ARCH2, "--diag-reg", 0.01,
             "--no-standardize", "-o", "V")
    r = report(tmp_path, "V")
    assert r["validation_points"] == len(val) and "folds" not in r
    # The validation accuracy is that of ridge fitted on the other rows (NumPy).
    fit = np.setdiff1d(np.arange(142), val)
    np.save(tmp_path / "xs.npy", x)
    ntkit_ok("kernel", "--arch", ARCH2, "--x1", "xs.npy", "-o", "k.npy")
    k = np.load(tmp_path / "k.npy")
    kf = k[np.ix_(fit, fit)]
    scores = k[np.ix_(val, fit)] @ np.linalg.solve(kf + 0.01 * np.trace(kf) / len(fit) * np.eye(len(fit)),
                                                   np.eye(3)[y[fit].astype(int)])
    assert r["cv_accuracy"] == pytest.approx(np.mean(scores.argmax(1) == y[val]))


def test_validation_errors(ntkit, tmp_path, wine):
    np.savetxt(tmp_path / "bad.txt", [3, 500], fmt="%d")
    np.savetxt(tmp_path / "dup.txt", [3, 3], fmt="%d")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--validation", "bad.txt"] + FAST, "--validation", "500", "0 to 141")
    expect_error(ntkit, tmp_path, "classify", ["--train", "x.npy", "y.npy", "--validation", "dup.txt"] + FAST, "--validation", "dup.txt", "3", "twice")


def test_cross_validation_is_stratified_and_the_same_on_one_or_two_threads(ntkit_bin, tmp_path, wine):
    import os
    import subprocess
    reports = []
    for threads in ["1", "2"]:
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        for method in [["--diag-reg", "0.001,0.1"], ["--method", "svm", "--C", "0.1,10"]]:
            out = f"T{threads}{method[0]}"
            subprocess.run([ntkit_bin, "classify", "--train", "x.npy", "y.npy", *FAST, *method, "-o", out],
                           cwd=tmp_path, env=env, check=True, capture_output=True)
            reports.append(report(tmp_path, out))
    assert reports[0] == reports[2] and reports[1] == reports[3]
    assert reports[0]["stratified"] is True


def test_progress_bar_on_a_terminal(ntkit_bin, tmp_path):
    # Two to three seconds of fits with Debian's OpenBLAS on two idle cores (the bar waits one
    # second): 1500 points, 10 folds × 9 ridge values of 1350-point Cholesky factorizations.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 8))
    np.save(tmp_path / "xb.npy", x)
    np.save(tmp_path / "yb.npy", (x[:, 0] + 0.5 * rng.standard_normal(1500) > 0).astype(np.int64))
    args = [ntkit_bin, "classify", "--train", "xb.npy", "yb.npy", "--arch", ARCH1, "--cv", "10", "-o", "P"]
    status, drawn = run_on_terminal(args, tmp_path)
    assert status == 0 and "classify [" in drawn and "100%" in drawn, drawn
    # -q: no bar (checked on a short run; a second long one would double the test's time).
    status, drawn = run_on_terminal([ntkit_bin, "classify", "--train", "xb.npy", "yb.npy", "--kernel", "linear",
                                     "--diag-reg", "0.1", "-q", "-o", "Q"], tmp_path)
    assert status == 0 and drawn == "", drawn
