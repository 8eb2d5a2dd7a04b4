"""The distributed mode of the command line (issue 17): `mpirun -np P ntkit ...`.

Under mpirun the tool runs on a 2-D block-cyclic process grid (ScaLAPACK), for any P >= 1. The
contract tested here: `kernel --arch`, `empirical` and `predict --objective mse` write the same
files as the single-process run, to 1e-12 relative to the largest entry; everything else is a
clear error; and a failure on any rank stops every rank quickly, is printed once by rank 0
(naming the rank that failed), and leaves nothing in the output directory.

Small odd sizes (n = 23, 30) with small --block-size (1, 3, 4, 5, 7) give many blocks and
ragged edges on every grid shape of P = 1..4. Each rank runs one thread (OMP_NUM_THREADS=1)
so that four ranks on a two-core machine stay quick; one test keeps the default threads.

mpirun's own flags: --allow-run-as-root (the tests may run as root), --oversubscribe (P = 4
on two cores), --bind-to none (ranks sharing cores must not be pinned to one), and in the
failure tests --tag-output, whose "[job,rank]<stderr>:" prefix shows which rank printed what.
"""
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ntkit_path

MPIRUN = shutil.which("mpirun")
MPI_FLAGS = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TIMEOUT = 120  # seconds; a failing run must end "within seconds", so this only catches hangs

ARCH = "Dense(256, W_std=1.5, b_std=0.05), Relu, Dense(1)"
DEEP = "Dense(64, W_std=1.5, b_std=0.1), Relu, Dense(64, W_std=1.3, b_std=0.2), Erf, Dense(1)"
FINITE = "Dense(32, W_std=1.5, b_std=0.1), Relu, Dense(1)"
CONV = "Conv(8, (3, 3), padding='SAME'), Relu, Flatten(), Dense(1)"


def _mpi_line():
    """The "MPI:" line of `ntkit info`: None when the binary is missing (the ntkit_bin fixture
    then fails every test), "" when there is no such line."""
    path = ntkit_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None
    info = subprocess.run([path, "info"], capture_output=True, text=True, timeout=60).stdout
    return next((line for line in info.splitlines() if line.startswith("MPI:")), "")


if MPIRUN is None:
    pytest.skip("mpirun is not on PATH: the distributed mode cannot be run", allow_module_level=True)
_LINE = _mpi_line()
if _LINE is not None and not re.match(r"MPI:\s*built with", _LINE):
    pytest.skip(f"ntkit is built without MPI (`ntkit info` says {_LINE or 'nothing about MPI'!r})",
                allow_module_level=True)


# ---- running mpirun ---------------------------------------------------------------------------


def _session_members(sid):
    """Pids of the processes in session sid (mpirun puts each rank in a process group of its
    own, so killing mpirun's group would leave the ranks running)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == sid:  # fields after "(comm)": state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


def _run(cmd, cwd, env_extra):
    """Runs cmd in a session of its own; on a hang terminates mpirun (which stops its ranks),
    then kills whatever is left in the session, and fails the test."""
    env = dict(os.environ, **env_extra)
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pid in _session_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = "", "(output lost: a rank kept the pipes open)"
        pytest.fail(f"hung for {TIMEOUT} s: {' '.join(cmd)}\nstdout: {out}\nstderr: {err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture
def mpi(ntkit_bin, tmp_path):
    """mpi(P, *args): `mpirun -np P ntkit args` in tmp_path. mpi(None, [args0], [args1], ...):
    MPMD, one rank per argument list (rank r runs args_r). tag=True adds --tag-output."""

    def run(nprocs, *args, tag=False, env=ONE_THREAD):
        cmd = [MPIRUN, *MPI_FLAGS, *(["--tag-output"] if tag else [])]
        if nprocs is None:
            for i, rank_args in enumerate(args):
                cmd += ([":"] if i else []) + ["-np", "1", ntkit_bin, *map(str, rank_args)]
        else:
            cmd += ["-np", str(nprocs), ntkit_bin, *map(str, args)]
        return _run(cmd, tmp_path, env)

    return run


@pytest.fixture
def mpi_ok(mpi):
    """Like ``mpi`` but asserts exit status 0."""

    def run(nprocs, *args, **kwargs):
        result = mpi(nprocs, *args, **kwargs)
        assert result.returncode == 0, (
            f"mpirun -np {nprocs} ntkit {' '.join(map(str, args))} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    return run


# ---- checks -----------------------------------------------------------------------------------


def listing(root: Path):
    """Every path under root, hidden ones and directories included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_same(actual, ref, what, floor=0.0):
    """Equal shape and dtype, and values within 1e-12 of max(floor, max |ref|) (the contract)."""
    assert actual.shape == ref.shape, f"{what}: shape {actual.shape}, single-process {ref.shape}"
    assert actual.dtype == ref.dtype, f"{what}: dtype {actual.dtype}, single-process {ref.dtype}"
    scale = max(floor, np.abs(ref[np.isfinite(ref)]).max(initial=0.0))
    np.testing.assert_allclose(actual, ref, rtol=0, atol=1e-12 * scale, err_msg=what)


