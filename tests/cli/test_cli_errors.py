"""The error contract of ntkit: every user error prints one message on stderr starting with
"ntkit: error: " that names the file/argument and the problem, exits with status 2, and creates
or overwrites no output file.

Each case builds its bad input in tmp_path, runs the tool and checks a few distinctive phrases
(not the tool's full wording).
"""
import numpy as np
import pytest

GOOD = np.arange(12, dtype=np.float64).reshape(4, 3) / 7.0 + 0.1


def _npy_bytes(arr):
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


# Builders: each takes tmp_path and creates the input files it needs.


def good(tmp):
    np.save(tmp / "good.npy", GOOD)


def write_bytes(name, data):
    def build(tmp):
        good(tmp)
        (tmp / name).write_bytes(data() if callable(data) else data)

    return build


def save(name, arr_fn):
    def build(tmp):
        good(tmp)
        np.save(tmp / name, arr_fn())

    return build


def bad_magic():
    return b"\x93NUMPZ" + _npy_bytes(GOOD)[6:]


def truncated():
    return _npy_bytes(GOOD)[:-10]


def bad_header():
    b = bytearray(_npy_bytes(GOOD))
    i = b.index(b"{")
    b[i] = ord("[")  # the header dict no longer starts with '{'
    return bytes(b)


def bad_header_shape():
    b = _npy_bytes(GOOD)
    return b.replace(b"'shape': (4, 3)", b"'shape': (4, x)")


def with_value(v):
    def fn():
        a = GOOD.copy()
        a[1, 2] = v
        return a

    return fn


def make_dir(name):
    def build(tmp):
        good(tmp)
        (tmp / name).mkdir()

    return build


def ridge_files(tmp):
    good(tmp)
    np.save(tmp / "y5.npy", np.arange(5.0))
    np.save(tmp / "y4.npy", np.arange(4.0))
    np.save(tmp / "x2cols.npy", GOOD[:, :2])


K = ["kernel", "--x1"]

