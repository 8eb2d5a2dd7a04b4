"""How arrays cross the boundary: no copy for C-contiguous input of the computation's dtype,
a correct result for everything else, dtype rules, shapes, and the GIL released."""
import threading
import time

import numpy as np
import pytest

import ntkit
from ntkit import _core


@pytest.mark.parametrize("dtype, address", [(np.float64, _core._view_address_float64),
                                            (np.float32, _core._view_address_float32)])
def test_c_contiguous_input_is_not_copied(rng, dtype, address):
    x = rng.standard_normal((40, 7)).astype(dtype)
    assert address(x) == x.ctypes.data
    # A 1-D array (a column) and a read-only one are viewed in place too.
    v = x[:, 0].copy()
    assert address(v) == v.ctypes.data
    x.setflags(write=False)
    assert address(x) == x.ctypes.data


@pytest.mark.parametrize("make", [lambda x: np.asfortranarray(x), lambda x: x[::2], lambda x: x[:, 1:5],
                                  lambda x: x.astype(np.float32), lambda x: x.astype(np.int64)],
                         ids=["fortran", "row-stride", "column-slice", "float32", "int64"])
def test_other_input_is_copied_once_and_gives_the_same_numbers(rng, make):
    x = np.round(rng.standard_normal((12, 6)) * 4)  # integers, so the int64 cast is exact
    y = make(x)
    assert _core._view_address_float64(y) != y.ctypes.data  # it was converted (a copy) ...
    if y.dtype == np.float32:
        return  # float32 computes in float32: test_float32_inputs_compute_in_float32
    # ... and the result equals the computation on a contiguous float64 copy.
    contiguous = np.ascontiguousarray(y, dtype=np.float64)
    np.testing.assert_array_equal(ntkit.classic_kernel(y, kernel="rbf", gamma=0.1),
                                  ntkit.classic_kernel(contiguous, kernel="rbf", gamma=0.1))
    np.testing.assert_array_equal(ntkit.kernel("Dense(8), Relu, Dense(1)", y),
                                  ntkit.kernel("Dense(8), Relu, Dense(1)", contiguous))


def test_float32_inputs_compute_in_float32_and_mixed_in_float64(rng):
    x = rng.standard_normal((9, 4)).astype(np.float32)
    k32 = ntkit.classic_kernel(x, kernel="arccos", order=1)
    assert k32.dtype == np.float32
    k64 = ntkit.classic_kernel(x.astype(np.float64), kernel="arccos", order=1)
    assert k64.dtype == np.float64
    np.testing.assert_allclose(k32, k64, rtol=2e-5, atol=1e-6)  # README: float32 within 2e-5
    assert ntkit.classic_kernel(x, x.astype(np.float64)).dtype == np.float64
    assert ntkit.classic_kernel_diagonal(x).dtype == np.float32
    # The deep kernels too (the library's float32 path).
    arch = "Dense(4, W_std=1.5, b_std=0.1), Erf, Dense(1)"
    nngp32, ntk32 = ntkit.kernel(arch, x, get=("nngp", "ntk"))
    assert nngp32.dtype == ntk32.dtype == np.float32
    nngp64, ntk64 = ntkit.kernel(arch, x.astype(np.float64), get=("nngp", "ntk"))
    np.testing.assert_allclose(ntk32, ntk64, rtol=1e-4, atol=1e-5)  # float32 rounding through a few layers
    np.testing.assert_allclose(nngp32, nngp64, rtol=1e-4, atol=1e-5)
    assert ntkit.kernel(arch, x, x.astype(np.float64)).dtype == np.float64


def test_lists_and_one_dimensional_inputs(rng):
    # A 1-D array is a column: n examples with one feature (as in the command-line tool).
    x = rng.standard_normal(6)
    np.testing.assert_array_equal(ntkit.classic_kernel(x), np.outer(x, x))
    np.testing.assert_array_equal(ntkit.classic_kernel(x.tolist()), np.outer(x, x))
    # 1-D targets give 1-D outputs.
    k = ntkit.classic_kernel(x.reshape(-1, 1), kernel="rbf") + np.eye(6)
    assert ntkit.KernelRidge().fit(k, x, 0.0).predict(k).shape == (6,)
    assert ntkit.KernelRidge().fit(k, x.reshape(-1, 1), 0.0).predict(k).shape == (6, 1)


def test_results_are_numpy_arrays_that_own_their_data(rng):
    k = ntkit.kernel("Dense(4), Relu, Dense(1)", rng.standard_normal((5, 3)))
    assert isinstance(k, np.ndarray) and k.flags.c_contiguous and k.flags.writeable
    k[0, 0] = 7.0  # writable, and independent of any later call
    assert ntkit.kernel("Dense(4), Relu, Dense(1)", np.ones((1, 3)))[0, 0] != 7.0


# kernel takes examples of any shape up to images (N, H, W, C) (tests/python/test_images.py):
# a 3-D input is signals, whose Dense-only network's output keeps its spatial axis.
@pytest.mark.parametrize("bad, message, deep_message",
                         [(np.zeros((2, 2, 2)), "expected a 1-D or 2-D array", "spatial"),
                          (np.float64(3.0), "expected a 1-D or 2-D array", "expected examples .* got 0-D"),
                          (np.ones((3, 2), dtype=complex), "complex data is not supported", "complex data is not supported")])
def test_shapes_and_dtypes_that_are_refused(bad, message, deep_message):
    with pytest.raises(ValueError, match=message):
        ntkit.classic_kernel(bad)
    with pytest.raises(ValueError, match=deep_message):
        ntkit.kernel("Dense(1)", bad)


def test_gil_is_released_while_computing(rng):
    # If the call held the GIL, this thread could not run Python code until it returned, and
    # the longest pause between two of its ticks would be the whole call.
    x = rng.standard_normal((2500, 600))
    done = []
    worker = threading.Thread(target=lambda: done.append(ntkit.classic_kernel(x, kernel="rbf")))
    ticks = []
    start = time.monotonic()
    worker.start()
    while worker.is_alive():
        ticks.append(time.monotonic())
    duration = time.monotonic() - start
    worker.join()
    assert done and done[0].shape == (2500, 2500)
    assert duration > 0.1, f"the call took only {duration:.3f} s; make the problem larger"
    longest_pause = np.max(np.diff([start, *ticks, start + duration]))
    assert longest_pause < 0.5 * duration, (longest_pause, duration)