def assert_same_files(mpi_dir: Path, ref_dir: Path, floor=0.0):
    """The same files in both directories (nothing left over); every .npy equal (assert_same);
    summary.json: the same keys but for an extra "mpi", equal values (floats to 1e-12)."""
    names = sorted(p.name for p in ref_dir.iterdir())
    assert sorted(p.name for p in mpi_dir.iterdir()) == names, f"{listing(mpi_dir)} vs {names}"
    for name in names:
        if name.endswith(".npy"):
            assert_same(np.load(mpi_dir / name), np.load(ref_dir / name), name, floor)
    if "summary.json" in names:
        got = json.loads((mpi_dir / "summary.json").read_text())
        ref = json.loads((ref_dir / "summary.json").read_text())
        got.pop("mpi", None)
        assert sorted(got) == sorted(ref), f"summary.json keys {sorted(got)} vs {sorted(ref)}"
        for key, value in ref.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=0), key
            else:
                assert got[key] == value, key


# --tag-output's prefix; mpirun writes one for every chunk a rank writes, so a line written in
# pieces has it in the middle too: the first names the rank, the others are removed.
TAG = re.compile(r"\[\d+,(\d+)\]<(?:stdout|stderr)>:")


def the_error(result, root: Path, before):
    """For a run under --tag-output that must fail: non-zero exit, exactly one "ntkit: error:"
    line in all the output, printed by rank 0, and no file added or removed under root.
    Returns that line."""
    assert result.returncode != 0, f"exit 0; stdout: {result.stdout}\nstderr: {result.stderr}"
    errors = []
    for line in (result.stderr + "\n" + result.stdout).splitlines():
        match = TAG.match(line)
        rank, text = (match.group(1) if match else None), TAG.sub("", line)
        if "ntkit: error:" in text:
            errors.append((rank, text))
    assert len(errors) == 1, f"one error line expected: {errors}\nstderr: {result.stderr}"
    rank, text = errors[0]
    assert rank == "0", f"the error is printed by rank 0, not rank {rank}: {result.stderr}"
    assert text.startswith("ntkit: error: "), text
    assert listing(root) == before, f"files appeared or vanished: {sorted(set(listing(root)) ^ set(before))}"
    return text


# ---- data -------------------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path):
    """x: 23 x 5 and x2: 30 x 5 for kernels; a regression problem of 23 training points with 2
    outputs and 7 test points; images 12 x 6 x 6 x 1 and 7 more. Outputs go to ref/ and mpi/."""
    rng = np.random.default_rng(17)
    np.save(tmp_path / "x.npy", rng.standard_normal((23, 5)))
    np.save(tmp_path / "x2.npy", rng.standard_normal((30, 5)))
    np.save(tmp_path / "xr.npy", rng.standard_normal((23, 3)))
    np.save(tmp_path / "xt.npy", rng.standard_normal((7, 3)))
    np.save(tmp_path / "y.npy", rng.standard_normal((23, 2)))
    np.save(tmp_path / "img.npy", rng.standard_normal((12, 6, 6, 1)))
    np.save(tmp_path / "img2.npy", rng.standard_normal((7, 6, 6, 1)))
    (tmp_path / "ref").mkdir()
    (tmp_path / "mpi").mkdir()
    return tmp_path