# (id, builder, args, output file name, phrases that must appear in stderr)
CASES = [
    ("npy-wrong-magic", write_bytes("bad_magic.npy", bad_magic), K + ["bad_magic.npy"],
     "K.npy", ["bad_magic.npy", "not a .npy file", "magic"]),
    ("npy-unsupported-version", write_bytes("v9.npy", lambda: b"\x93NUMPY\x09\x00" + _npy_bytes(GOOD)[8:]),
     K + ["v9.npy"], "K.npy", ["v9.npy", "version"]),
    ("npy-truncated-data", write_bytes("trunc.npy", truncated), K + ["trunc.npy"],
     "K.npy", ["trunc.npy", "truncated"]),
    ("npy-truncated-in-magic", write_bytes("short.npy", lambda: _npy_bytes(GOOD)[:5]), K + ["short.npy"],
     "K.npy", ["short.npy", ".npy"]),
    ("npy-bad-header", write_bytes("hdr.npy", bad_header), K + ["hdr.npy"],
     "K.npy", ["hdr.npy", "header"]),
    ("npy-bad-header-shape", write_bytes("shape.npy", bad_header_shape), K + ["shape.npy"],
     "K.npy", ["shape.npy", "shape"]),
    ("npy-big-endian", save("be.npy", lambda: GOOD.astype(">f8")), K + ["be.npy"],
     "K.npy", ["be.npy", "big-endian", ">f8"]),
    ("npy-complex", save("cplx.npy", lambda: GOOD.astype(np.complex128)), K + ["cplx.npy"],
     "K.npy", ["cplx.npy", "unsupported dtype", "float64"]),
    ("npy-bool", save("bool.npy", lambda: GOOD > 0.5), K + ["bool.npy"],
     "K.npy", ["bool.npy", "unsupported dtype"]),
    ("npy-float16", save("half.npy", lambda: GOOD.astype(np.float16)), K + ["half.npy"],
     "K.npy", ["half.npy", "unsupported dtype"]),
    # kernel reads images (N, H, W, C) and signals (N, L, C); a rank beyond those is an error,
    # and so is a 3-D array where a command takes 2-D data.
    ("npy-5d", save("cube.npy", lambda: np.zeros((2, 2, 2, 2, 2))), K + ["cube.npy"],
     "K.npy", ["cube.npy", "5 dimensions", "(N, H, W, C"]),
    ("npy-3d-features", save("cube.npy", lambda: np.zeros((2, 2, 2))), ["features", "--x", "cube.npy"],
     "F.npy", ["cube.npy", "images or signals", "reshape"]),
    ("npy-0d", save("scalar.npy", lambda: np.float64(3.0)), K + ["scalar.npy"],
     "K.npy", ["scalar.npy", "0-D", "reshape"]),
    ("csv-ragged", write_bytes("ragged.csv", b"1,2,3\n4,5\n"), K + ["ragged.csv"],
     "K.npy", ["ragged.csv", "line 2", "columns"]),
    ("csv-non-numeric", write_bytes("word.csv", b"a,b,c\n1,2,3\n4,x,6\n"), K + ["word.csv"],
     "K.npy", ["word.csv", "line 3", "'x'", "not a number"]),
    ("csv-mixed-separators", write_bytes("mixed.csv", b"1,2,3\n4 5 6\n"), K + ["mixed.csv"],
     "K.npy", ["mixed.csv", "separat"]),
    ("npy-nan", save("nan.npy", with_value(np.nan)), K + ["nan.npy"],
     "K.npy", ["nan.npy", "NaN", "row 1", "column 2"]),
    ("npy-inf", save("inf.npy", with_value(np.inf)), K + ["inf.npy"],
     "K.npy", ["inf.npy", "Inf", "row 1", "column 2"]),
    ("npy-minus-inf", save("minf.npy", with_value(-np.inf)), K + ["minf.npy"],
     "K.npy", ["minf.npy", "Inf"]),
    ("csv-nan", write_bytes("nan.csv", b"1,2\nnan,3\n"), K + ["nan.csv"],
     "K.npy", ["nan.csv", "NaN"]),
    ("csv-inf", write_bytes("inf.csv", b"1,2\n3,inf\n"), K + ["inf.csv"],
     "K.npy", ["inf.csv", "Inf"]),
    ("empty-file", write_bytes("empty.csv", b""), K + ["empty.csv"],
     "K.npy", ["empty.csv", "empty"]),
    ("empty-npy-file", write_bytes("empty.npy", b""), K + ["empty.npy"],
     "K.npy", ["empty.npy", "empty"]),
    ("header-only-csv", write_bytes("hdr.csv", b"a,b,c\n"), K + ["hdr.csv"],
     "K.npy", ["hdr.csv", "empty"]),
    ("empty-array-0x3", save("e03.npy", lambda: np.zeros((0, 3))), K + ["e03.npy"],
     "K.npy", ["e03.npy", "empty", "0 rows"]),
    ("nonexistent-input", good, K + ["missing.npy"], "K.npy", ["missing.npy", "No such file"]),
    ("input-is-directory", make_dir("adir"), K + ["adir"], "K.npy", ["adir", "directory"]),
    ("x2-column-mismatch", ridge_files, K + ["good.npy", "--x2", "x2cols.npy"],
     "K.npy", ["x2cols.npy", "2 columns", "3", "same number of features"]),
    ("unknown-kernel", good, K + ["good.npy", "--kernel", "sigmoid"],
     "K.npy", ["sigmoid", "unknown kernel", "rbf"]),
    ("degree-0", good, K + ["good.npy", "--kernel", "polynomial", "--degree", "0"],
     "K.npy", ["degree", "got 0"]),
    ("degree-65", good, K + ["good.npy", "--kernel", "polynomial", "--degree", "65"],
     "K.npy", ["degree", "65"]),
    ("gamma-negative", good, K + ["good.npy", "--kernel", "rbf", "--gamma", "-1"],
     "K.npy", ["gamma", "> 0", "-1"]),
    ("gamma-nan", good, K + ["good.npy", "--kernel", "rbf", "--gamma", "nan"],
     "K.npy", ["gamma", "nan"]),
    ("c-nan", good, K + ["good.npy", "--kernel", "polynomial", "--c", "nan"],
     "K.npy", ["--c", "nan", "not a number"]),
    ("order-3", good, K + ["good.npy", "--kernel", "arccos", "--order", "3"],
     "K.npy", ["order", "0, 1 or 2", "got 3"]),
    ("order-negative", good, K + ["good.npy", "--kernel", "arccos", "--order", "-1"],
     "K.npy", ["order", "-1"]),
    ("output-extension", good, K + ["good.npy"], "K.dat",
     ["K.dat", "unsupported output extension", ".npy"]),
    ("output-no-extension", good, K + ["good.npy"], "Kmatrix",
     ["Kmatrix", "unsupported output extension"]),
    ("output-dir-missing", good, K + ["good.npy"], "nodir/K.npy",
     ["nodir", "does not exist"]),
    ("dtype-unknown", good, K + ["good.npy", "--dtype", "float16"],
     "K.npy", ["--dtype", "float16", "float32"]),
    ("ridge-target-rows", ridge_files, ["ridge", "--train", "good.npy", "y5.npy", "--test", "good.npy"],
     "P.npy", ["y5.npy", "5 rows", "good.npy", "4"]),
    ("ridge-test-columns", ridge_files, ["ridge", "--train", "good.npy", "y4.npy", "--test", "x2cols.npy"],
     "P.npy", ["x2cols.npy", "columns"]),
    ("ridge-test-target-rows", ridge_files,
     ["ridge", "--train", "good.npy", "y4.npy", "--test", "good.npy", "--test-targets", "y5.npy"],
     "P.npy", ["y5.npy", "5 x 1", "4 x 1"]),
    ("ridge-lambda-negative", ridge_files,
     ["ridge", "--train", "good.npy", "y4.npy", "--test", "good.npy", "--lambda", "-1"],
     "P.npy", ["--lambda", ">= 0"]),
    ("ridge-bad-train-file", ridge_files,
     ["ridge", "--train", "good.npy", "nope.npy", "--test", "good.npy"],
     "P.npy", ["nope.npy", "No such file"]),
    ("ridge-kernel-param", ridge_files,
     ["ridge", "--kernel", "rbf", "--gamma", "-2", "--train", "good.npy", "y4.npy", "--test", "good.npy"],
     "P.npy", ["gamma", "> 0"]),
    ("features-unknown-map", good, ["features", "--map", "rff", "--x", "good.npy"],
     "F.npy", ["--map", "rff", "polynomial"]),
    ("features-negative-c", good, ["features", "--c", "-1", "--x", "good.npy"],
     "F.npy", ["c must be", ">= 0", "-1"]),
    ("features-degree-0", good, ["features", "--degree", "0", "--x", "good.npy"],
     "F.npy", ["degree", "got 0"]),
    ("features-bad-input", write_bytes("trunc.npy", truncated), ["features", "--x", "trunc.npy"],
     "F.npy", ["trunc.npy", "truncated"]),
]
IDS = [c[0] for c in CASES]


