"""A command's outputs appear together or not at all (issue 13, finding 2).

Every case runs a command that fails on one of its outputs (a directory stands where a file is
to go, or an option is bad) in a directory holding the outputs of an earlier run, and checks:
exit status 2, one stderr line starting "ntkit: error:", no file changed (bytes and mtime), and
no new file, directory or leftover temporary (".NAME.tmp.XXXXXX"). The signal cases interrupt
`ntkit kernel` while it writes its memory-mapped output and check that the temporary file is
removed, the old output untouched, and the exit status 128 + signal.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ARCH = "Dense(16), Relu, Dense(1)"
OLD_MTIME = 1_000_000_000  # 2001: a rewritten file gets the current time


def snapshot(root: Path):
    """Every file and directory under root (hidden ones included): bytes and mtime of files."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            state[str(p.relative_to(root)) + "/"] = None
        for f in filenames:
            p = Path(dirpath, f)
            state[str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return state


def age(root: Path):
    """Sets every file's mtime far in the past, so a rewrite shows even within one second."""
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            os.utime(Path(dirpath, f), (OLD_MTIME, OLD_MTIME))


def assert_failed_cleanly(result, root: Path, before, mentions=None):
    assert result.returncode == 2, f"exit {result.returncode}; stderr: {result.stderr!r}"
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("ntkit: error:")]
    assert len(errors) == 1, f"one error line expected: {result.stderr!r}"
    assert lines[-1] == errors[0], f"the error is the last line: {result.stderr!r}"
    if mentions is not None:
        assert mentions in errors[0], f"{mentions!r} not in {errors[0]!r}"
    after = snapshot(root)
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    assert not new, f"new or leftover files: {new}"
    assert not gone, f"files removed: {gone}"
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"files changed: {changed}"


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 3))
    np.save(tmp_path / "x.npy", x)
    x[5] = x[4]
    np.save(tmp_path / "xdup.npy", x)
    np.save(tmp_path / "xt.npy", rng.standard_normal((5, 3)))
    np.save(tmp_path / "y.npy", rng.standard_normal((12, 1)))
    np.save(tmp_path / "labels.npy", np.arange(12) % 2)
    return tmp_path


def replace_with_directory(path: Path):
    path.unlink()
    path.mkdir()
    (path / "keep.txt").write_text("a directory where an output file goes\n")


# ---- two files of one command: the second cannot be written ------------------------------------


@pytest.mark.parametrize(
    "extra, ext",
    [([], ".npy"), ([], ".csv"), (["--diagonal"], ".npy"), (["--diagonal"], ".csv")],
    ids=["npy", "csv", "diagonal-npy", "diagonal-csv"],
)
def test_kernel_get_both_second_file_fails(ntkit, ntkit_ok, data, extra, ext):
    args = ["kernel", "--x1", "x.npy", "--arch", ARCH, "--get", "both", "-o", f"K{ext}", "-q", *extra]
    ntkit_ok(*args)
    replace_with_directory(data / f"K.ntk{ext}")
    age(data)
    before = snapshot(data)
    # A different kernel, so that a replaced K.nngp file would differ in content too.
    args[args.index(ARCH)] = "Dense(16, W_std=2.0), Relu, Dense(1)"
    assert_failed_cleanly(ntkit(*args), data, before, mentions=f"K.ntk{ext}")


@pytest.mark.parametrize("ext", [".npy", ".csv"])
def test_empirical_get_both_second_file_fails(ntkit, ntkit_ok, data, ext):
    args = ["empirical", "--x1", "x.npy", "--arch", ARCH, "--get", "both", "-o", f"K{ext}"]
    ntkit_ok(*args)
    replace_with_directory(data / f"K.ntk{ext}")
    age(data)
    before = snapshot(data)
    assert_failed_cleanly(ntkit(*args, "--seed", "7"), data, before, mentions=f"K.ntk{ext}")


def test_empirical_params_out_is_a_directory(ntkit, ntkit_ok, data):
    ntkit_ok("empirical", "--x1", "x.npy", "--arch", ARCH, "-o", "K.npy", "--params-out", "P.npy")
    replace_with_directory(data / "P.npy")
    age(data)
    before = snapshot(data)
    r = ntkit("empirical", "--x1", "x.npy", "--arch", ARCH, "-o", "K.npy", "--params-out", "P.npy", "--seed", "7")
    assert_failed_cleanly(r, data, before, mentions="P.npy")


# ---- commands writing a directory of files: one file cannot be written -----------------------------