@pytest.fixture
def kernel_dir(ntkit_ok, data):
    """The --kernels layout of the regression problem, written by the single-process tool."""
    (data / "K").mkdir()
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xr.npy", "--get", "both", "-o", "K/train.npy")
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--x2", "xr.npy", "--get", "both", "-o", "K/test.npy")
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "xt.npy", "--get", "both", "-o", "K/test_test.npy")
    return data / "K"


# ---- kernel --arch ----------------------------------------------------------------------------

KERNEL_CASES = {  # --x2 (None: K(X, X)), --dtype, --block-size
    "sym-float64": (None, "float64", 4),
    "cross-float64": ("x2.npy", "float64", 5),
    "sym-float32": (None, "float32", 7),
    "cross-float32": ("x2.npy", "float32", 3),
}


@pytest.mark.parametrize("case", list(KERNEL_CASES))
@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_kernel_equals_single_process(ntkit_ok, mpi_ok, data, nprocs, case):
    """`kernel --arch --get both` on P ranks writes OUT.nngp.npy and OUT.ntk.npy equal to the
    single-process ones, for K(X, X) and K(X1, X2), float64 and float32, with blocks of 3..7
    over 23 x 23 and 23 x 30 (ragged last blocks), and leaves no other file."""
    x2, dtype, nb = KERNEL_CASES[case]
    args = ["kernel", "--arch", DEEP, "--x1", "x.npy", *(["--x2", x2] if x2 else []), "--get", "both",
            "--dtype", dtype]
    ntkit_ok(*args, "-o", "ref/k.npy")
    mpi_ok(nprocs, *args, "--block-size", nb, "-o", "mpi/k.npy")
    assert listing(data / "mpi") == ["k.nngp.npy", "k.ntk.npy"]
    for part in ("nngp", "ntk"):
        got, ref = np.load(data / f"mpi/k.{part}.npy"), np.load(data / f"ref/k.{part}.npy")
        if dtype == "float64":
            assert_same(got, ref, part)
        else:
            # float32 Gram matrices are summed in another order on the process grid: equal to a
            # few float32 roundings (2^-23 ≈ 1.2e-7) of the largest entry, not to 1e-12.
            assert got.dtype == ref.dtype == np.float32 and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * np.abs(ref).max(), err_msg=part)


@pytest.mark.parametrize("nprocs, nb, get", [(4, None, "ntk"), (3, 1, "nngp"), (2, 23, "ntk")],
                         ids=["default-nb-idle-ranks", "nb1-nngp", "nb-n"])
def test_kernel_block_size_extremes(ntkit_ok, mpi_ok, data, nprocs, nb, get):
    """The default block size (64 > n = 23: one block, three of four ranks own nothing),
    blocks of one row/column, and one block exactly n wide: still the single-process kernel
    (--get ntk or nngp alone: one file, OUT itself)."""
    ntkit_ok("kernel", "--arch", DEEP, "--x1", "x.npy", "--get", get, "-o", "ref/k.npy")
    mpi_ok(nprocs, "kernel", "--arch", DEEP, "--x1", "x.npy", "--get", get,
           *(["--block-size", nb] if nb else []), "-o", "mpi/k.npy")
    assert listing(data / "mpi") == ["k.npy"]
    assert_same(np.load(data / "mpi/k.npy"), np.load(data / "ref/k.npy"), get)


