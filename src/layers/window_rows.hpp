// Where the windows of a Conv or a pool read, for the finite-width passes (private).
//
// A spatial stream is a (n·P) x C matrix, row i·P + p for example i's position p
// (mlp_program.hpp). A layer that acts on positions reads, for each output position o, a
// window of input positions: `source` lists them per (o, f), f the window entry flattened
// row-major over the axes, −1 for a padded zero ('SAME'); 'CIRCULAR' has wrapped already.
// The per-axis rules (sizes, padding, pad_low = total/2) are spatial_layout.hpp's AxisWindow,
// shared with the infinite-width rules, so both widths see the same windows.
#pragma once

#include <memory>
#include <vector>

#include "ntkit/types.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

struct WindowRows {
  Eigen::Index positions_in = 1, positions_out = 1, window = 1;
  std::vector<int> source;    // positions_out x window: the input position, or −1
  std::vector<double> scale;  // pools: the factor per output position (Conv: empty)
  int input(Eigen::Index o, Eigen::Index f) const { return source[static_cast<std::size_t>(o * window + f)]; }
};

/// The windows of the product of `axes` (one AxisWindow per spatial axis, axis 0 outermost).
WindowRows make_window_rows(const std::vector<AxisWindow>& axes);
/// One window over all `positions` (global pools).
WindowRows whole_window(Eigen::Index positions);

/// Conv's patches (im2col): (n·P_out) x (window·C), row i·P_out + o, column f·C + c holding
/// h(i·P_in + source(o, f), c) (0 for a padded zero). A convolution is then one GEMM.
RowMatrixD gather_patches(const WindowRows& w, const RowMatrixD& h);
/// The transpose of gather_patches for cotangents, `stack` rows per row: the (n·P_out·stack) x
/// (window·C) cotangent of the patches added back onto the (n·P_in·stack) x C input positions.
RowMatrixD scatter_patches(const WindowRows& w, const RowMatrixD& g, Eigen::Index stack);

/// A pool: row (i·P_out + o)·stack + s = scale(o) Σ_f row (i·P_in + source(o, f))·stack + s.
RowMatrixD pool_rows(const WindowRows& w, const RowMatrixD& h, Eigen::Index stack);
/// Its transpose (the pool's backward): each output row's scale(o)·g back onto its window.
RowMatrixD unpool_rows(const WindowRows& w, const RowMatrixD& g, Eigen::Index stack);

}  // namespace ntkit::detail
