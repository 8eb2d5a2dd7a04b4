"""End-to-end tests of `ntkit classify` and `ntkit regress` on the shipped data sets
(data/wine.csv, data/diabetes.csv): against NumPy kernel ridge regression on the same kernel,
against reference numbers of scikit-learn's libsvm-based estimators, and the error contract."""
import json

import numpy as np
import pytest

from conftest import REPO_ROOT

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
    assert len(r["cross_validation"]) == 3 * 3 * 2 * 5  # depths × W_std × b_std × diag_reg
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
    expect_error(ntkit, tmp_path, "regress", ["--train", "x.npy", "y.npy", "--depth", "0"], "--depth")