def test_kernel_with_default_threads(ntkit_ok, mpi_ok, data):
    """Two ranks with the default OpenMP/BLAS thread counts (not pinned to one): the same kernel."""
    ntkit_ok("kernel", "--arch", DEEP, "--x1", "x.npy", "--x2", "x2.npy", "-o", "ref/k.npy")
    mpi_ok(2, "kernel", "--arch", DEEP, "--x1", "x.npy", "--x2", "x2.npy", "--block-size", 4, "-o", "mpi/k.npy",
           env={})
    assert_same(np.load(data / "mpi/k.npy"), np.load(data / "ref/k.npy"), "ntk")


@pytest.mark.parametrize("nprocs, kernel, cross", [(2, "rbf", False), (3, "arccos", True)],
                         ids=["P2-rbf-sym", "P3-arccos-cross"])
def test_classic_kernel_equals_single_process(ntkit_ok, mpi_ok, data, nprocs, kernel, cross):
    """`kernel --kernel K` without --arch is distributed too (the implementation chose this over
    the first draft's "an error under mpirun"): the same matrix as one process."""
    args = ["kernel", "--kernel", kernel, "--x1", "x.npy", *(["--x2", "x2.npy"] if cross else [])]
    ntkit_ok(*args, "-o", "ref/k.npy")
    mpi_ok(nprocs, *args, "--block-size", 4, "-o", "mpi/k.npy")
    assert_same_files(data / "mpi", data / "ref")


@pytest.mark.parametrize("nprocs, cross", [(2, False), (3, True)], ids=["P2-sym", "P3-cross"])
def test_kernel_of_a_conv_network_on_images(ntkit_ok, mpi_ok, data, nprocs, cross):
    """A convolutional network on (N, 6, 6, 1) images: the distributed NNGP/NTK equal the
    single-process ones."""
    args = ["kernel", "--arch", CONV, "--x1", "img.npy", *(["--x2", "img2.npy"] if cross else []), "--get", "both"]
    ntkit_ok(*args, "-o", "ref/k.npy")
    mpi_ok(nprocs, *args, "--block-size", 5, "-o", "mpi/k.npy")
    assert_same_files(data / "mpi", data / "ref")


# ---- empirical --------------------------------------------------------------------------------


@pytest.mark.parametrize("cross", [False, True], ids=["sym", "cross"])
@pytest.mark.parametrize("nprocs", [2, 3])
def test_empirical_equals_single_process(ntkit_ok, mpi_ok, data, nprocs, cross):
    """`empirical` (two sampled networks, a fixed seed, --get both) on P ranks: the same
    files as the single-process run."""
    args = ["empirical", "--arch", FINITE, "--x1", "x.npy", *(["--x2", "x2.npy"] if cross else []),
            "--samples", 2, "--seed", 11, "--get", "both"]
    ntkit_ok(*args, "-o", "ref/e.npy")
    mpi_ok(nprocs, *args, "--block-size", 4, "-o", "mpi/e.npy")
    assert_same_files(data / "mpi", data / "ref")


# ---- predict ----------------------------------------------------------------------------------

REGRESSION = ["--train", "xr.npy", "y.npy", "--test", "xt.npy"]


def predict_both(ntkit_ok, mpi_ok, data, nprocs, args, nb=5):
    """`predict ARGS` single-process into ref/P and on P ranks into mpi/P; compares them.
    --block-size 5 over 23 training and 7 test points: ragged blocks everywhere (nb=None:
    the default block size)."""
    ntkit_ok("predict", *args, "-o", "ref/P")
    mpi_ok(nprocs, "predict", *args, *(["--block-size", nb] if nb else []), "-o", "mpi/P")
    assert listing(data / "mpi") == ["P"] + [f"P/{name}" for name in sorted(os.listdir(data / "ref/P"))]
    assert_same_files(data / "mpi/P", data / "ref/P", floor=1.0)


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_predict_gradient_flow(ntkit_ok, mpi_ok, data, nprocs):
    """Gradient flow from --arch at t = 0, 0.5, 10 and inf: train.npy, test.npy, times.npy and
    summary.json (with its largest stable learning rate) as in the single-process run."""
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--arch", ARCH, *REGRESSION, "--time", "0,0.5,10,inf"])


