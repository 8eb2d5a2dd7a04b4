"""Images (N, H, W, C) and signals (N, L, C) in ntkit.kernel, and reading IDX files.

Flatten as the first layer on images gives exactly the kernel of the same network without it
on the flattened rows: the identity the 4-D calls are checked against.
"""
import gzip
import struct

import numpy as np
import pytest

import ntkit

MLP = "Dense(16, W_std=1.5, b_std=0.1), Relu, Dense(1)"
CONV = "Conv(3, (2, 2), padding='SAME', W_std=1.5, b_std=0.1), Relu, GlobalAvgPool, Dense(1)"


def close(a, b):
    """Flatten first sums the same products in another order than the flat Gram matrix: equal
    to rounding (the engine's results differ by at most an ulp or two)."""
    np.testing.assert_allclose(a, b, rtol=1e-14 if a.dtype == np.float64 else 1e-6, atol=0)


def idx_bytes(arr, code=0x08, fmt=">u1"):
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(fmt).tobytes()


@pytest.fixture
def x(rng):
    return rng.normal(size=(5, 4, 3, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flatten_first_equals_flat(x, dtype):
    x = x.astype(dtype)
    flat = x.reshape(len(x), -1)
    for get in ("ntk", "nngp"):
        close(ntkit.kernel("Flatten, " + MLP, x, get=get), ntkit.kernel(MLP, flat, get=get))
        close(ntkit.kernel("Flatten, " + MLP, x[:2], x[2:], get=get), ntkit.kernel(MLP, flat[:2], flat[2:], get=get))
    close(ntkit.kernel_diagonal("Flatten, " + MLP, x), ntkit.kernel_diagonal(MLP, flat))


def test_kernel_to_npy_takes_images(x, tmp_path):
    ntkit.kernel_to_npy(CONV, x, ntk=tmp_path / "k.npy")
    np.testing.assert_allclose(np.load(tmp_path / "k.npy"), ntkit.kernel(CONV, x), rtol=1e-14)


def test_conv_sees_the_shape(x):
    k = ntkit.kernel(CONV, x)
    assert k.shape == (5, 5)
    np.testing.assert_array_equal(k, k.T)
    assert not np.allclose(k, ntkit.kernel("Flatten, " + MLP, x))
    # The same values as a different image shape give a different kernel.
    assert not np.allclose(k, ntkit.kernel(CONV, x.reshape(5, 3, 4, 2)))
    signals = x.reshape(5, 12, 2)
    ks = ntkit.kernel("Conv(3, (3,), padding='SAME'), Relu, GlobalAvgPool, Dense(1)", signals, signals[:2])
    assert ks.shape == (5, 2)


def test_wrong_ranks_and_shapes_are_clear_errors(x):
    with pytest.raises(ValueError, match=r"x2: examples of shape \(3, 4, 2\) but x1 has \(4, 3, 2\)"):
        ntkit.kernel(CONV, x, x.reshape(5, 3, 4, 2))
    with pytest.raises(ValueError, match=r"x2: examples of shape \(24,\) but x1 has \(4, 3, 2\)"):
        ntkit.kernel(CONV, x, x.reshape(5, -1))
    with pytest.raises(ValueError, match=r"x1: expected examples as a 2-D array .* got 5-D"):
        ntkit.kernel(CONV, x[..., None])
    with pytest.raises(ValueError, match=r"x: expected examples .* got 0-D"):
        ntkit.kernel_diagonal(MLP, np.float64(1.0))
    with pytest.raises(ValueError, match="spatial"):
        ntkit.kernel("Dense(1)", x)  # a network that never leaves the spatial axes
    with pytest.raises(ValueError, match=r"non-finite value \(nan\) at row 1"):
        bad = x.copy()
        bad[1, 2, 0, 1] = np.nan
        ntkit.kernel(CONV, bad)


def test_read_idx_and_read_examples(tmp_path):
    pix = np.arange(4 * 3 * 2, dtype=np.uint8).reshape(4, 3, 2) * 10
    (tmp_path / "img-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(pix)))
    (tmp_path / "lab-idx1-ubyte").write_bytes(idx_bytes([3, 1, 4, 1]))
    (tmp_path / "f32.idx").write_bytes(idx_bytes([[1.5, -2.0]], code=0x0D, fmt=">f4"))
    a = ntkit.read_idx(tmp_path / "img-idx3-ubyte.gz")
    assert a.dtype == np.uint8 and a.shape == (4, 3, 2)
    np.testing.assert_array_equal(a, pix)
    np.testing.assert_array_equal(ntkit.read_idx(str(tmp_path / "lab-idx1-ubyte")), [3, 1, 4, 1])
    f = ntkit.read_idx(tmp_path / "f32.idx")
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, [[1.5, -2.0]])
    e = ntkit.read_examples(f"{tmp_path}/img-idx3-ubyte.gz[1:3]")
    assert e.shape == (2, 3, 2, 1) and e.dtype == np.float64
    np.testing.assert_array_equal(e, pix[1:3, :, :, None] / 255.0)
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    assert ntkit.read_examples(tmp_path / "x.npy").shape == (3, 2)
    # What read_examples gives goes straight into kernel.
    assert ntkit.kernel("Flatten, " + MLP, e).shape == (2, 2)


def test_read_idx_errors(tmp_path):
    whole = idx_bytes(np.zeros((4, 3, 3), dtype=np.uint8))
    (tmp_path / "cut").write_bytes(whole[:-1])
    (tmp_path / "cut.gz").write_bytes(gzip.compress(whole)[:-9])
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + whole[4:])
    with pytest.raises(ValueError, match="cut: truncated IDX file"):
        ntkit.read_idx(tmp_path / "cut")
    with pytest.raises(ValueError, match="cut.gz: truncated gzip data"):
        ntkit.read_idx(tmp_path / "cut.gz")
    with pytest.raises(ValueError, match="not an IDX file"):
        ntkit.read_idx(tmp_path / "bad")
    with pytest.raises(ValueError, match="No such file"):
        ntkit.read_idx(tmp_path / "missing")
    (tmp_path / "ok").write_bytes(whole)
    with pytest.raises(ValueError, match=r"rows 0:9 asked for, but the file has 4"):
        ntkit.read_examples(str(tmp_path / "ok") + "[:9]")
