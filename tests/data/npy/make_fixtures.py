#!/usr/bin/env python3
"""Writes the .npy fixtures that tests/cpp/test_io.cpp decodes.

Run from anywhere: python3 tests/data/npy/make_fixtures.py
The values follow simple formulas (documented next to each file) so that the C++ test can
recompute them instead of carrying a second copy of the data. Every file is tiny.
"""
import pathlib

import numpy as np
from numpy.lib import format as npy_format

HERE = pathlib.Path(__file__).resolve().parent


def save(name, array, version=None):
    with open(HERE / name, "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=True)


# A 3x4 "ramp": value (i, j) = (4*i + j) / 4 - 1, exactly representable in every float dtype.
ramp = np.arange(12, dtype=np.float64).reshape(3, 4) / 4 - 1

save("f8_c.npy", ramp)                                        # float64, C order
save("f8_fortran.npy", np.asfortranarray(ramp))               # float64, Fortran order
save("f4_c.npy", ramp.astype(np.float32))                     # float32, C order
save("f4_fortran.npy", np.asfortranarray(ramp.astype(np.float32)))
save("f8_v2.npy", ramp, version=(2, 0))                       # format version 2.0
save("f8_v3.npy", ramp, version=(3, 0))                       # format version 3.0
# int32 extremes: [[-2**31, 7], [0, 2**31 - 1]]
save("i4_c.npy", np.array([[-2**31, 7], [0, 2**31 - 1]], dtype=np.int32))
# int64 2x3, value (i, j) = (3*i + j) * 2**40 - 2**42, stored in Fortran order.
i8 = (np.arange(6, dtype=np.int64).reshape(2, 3) * 2**40) - 2**42
save("i8_fortran.npy", np.asfortranarray(i8))
# int64 1-D [-2**53, 0, 2**53]: the largest integers a double holds exactly.
save("i8_1d.npy", np.array([-2**53, 0, 2**53], dtype=np.int64))
save("f8_1d.npy", np.array([0.5, -1.5, 2.5, 1e300, -0.0]))   # 1-D, shape (5,)
save("f8_0d.npy", np.array(3.5))                              # 0-D, shape ()
# 3-D, value (i, j, k) = 12*i + 4*j + k, in both orders.
cube = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
save("f8_3d.npy", cube)
save("f8_3d_fortran.npy", np.asfortranarray(cube))
save("f8_empty.npy", np.zeros((0, 3)))                        # shape (0, 3)

# Files the reader must reject, each with its own message.
save("f8_big_endian.npy", ramp.astype(">f8"))
save("c16.npy", np.array([[1 + 2j]]))                          # complex128
save("u1.npy", np.array([[1, 2]], dtype=np.uint8))
save("object.npy", np.array([[1, "a"]], dtype=object))
save("structured.npy", np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]))

# What numpy.save writes, byte for byte, for the matrix the test encodes with encode_npy:
# [[1.5, -2.0], [1e-310, 3.25], [-0.0, 1e300]].
written = np.array([[1.5, -2.0], [1e-310, 3.25], [-0.0, 1e300]])
np.save(HERE / "expected_encode_f8.npy", written)
np.save(HERE / "expected_encode_f4.npy", written.astype(np.float32))
np.save(HERE / "expected_encode_vector.npy", written[:, 0].copy())