def test_predict_default_block_size_leaves_ranks_idle(ntkit_ok, mpi_ok, data):
    """The default --block-size (64) over 23 points on four ranks: rank 0 holds every block and
    the others none; the ensemble at finite times and inf is still the single-process one."""
    predict_both(ntkit_ok, mpi_ok, data, 4, ["--arch", ARCH, *REGRESSION, "--ensemble", "--time", "0,1,inf"], nb=None)


@pytest.mark.parametrize("nprocs", [1, 2])
def test_predict_large_blocks_on_150_points(ntkit_ok, mpi_ok, data, nprocs):
    """150 training points in blocks of 128 (one full block and a ragged one of 22): the
    eigendecomposition at a finite time (ScaLAPACK pdsyevd, whose workspace query falls short of
    what its PDORMTR and PDLASRT calls need when the block is large for the local part) gives
    the single-process flow, neither wrong numbers (P = 1) nor a hang (P = 2)."""
    rng = np.random.default_rng(8)
    np.save(data / "x150.npy", rng.standard_normal((150, 3)))
    np.save(data / "y150.npy", rng.standard_normal((150, 1)))
    # --diag-reg 0.1: this kernel's condition number is 2.6e4 unregularized (numpy.linalg.eigvalsh
    # of the one-process K), and t = inf amplifies the rounding of two different (equally right)
    # factorizations by about that: 1.02e-12 apart on an AVX2 (x86-64-v3) build. Regularized it
    # is 407, so agreement to 1e-12 is what correct code gives on either CPU family.
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--arch", ARCH, "--train", "x150.npy", "y150.npy", "--test",
                                                   "xt.npy", "--time", "1,inf", "--diag-reg", "0.1"], nb=128)


def test_fewer_points_than_ranks(ntkit_ok, mpi_ok, data):
    """Four ranks in blocks of one for a 1 x 1 kernel and a 2-point training set (with one test
    point): most ranks hold nothing, the outputs are still the single-process ones."""
    rng = np.random.default_rng(9)
    np.save(data / "x1.npy", rng.standard_normal((1, 3)))
    np.save(data / "x2p.npy", rng.standard_normal((2, 3)))
    np.save(data / "y2p.npy", rng.standard_normal((2, 2)))
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "x1.npy", "-o", "ref/k.npy")
    mpi_ok(4, "kernel", "--arch", ARCH, "--x1", "x1.npy", "--block-size", 1, "-o", "mpi/k.npy")
    assert_same(np.load(data / "mpi/k.npy"), np.load(data / "ref/k.npy"), "1 x 1 kernel")
    (data / "mpi/k.npy").unlink()
    predict_both(ntkit_ok, mpi_ok, data, 4, ["--arch", ARCH, "--train", "x2p.npy", "y2p.npy", "--test", "x1.npy",
                                              "--ensemble", "--time", "0,1,inf"], nb=1)


@pytest.mark.parametrize("nprocs, momentum, loss", [(2, 0.0, "sum"), (3, 0.8, "mean")])
def test_predict_gradient_descent_and_momentum(ntkit_ok, mpi_ok, data, nprocs, momentum, loss):
    """--lr (at half the largest stable rate the single-process run reports), with and without
    --momentum, with --loss sum and mean: the same steps 0, 5, 40."""
    ntkit_ok("predict", "--arch", ARCH, *REGRESSION, "--loss", loss, "--time", "0", "-o", "rate")
    lr = 0.5 * json.loads((data / "rate/summary.json").read_text())["max_stable_learning_rate"]
    shutil.rmtree(data / "rate")
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--arch", ARCH, *REGRESSION, "--loss", loss, "--lr", lr,
                                                   "--momentum", momentum, "--time", "0,5,40"])