# Each command: its arguments, a change that makes the run's outputs differ, and the files it
# writes first and last (before the fix, a failure on the last one left the others replaced).
DIRECTORY_COMMANDS = {
    "train": (
        ["train", "--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt.npy", "--lr", "0.1", "--steps", "3",
         "--out", "out"],
        ["--seed", "7"],
        ("steps.npy", "summary.json"),
    ),
    "two-layer-train": (
        ["two-layer", "train", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--width", "8", "--steps", "3",
         "--out", "out"],
        ["--seed", "7"],
        ("steps.npy", "summary.json"),
    ),
    "classify": (
        ["classify", "--train", "x.npy", "labels.npy", "--test", "xt.npy", "--kernel", "rbf", "--cv", "2",
         "-o", "out"],
        ["--seed", "7"],
        ("predictions.npy", "report.json"),
    ),
    "predict": (
        ["predict", "--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt.npy", "--diag-reg", "1e-3",
         "-o", "out"],
        ["--time", "0,2,inf"],
        ("train.npy", "summary.json"),
    ),
    "two-layer-predict": (
        ["two-layer", "predict", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--diag-reg", "1e-3",
         "--out", "out"],
        ["--time", "0,2,inf"],
        ("train.npy", "times.npy"),
    ),
}


@pytest.mark.parametrize("which", ["first", "last"])
@pytest.mark.parametrize("command", sorted(DIRECTORY_COMMANDS))
def test_directory_outputs_all_or_nothing(ntkit, ntkit_ok, data, command, which):
    args, change, (first, last) = DIRECTORY_COMMANDS[command]
    ntkit_ok(*args)
    name = first if which == "first" else last
    replace_with_directory(data / "out" / name)
    age(data)
    before = snapshot(data)
    assert_failed_cleanly(ntkit(*args, *change), data, before, mentions=name)


@pytest.mark.parametrize("command", sorted(DIRECTORY_COMMANDS))
def test_output_directory_is_a_file(ntkit, data, command):
    args = DIRECTORY_COMMANDS[command][0]
    (data / "out").write_text("a file where the output directory goes\n")
    age(data)
    before = snapshot(data)
    assert_failed_cleanly(ntkit(*args), data, before)


# ---- bad options: no directory is created ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["two-layer", "train", "--train", "x.npy", "y.npy", "--lr", "-1", "--steps", "3", "--out", "new/out"],
        ["two-layer", "predict", "--train", "x.npy", "y.npy", "--test", "xt.npy", "--diag-reg", "-1",
         "--out", "new/out"],
        ["train", "--arch", ARCH, "--train", "x.npy", "y.npy", "--lr", "-1", "--steps", "3", "--out", "new/out"],
        ["predict", "--arch", ARCH, "--train", "x.npy", "y.npy", "--test", "xt.npy", "--diag-reg", "-1",
         "-o", "new/out"],
        ["classify", "--train", "x.npy", "labels.npy", "--kernel", "rbf", "--cv", "1", "-o", "new/out"],
        # Fails in the computation (duplicated inputs: a singular kernel at t = inf): still no directory.
        ["two-layer", "predict", "--train", "xdup.npy", "y.npy", "--test", "xt.npy", "--time", "inf",
         "--out", "new/out"],
    ],
    ids=["two-layer-train-lr", "two-layer-predict-diag-reg", "train-lr", "predict-diag-reg", "classify-cv",
         "two-layer-predict-singular"],
)
def test_bad_option_creates_no_directory(ntkit, data, args):
    age(data)
    before = snapshot(data)
    assert_failed_cleanly(ntkit(*args), data, before)


# ---- signals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_removes_temporary_files(ntkit_bin, tmp_path, sig):
    # Tanh's kernel needs quadrature per entry: this run takes many seconds, so it is still
    # writing its memory-mapped output (a hidden temporary file) when the signal comes.
    np.save(tmp_path / "x.npy", np.random.default_rng(1).standard_normal((2000, 50)))
    (tmp_path / "K.npy").write_bytes(b"the old kernel\n")
    age(tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [ntkit_bin, "kernel", "--x1", "x.npy", "--arch", "Dense(512), Tanh, Dense(1)", "-o", "K.npy", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob(".K.npy.tmp.*")):
            assert proc.poll() is None, f"ntkit ended before writing: {proc.communicate()}"
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.01)
        time.sleep(0.2)  # well inside the computation
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, f"exit {proc.returncode}; stderr: {err!r}"
    assert err.startswith("ntkit: error:") and err.count("\n") == 1, err
    assert "interrupted" in err and sig.name in err, err
    assert snapshot(tmp_path) == before
