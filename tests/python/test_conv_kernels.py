"""Convolutional kernels from the Python module against tests/python/conv_reference.py, a
naive NumPy recursion over the whole position × position covariance of every pair (checked
against neural-tangents itself by its --check-against-nt mode; docs/mathematics.md §7).

The engine stores only the offsets later layers need and applies each layer per axis, so
agreement to rounding on these networks (residual blocks, LayerNorm per position, 'standard'
parameterization, every padding, 1-D signals, branches that end flat) checks the planning and
the maps, not just the formulas.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import ntkit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conv_reference as ref  # noqa: E402

CASES = {
    "residual-layernorm": ([("Conv", dict(out_chan=4, filter_shape=(3, 3), padding="SAME", W_std=1.3, b_std=0.1)),
                            ("Residual", [("Relu",), ("Conv", dict(out_chan=4, filter_shape=(3, 3), padding="SAME",
                                                                   W_std=1.2))]),
                            ("LayerNorm",), ("Erf",),
                            ("AvgPool", dict(window_shape=(2, 2), strides=(2, 2), padding="SAME")),
                            ("Conv", dict(out_chan=3, filter_shape=(2, 2), W_std=1.1, b_std=0.2)), ("Relu",),
                            ("GlobalAvgPool",), ("Dense", dict(out_dim=1, W_std=0.9, b_std=0.1))], (7, 6, 2)),
    "standard-circular-sumpool": ([("Conv", dict(out_chan=5, filter_shape=(3, 2), strides=(2, 1), padding="CIRCULAR",
                                                 W_std=1.4, b_std=0.0, parameterization="standard")),
                                   ("Relu",),
                                   ("SumPool", dict(window_shape=(2, 3), strides=(1, 2), padding="SAME")),
                                   ("Conv", dict(out_chan=3, filter_shape=(1, 1), W_std=1.2, parameterization="standard")),
                                   ("Abs",), ("Flatten",),
                                   ("Dense", dict(out_dim=1, b_std=0.3, parameterization="standard"))], (6, 7, 3)),
    "signal-1d": ([("Conv", dict(out_chan=4, filter_shape=(3,), strides=(2,), padding="SAME", W_std=1.5)),
                   ("LeakyRelu", dict(alpha=0.1)),
                   ("AvgPool", dict(window_shape=(3,), padding="SAME", normalize_edges=True)),
                   ("Conv", dict(out_chan=4, filter_shape=(2,), padding="CIRCULAR", b_std=0.1)), ("Relu",),
                   ("GlobalSumPool",), ("Dense", dict(out_dim=1))], (11, 2)),
    "branches-end-flat": ([("Conv", dict(out_chan=4, filter_shape=(3, 3), padding="SAME", W_std=1.4, b_std=0.1)),
                           ("Relu",),
                           ("Parallel", dict(branches=[[("Flatten",)], [("GlobalAvgPool",)]], merge="concat")),
                           ("Dense", dict(out_dim=3, W_std=1.3)), ("Relu",), ("Dense", dict(out_dim=1))], (5, 5, 2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_whole_covariance_reference(name, rng):
    layers, shape = CASES[name]
    x1 = rng.normal(size=(4, *shape))
    x2 = rng.normal(size=(3, *shape)) * 1.3
    text = ref.network_text(layers)
    nngp, ntk = ntkit.kernel(text, x1, x2, get=("nngp", "ntk"))
    nngp_ref, ntk_ref = ref.kernels(layers, x1, x2)
    for ours, theirs in ((nngp, nngp_ref), (ntk, ntk_ref)):
        assert ours.shape == (4, 3)
        assert np.abs(ours - theirs).max() <= 1e-13 * np.abs(theirs).max(), text
    # K(X, X): symmetric, and equal to the two-sided call (the same pairs, the same arithmetic).
    sym = ntkit.kernel(text, x1, get="ntk")
    np.testing.assert_array_equal(sym, sym.T)
    _, ntk_ref_xx = ref.kernels(layers, x1)
    assert np.abs(sym - ntk_ref_xx).max() <= 1e-13 * np.abs(ntk_ref_xx).max(), text
