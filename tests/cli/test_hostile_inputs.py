"""Hostile inputs (issue 13): each case must end with exit status 2, exactly one stderr line
starting "ntkit: error:", no crash, and no changed, new or leftover file in the working folder.

Every case here failed before the fix it tests: a crash (deep nesting), minutes of work or
gigabytes of memory from a few bytes of text, or a silently wrong reading of the input.
"""
import os

import numpy as np
import pytest

X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
ARCH = "Dense(8), Relu, Dense(1)"


def nested(open_, inner, close, depth):
    return open_ * depth + inner + close * depth


CASES = [
    # Deep nesting: the parser used to recurse until the stack overflowed (exit 139). (One
    # argument holds at most 128 KiB on Linux, hence 4,000 Residuals rather than 10,000.)
    ("polynomial_brackets", ["kernel", "--arch", "Dense(4), Polynomial(coef=" + nested("[", "1", "]", 30000) + "), Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "nested deeper than 64"),
    ("nested_parallel", ["kernel", "--arch", "Dense(4), FanOut(2), " + nested("parallel(", "Identity", ")", 12000), "--x1", "x.npy", "-o", "K.npy"], "nested deeper than 64"),
    ("nested_serial", ["kernel", "--arch", "Dense(4), " + nested("serial(", "Relu", ")", 15000) + ", Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "nested deeper than 64"),
    ("nested_residual_kernel", ["kernel", "--arch", "Dense(4), " + nested("Residual(Relu, Dense(4), ", "Identity", ")", 4000), "--x1", "x.npy", "-o", "K.npy"], "nested deeper than 64"),
    ("nested_residual_empirical", ["empirical", "--arch", "Dense(4), " + nested("Residual(Relu, Dense(4), ", "Identity", ")", 4000), "--x1", "x.npy", "-o", "K.npy"], "nested deeper than 64"),
    # Unbounded work from tiny text.
    ("huge_rectified_monomial", ["kernel", "--arch", "Dense(4), RectifiedMonomial(2147483647), Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "degree must be an integer from 0 to 64"),
    ("huge_fan_out", ["kernel", "--arch", "Dense(4), FanOut(2147483647), FanInSum, Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "num must be an integer from 1 to 64"),
    ("huge_polynomial", ["kernel", "--arch", "Dense(4), Polynomial([" + ", ".join(["0.5"] * 20000) + "]), Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "at most 65 coefficients"),
    ("non_ascii_name", ["kernel", "--arch", "Dense(4), Relü, Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "unexpected character 'ü' at column 14"),
    ("invalid_utf8_name", ["kernel", "--arch", b"Dense(4), Rel\xff, Dense(1)".decode("utf-8", "surrogateescape"), "--x1", "x.npy", "-o", "K.npy"], "unexpected character '\\xff'"),
    ("monomial_1000", ["kernel", "--arch", "Dense(4), Monomial(1000), Dense(1)", "--x1", "x.npy", "-o", "K.npy"], "from 0 to 64"),
    # Bad input that used to be accepted silently.
    ("empty_arch", ["kernel", "--arch", "", "--x1", "x.npy", "-o", "K.npy"], "--arch: the network is empty"),
    ("blank_arch", ["kernel", "--arch", "  \n", "--x1", "x.npy", "-o", "K.npy"], "--arch: the network is empty"),
    ("empty_arch_classify", ["classify", "--arch", "", "--train", "x.npy", "y.npy"], "--arch: the network is empty"),
    ("negative_seed", ["empirical", "--arch", ARCH, "--x1", "x.npy", "-o", "K.npy", "--seed", "-1"], "--seed: '-1' is not a non-negative whole number"),
    ("seed_beyond_64_bits", ["empirical", "--arch", ARCH, "--x1", "x.npy", "-o", "K.npy", "--seed", "18446744073709551616"], "--seed: '18446744073709551616' is too large"),
    ("hex_seed", ["empirical", "--arch", ARCH, "--x1", "x.npy", "-o", "K.npy", "--seed", "0x10"], "--seed: '0x10'"),
    ("panel_rows_overflow", ["kernel", "--arch", ARCH, "--x1", "x.npy", "-o", "K.npy", "--panel-rows", "99999999999999999999"], "--panel-rows: '99999999999999999999' is out of range"),
    ("hex_float", ["kernel", "--kernel", "rbf", "--gamma", "0x1p3", "--x1", "x.npy", "-o", "K.npy"], "--gamma: '0x1p3' is not a number"),
    ("float_overflow", ["kernel", "--kernel", "rbf", "--gamma", "1e400", "--x1", "x.npy", "-o", "K.npy"], "beyond the range of double precision"),
    ("two_layer_width_zero", ["two-layer", "ntk", "--x1", "x.npy", "--width", "0", "-o", "K.npy"], "--width: Value 0 not in range"),
    ("time_hex", ["two-layer", "predict", "--train", "x.npy", "y.npy", "--test", "x.npy", "--time", "0x10", "--out", "pred"], "--time: '0x10' is not a number"),
    ("time_overflow", ["two-layer", "predict", "--train", "x.npy", "y.npy", "--test", "x.npy", "--time", "1e400", "--out", "pred"], "beyond the range of double precision (±1.8e308); give e.g. 0,1,10,inf"),
    # The divergence error used to be glued to the end of the progress line.
    ("two_layer_train_diverges", ["two-layer", "train", "--train", "x.npy", "y.npy", "--width", "16", "--steps", "50", "--lr", "1e6", "--out", "run"], "the loss diverged"),
    # A damaged first CSV row used to be dropped as a header.
    ("csv_empty_field_first_row", ["kernel", "--kernel", "linear", "--x1", "bad1.csv", "-o", "K.npy"], "line 1, column 2: empty field"),
    ("csv_word_in_first_row", ["kernel", "--kernel", "linear", "--x1", "bad2.csv", "-o", "K.npy"], "line 1, column 3: 'x' is not a number"),
    ("csv_quoted_numbers", ["kernel", "--kernel", "linear", "--x1", "bad3.csv", "-o", "K.npy"], "line 1, column 1"),
]


def make_inputs(folder):
    np.save(folder / "x.npy", X)
    np.save(folder / "y.npy", np.array([0.0, 1.0, 0.0, 1.0]))
    (folder / "bad1.csv").write_text("1,,3\n4,5,6\n")
    (folder / "bad2.csv").write_text("1,2,x\n4,5,6\n")
    (folder / "bad3.csv").write_text('"1","2","3"\n4,5,6\n')
    # Outputs from an earlier run, which a failed run must leave as they were.
    np.save(folder / "K.npy", np.eye(2))
    (folder / "pred").mkdir()
    (folder / "pred" / "summary.json").write_text("{}\n")


def snapshot(folder):
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.stat(path)
            content = open(path, "rb").read() if os.path.isfile(path) else None
            state[os.path.relpath(path, folder)] = (info.st_mtime_ns, content)
    return state


@pytest.mark.parametrize("name,args,phrase", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_clean_error(ntkit, tmp_path, name, args, phrase):
    make_inputs(tmp_path)
    before = snapshot(tmp_path)
    result = ntkit(*args, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    # Progress lines end in '\r' updates; the message must start a line of its own.
    # (splitlines also splits at '\r', so each redraw is a "line" of its own.)
    lines = [line for line in result.stderr.splitlines() if line and not line.startswith("ntkit two-layer train: step")]
    # One message; a network's parse error adds the excerpt and a caret under it, each line
    # short however long the text was.
    assert lines and lines[0].startswith("ntkit: error: "), result.stderr[-2000:]
    assert sum(line.startswith("ntkit:") for line in lines) == 1, result.stderr[-2000:]
    assert len(lines) in (1, 3) and all(len(line) < 400 for line in lines), result.stderr[-2000:]
    assert phrase in lines[0], lines[0][:2000]
    assert snapshot(tmp_path) == before