def _check_message(r, phrases):
    assert r.returncode == 2, f"exit {r.returncode}; stderr: {r.stderr!r}"
    assert r.stderr.startswith("ntkit: error: "), r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.endswith("\n"), f"one message line: {r.stderr!r}"
    for phrase in phrases:
        assert phrase in r.stderr, f"{phrase!r} not in {r.stderr!r}"
    assert r.stdout == ""


@pytest.mark.parametrize("name,build,args,output,phrases", CASES, ids=IDS)
def test_bad_input_exit_2_no_output(ntkit, tmp_path, name, build, args, output, phrases):
    build(tmp_path)
    before = set(p.name for p in tmp_path.iterdir())
    r = ntkit(*args, "-o", output)
    _check_message(r, phrases)
    assert not (tmp_path / output).exists()
    # No stray temporary file either (outputs are written via a temporary + rename).
    assert set(p.name for p in tmp_path.iterdir()) == before


PREEXISTING = [c for c in CASES if "/" not in c[3]]


@pytest.mark.parametrize("name,build,args,output,phrases", PREEXISTING, ids=[c[0] for c in PREEXISTING])
def test_bad_input_leaves_existing_output_untouched(ntkit, tmp_path, name, build, args, output, phrases):
    build(tmp_path)
    sentinel = b"previous contents \x00\x01\x02 must survive a failed run\n"
    (tmp_path / output).write_bytes(sentinel)
    r = ntkit(*args, "-o", output)
    assert r.returncode == 2, r.stderr
    assert (tmp_path / output).read_bytes() == sentinel


def test_preexisting_output_untouched_on_singular_ridge(ntkit, tmp_path):
    x = np.vstack([GOOD, GOOD[:1]])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(5.0))
    (tmp_path / "P.csv").write_text("old\n")
    r = ntkit("ridge", "--lambda", "0", "--train", "x.npy", "y.npy", "--test", "x.npy", "-o", "P.csv")
    assert r.returncode == 2
    assert "lambda > 0" in r.stderr
    assert (tmp_path / "P.csv").read_text() == "old\n"


def test_demo_bad_arguments(ntkit, tmp_path):
    r = ntkit("demo", "--out", "out", "--steps", "0")
    _check_message(r, ["--steps", ">= 1"])
    assert not (tmp_path / "out").exists()
    r = ntkit("demo", "--out", "out", "--record-every", "0")
    _check_message(r, ["--record-every"])
    r = ntkit("demo", "--out", "out", "--data", "missing.csv")
    _check_message(r, ["missing.csv", "No such file"])
    assert not (tmp_path / "out").exists()


# ---- Bugs and unhelpful messages found by this suite, fixed since: keep them fixed ----


def test_gamma_zero_rejected(ntkit, tmp_path):
    good(tmp_path)
    r = ntkit("kernel", "--x1", "good.npy", "--kernel", "rbf", "--gamma", "0", "-o", "K.npy")
    _check_message(r, ["gamma", "> 0"])
    assert not (tmp_path / "K.npy").exists()


def test_npy_extension_without_magic(ntkit, tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"NOTNUMPY" + b"\x00" * 100)
    r = ntkit("kernel", "--x1", "junk.npy", "-o", "K.npy")
    assert r.returncode == 2
    assert not (tmp_path / "K.npy").exists()
    assert "junk.npy" in r.stderr
    assert "magic" in r.stderr or "not a .npy" in r.stderr or "binary" in r.stderr


def test_cv_bad_fold_count_names_option(ntkit, tmp_path):
    ridge_files(tmp_path)
    r = ntkit("ridge", "--train", "good.npy", "y4.npy", "--test", "good.npy", "--cv", "1", "-o", "P.npy")
    assert r.returncode == 2
    assert not (tmp_path / "P.npy").exists()
    assert "--cv" in r.stderr


def test_cv_bad_fold_count_exit_2(ntkit, tmp_path):
    ridge_files(tmp_path)
    for folds in ["1", "50"]:
        r = ntkit("ridge", "--train", "good.npy", "y4.npy", "--test", "good.npy", "--cv", folds,
                  "-o", "P.npy")
        _check_message(r, ["folds", "[2,"])
        assert not (tmp_path / "P.npy").exists()