@pytest.mark.parametrize("times", ["0,1,inf", "inf"], ids=["finite-and-inf", "inf-only"])
@pytest.mark.parametrize("get", ["ntk", "nngp"])
@pytest.mark.parametrize("nprocs", [2, 3])
def test_predict_ensemble(ntkit_ok, mpi_ok, data, nprocs, get, times):
    """--ensemble: means and covariances (train_cov.npy, test_cov.npy) of the NTK and NNGP
    ensembles, through the eigenbasis (finite times) and through the one-Cholesky posterior
    (--time inf alone)."""
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--arch", ARCH, *REGRESSION, "--get", get, "--ensemble",
                                                   "--time", times])


@pytest.mark.parametrize("nprocs, reg", [(2, []), (3, ["--diag-reg", "0.1"])], ids=["P2", "P3-diag-reg"])
def test_predict_ntkgp(ntkit_ok, mpi_ok, data, nprocs, reg):
    """--get ntkgp --ensemble --time inf (the NTK-GP posterior), with and without --diag-reg."""
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--arch", ARCH, *REGRESSION, "--get", "ntkgp", "--ensemble",
                                                   "--time", "inf", *reg])


KERNELS_CASES = {
    "ntk": ["--time", "0,1,10,inf"],
    "nngp-ensemble-diag-reg": ["--get", "nngp", "--ensemble", "--diag-reg", "1e-3", "--time", "0,1,inf"],
    "ntk-diag-reg-absolute": ["--diag-reg", "1e-2", "--diag-reg-absolute", "--time", "2,inf"],
}


@pytest.mark.parametrize("case", list(KERNELS_CASES))
@pytest.mark.parametrize("nprocs", [2, 3])
def test_predict_from_kernel_directory(ntkit_ok, mpi_ok, data, kernel_dir, nprocs, case):
    """--kernels DIR --train Y.npy (precomputed kernels read on the grid): plain, ensemble,
    relative and absolute --diag-reg."""
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--kernels", "K", "--train", "y.npy", *KERNELS_CASES[case]])


@pytest.mark.parametrize("nprocs, layout", [(2, "float32"), (3, "fortran-order")])
def test_predict_from_kernel_files_in_other_layouts(ntkit_ok, mpi_ok, data, kernel_dir, nprocs, layout):
    """--kernels DIR whose .npy files are float32, or Fortran-ordered (what np.save writes for a
    transposed array): the single-process run reads them, so the distributed one must too."""
    for path in kernel_dir.iterdir():
        k = np.load(path)
        np.save(path, k.astype(np.float32) if layout == "float32" else np.asfortranarray(k))
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--kernels", "K", "--train", "y.npy", "--ensemble",
                                                   "--time", "0,1,inf"])


@pytest.mark.parametrize("nprocs", [2, 3])
def test_predict_from_initial_outputs(ntkit_ok, mpi_ok, data, kernel_dir, nprocs):
    """--f0 F0 F0T with --loss mean: the flows start from the given outputs."""
    rng = np.random.default_rng(5)
    np.save(data / "f0.npy", rng.standard_normal((23, 2)))
    np.save(data / "f0t.npy", rng.standard_normal((7, 2)))
    predict_both(ntkit_ok, mpi_ok, data, nprocs, ["--kernels", "K", "--train", "y.npy", "--f0", "f0.npy", "f0t.npy",
                                                   "--loss", "mean", "--time", "0,30,inf"])


def test_predict_fixed_layers(ntkit_ok, mpi_ok, data):
    """--fixed-layers 1 (the first Dense layer not trained) on three ranks."""
    arch = "Dense(128, W_std=1.5, b_std=0.05), Relu, Dense(128, W_std=1.5, b_std=0.05), Relu, Dense(1)"
    predict_both(ntkit_ok, mpi_ok, data, 3, ["--arch", arch, "--fixed-layers", 1, *REGRESSION,
                                              "--time", "0,1,inf"])


def test_predict_on_images(ntkit_ok, mpi_ok, data):
    """The convolutional network on images, trained by gradient flow, as an ensemble."""
    np.save(data / "yimg.npy", np.random.default_rng(3).standard_normal((12, 1)))
    predict_both(ntkit_ok, mpi_ok, data, 2, ["--arch", CONV, "--train", "img.npy", "yimg.npy", "--test", "img2.npy",
                                              "--ensemble", "--time", "0,1,inf"])


