// The spatial part of the kernel state (private; docs/mathematics.md §7).
//
// For inputs with spatial axes (images H × W, signals L) one pair (x, x') of the kernel state is
// a covariance over pairs of positions, K(p, p'). Along each axis only the position pairs
// (i, i') with |i' − i| ≤ radius are stored, where the radius is what the layers after it need
// (Flatten needs the offset 0 only, a 2 × 2 pool of stride 2 turns the offsets it needs into
// 2d − 1 … 2d + 1, GlobalAvgPool needs every pair): that is how a conv stack ending in Flatten
// costs P·|filter| per pair rather than P²·|filter|. A layout's values are the products of its
// axes' pairs, axis 0 outermost; the pairs of an axis are ordered by i, then i'.
//
// The layers that act on positions (Conv, pools, Flatten, global pools) are linear in the state
// and act on each axis separately: a SpatialMap is one sparse matrix per axis, applied as
// out = (M_0 ⊗ M_1) in.
#pragma once

#include <memory>
#include <vector>

#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit::detail {

/// The stored position pairs of one spatial axis.
struct PairAxis {
  int size = 1;                    // positions on the axis
  int radius = 0;                  // stored: |i' − i| ≤ radius (size − 1: every pair)
  std::vector<int> first, second;  // stored pair k is (first[k], second[k])
  std::vector<int> index;          // size × size: the stored pair of (i, i'), −1 if not stored
  int pairs() const { return static_cast<int>(first.size()); }
};

/// The spatial part of a stream's state: per axis the stored pairs; no axes for a flat state
/// (one value per pair of points).
struct SpatialLayout {
  std::vector<PairAxis> axes;
  Eigen::Index values = 1;                // stored values per pair of points
  Eigen::Index positions = 1;             // positions of one point (product of the axis sizes)
  std::vector<int> position1, position2;  // per value: the flat position (row-major) of each side
  std::vector<int> diagonal;              // per position p: the value of the pair (p, p)
  std::vector<int> dims() const;
  std::vector<int> radii() const;
};

/// The offsets a layer needs of a stream: one radius per spatial axis (empty: flat).
using Radii = std::vector<int>;

/// A layout of the given axis sizes and radii (each clipped to size − 1); nullptr for no axes.
std::shared_ptr<const SpatialLayout> make_layout(const std::vector<int>& dims, const Radii& radii);

/// A linear map of one axis's stored pairs: out pair r = Σ_k weight[k] · in pair column[k],
/// k ∈ [start[r], start[r + 1]).
struct AxisMap {
  int rows = 0, columns = 0;
  std::vector<int> start, column;
  std::vector<double> weight;
  // The same map with `width` entries in every row (ELLPACK), short rows padded with weight 0
  // on column `columns` (a zero the caller appends): fixed-length rows vectorize across rows.
  // Built by make_spatial_map for narrow maps (Conv, pools, restrictions); width 0 otherwise.
  int width = 0;
  std::vector<int> ell_column;
  std::vector<double> ell_weight;
};

/// A map between two layouts, one AxisMap per input axis (an axis mapped to a single pair
/// (0, 0) of a size-1 axis disappears from the output: Flatten, global pools).
struct SpatialMap {
  std::vector<AxisMap> axes;
  Eigen::Index in_values = 1, out_values = 1, scratch_values = 0;
  /// out = map(in) for one pair of points; `scratch` holds scratch_values values.
  void apply(const double* in, double* out, double* scratch) const;
};

/// The map of `axes` (one per axis of the input layout), with its sizes.
SpatialMap make_spatial_map(std::vector<AxisMap> axes);

/// Where a window along one axis reads: output position o covers the input positions
/// o·stride − pad_low + w, w ∈ [0, window); 'SAME' pads with zeros, 'CIRCULAR' wraps.
struct AxisWindow {
  int size_in = 1, size_out = 1, window = 1, stride = 1, pad_low = 0;
  Padding padding = Padding::Valid;
  /// The input position of o·stride − pad_low + w, or −1 for a padded zero.
  int input(int o, int w) const;
};

/// neural-tangents' output size and low-side padding for `padding` (as lax.padtype_to_pads).
/// Throws ntkit::Error (naming `layer`) when a 'VALID' window is larger than the input.
AxisWindow make_axis_window(const std::string& layer, int size_in, int window, int stride, Padding padding);

/// A convolution along one axis: out (o, o') = mean_w in(o·s + w, o'·s + w) (both windows move
/// together).
AxisMap convolution_map(const AxisWindow& window, const PairAxis& in, const PairAxis& out);
/// A pool along one axis: out (o, o') = Σ_{w, w'} c(o) c(o') in(o·s + w, o'·s + w'), c as
/// `scale` (per output position).
AxisMap pool_map(const AxisWindow& window, const std::vector<double>& scale, const PairAxis& in, const PairAxis& out);
/// Flatten along one axis: the single output = mean_i in(i, i).
AxisMap diagonal_mean_map(const PairAxis& in);
/// A global pool along one axis: the single output = c² Σ_{i, i'} in(i, i').
AxisMap global_map(const PairAxis& in, double c);
/// The pairs of `out` read from `in` (same sizes, in's radii ≥ out's): a FanOut copy whose
/// branch needs fewer offsets.
AxisMap restriction_map(const PairAxis& in, const PairAxis& out);

/// The radius an axis needs before a convolution / pool, given what is needed after it.
int radius_before_convolution(const AxisWindow& window, int radius_after);
int radius_before_pool(const AxisWindow& window, int radius_after);

}  // namespace ntkit::detail