# ---- what is an error under mpirun -----------------------------------------------------------


@pytest.mark.parametrize("nprocs", [1, 2])
def test_text_output_is_an_error(mpi, data, nprocs):
    """A .csv output under mpirun (P = 1 included: it is distributed too) is an error naming
    -o/--output and .npy, and writes nothing."""
    before = listing(data)
    r = mpi(nprocs, "kernel", "--arch", ARCH, "--x1", "x.npy", "-o", "mpi/k.csv", tag=True)
    message = the_error(r, data, before)
    assert ("-o" in message or "--output" in message) and ".npy" in message, message


def test_cross_entropy_is_an_error(mpi, data):
    """predict --objective cross-entropy under mpirun: an error saying to run it without mpirun."""
    np.save(data / "onehot.npy", np.eye(3)[np.arange(23) % 3])
    before = listing(data)
    r = mpi(2, "predict", "--arch", ARCH, "--train", "xr.npy", "onehot.npy", "--test", "xt.npy",
            "--objective", "cross-entropy", "--time", "0,1", "-o", "mpi/P", tag=True)
    message = the_error(r, data, before)
    assert "cross-entropy" in message and "mpirun" in message, message


OTHER_COMMANDS = {
    "train": ["train", "--arch", "Dense(16), Relu, Dense(2)", *REGRESSION, "--lr", "0.1", "--steps", "3", "--out", "mpi/T"],
    "ridge": ["ridge", "--kernel", "rbf", *REGRESSION, "--lambda", "0.1", "-o", "mpi/r.npy"],
    "kernel-diagonal": ["kernel", "--arch", ARCH, "--x1", "x.npy", "--diagonal", "-o", "mpi/d.npy"],
}


@pytest.mark.parametrize("command", list(OTHER_COMMANDS))
def test_other_commands_refuse_to_run_on_several_ranks(ntkit_ok, mpi, data, command):
    """Commands (and `kernel --diagonal`) with no distributed mode, on two ranks: an error
    mentioning mpirun, nothing written. (The same arguments run fine without mpirun.)"""
    args = OTHER_COMMANDS[command]
    before = listing(data)
    message = the_error(mpi(2, *args, tag=True), data, before)
    assert "mpirun" in message, message
    ntkit_ok(*args)


# ---- failures on one rank or all ------------------------------------------------------------


@pytest.mark.parametrize("nranks, bad_rank", [(2, 1), (4, 3)])
def test_nan_on_one_rank_stops_every_rank(mpi, data, nranks, bad_rank):
    """MPMD: one rank (1 of 2, or 3 of 4) reads an --x1 with a NaN, the others a good one. The
    run exits non-zero (no hang), rank 0 prints one error naming the bad rank and the NaN, and
    nothing is written."""
    x = np.load(data / "x.npy")
    x[4, 2] = np.nan
    np.save(data / "bad.npy", x)
    before = listing(data)
    args = ["kernel", "--arch", ARCH, "--block-size", 4, "-o", "mpi/k.npy"]
    ranks = [[*args, "--x1", "bad.npy" if rank == bad_rank else "x.npy"] for rank in range(nranks)]
    message = the_error(mpi(None, *ranks, tag=True), data, before)
    assert f"rank {bad_rank}" in message and "NaN" in message, message


def test_ranks_reading_different_inputs_is_an_error(mpi, data):
    """MPMD: rank 1 reads a valid --x1 of the same shape but other values: an error saying the
    ranks read different inputs, nothing written."""
    np.save(data / "other.npy", np.load(data / "x.npy") + 1.0)
    before = listing(data)
    args = ["kernel", "--arch", ARCH, "--get", "both", "--block-size", 4, "-o", "mpi/k.npy"]
    r = mpi(None, [*args, "--x1", "x.npy"], [*args, "--x1", "other.npy"], tag=True)
    message = the_error(r, data, before)
    assert "differ" in message, message


def test_unwritable_second_output_leaves_the_old_files(ntkit_ok, mpi, data):
    """--get both where OUT.ntk.npy cannot be written (a directory stands there) and an old
    OUT.nngp.npy exists: the collective write fails as a whole, naming the file; the old
    OUT.nngp.npy keeps its bytes and no temporary file is left."""
    ntkit_ok("kernel", "--arch", ARCH, "--x1", "x.npy", "--get", "nngp", "-o", "mpi/k.nngp.npy")
    old = (data / "mpi/k.nngp.npy").read_bytes()
    (data / "mpi/k.ntk.npy").mkdir()
    before = listing(data)
    r = mpi(2, "kernel", "--arch", DEEP, "--x1", "x.npy", "--get", "both", "--block-size", 4, "-o", "mpi/k.npy",
            tag=True)
    message = the_error(r, data, before)
    assert "k.ntk.npy" in message, message
    assert (data / "mpi/k.nngp.npy").read_bytes() == old


@pytest.mark.parametrize("bad", ["nan", "different"])
def test_predict_targets_bad_on_one_rank(mpi, data, bad):
    """MPMD predict: rank 1's Y has a NaN (error naming rank 1 and NaN) or other valid values
    (error: the ranks read different inputs); no output directory either way."""
    y = np.load(data / "y.npy")
    if bad == "nan":
        y[7, 1] = np.nan
    else:
        y = y * 2.0
    np.save(data / "ybad.npy", y)
    before = listing(data)
    args = ["predict", "--arch", ARCH, "--test", "xt.npy", "--time", "0,1,inf", "--block-size", 5, "-o", "mpi/P"]
    r = mpi(None, [*args, "--train", "xr.npy", "y.npy"], [*args, "--train", "xr.npy", "ybad.npy"], tag=True)
    message = the_error(r, data, before)
    if bad == "nan":
        assert "rank 1" in message and "NaN" in message, message
    else:
        assert "differ" in message, message


def test_bad_input_on_every_rank_gives_the_single_process_message(ntkit, mpi, data):
    """A --test with 4 columns for 3-column training inputs, on all three ranks: the error the
    single-process run prints, once, and no output directory."""
    np.save(data / "xt_wide.npy", np.zeros((7, 4)))
    args = ["predict", "--arch", ARCH, "--train", "xr.npy", "y.npy", "--test", "xt_wide.npy", "-o", "mpi/P"]
    single = ntkit(*args)
    assert single.returncode == 2 and single.stderr.startswith("ntkit: error: "), single.stderr
    expected = single.stderr.strip().removeprefix("ntkit: error: ")
    before = listing(data)
    message = the_error(mpi(3, *args, "--block-size", 5, tag=True), data, before)
    assert expected in message, f"{message!r} does not contain the single-process {expected!r}"


@pytest.mark.parametrize("nprocs", [2, 3])
def test_singular_kernel_at_infinity_asks_for_diag_reg(ntkit, mpi, mpi_ok, data, nprocs):
    """Duplicated training points make K(X, X) singular: at t = inf without --diag-reg the
    distributed Cholesky fails like the single-process one (an error mentioning --diag-reg,
    no output directory); with --diag-reg the same run succeeds."""
    x = np.load(data / "xr.npy")
    x[9] = x[2]
    np.save(data / "xdup.npy", x)
    args = ["predict", "--arch", ARCH, "--train", "xdup.npy", "y.npy", "--test", "xt.npy", "--time", "inf"]
    single = ntkit(*args, "-o", "ref/P")
    assert single.returncode == 2 and "--diag-reg" in single.stderr, single.stderr
    before = listing(data)
    message = the_error(mpi(nprocs, *args, "--block-size", 4, "-o", "mpi/P", tag=True), data, before)
    assert "--diag-reg" in message, message
    mpi_ok(nprocs, *args, "--diag-reg", "1e-6", "--block-size", 4, "-o", "mpi/P")
    assert (data / "mpi/P/test.npy").is_file()
