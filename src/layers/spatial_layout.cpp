// Layouts and per-axis maps of the spatial kernel state (spatial_layout.hpp).
#include "spatial_layout.hpp"

#include <algorithm>
#include <sstream>

#include "../layer_text.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {

PairAxis make_pair_axis(int size, int radius) {
  PairAxis axis;
  axis.size = size;
  axis.radius = std::min(radius, size - 1);
  axis.index.assign(static_cast<std::size_t>(size) * size, -1);
  for (int i = 0; i < size; ++i) {
    for (int j = std::max(0, i - axis.radius); j <= std::min(size - 1, i + axis.radius); ++j) {
      axis.index[static_cast<std::size_t>(i) * size + j] = axis.pairs();
      axis.first.push_back(i);
      axis.second.push_back(j);
    }
  }
  return axis;
}

int stored(const PairAxis& axis, int i, int j) {
  const int k = axis.index[static_cast<std::size_t>(i) * axis.size + j];
  if (k < 0) throw Error("internal error: the spatial kernel state lacks a pair of positions a layer needs");
  return k;
}

// Builds a CSR map row by row from (row, column, weight) triples given in row order.
struct MapBuilder {
  AxisMap map;
  MapBuilder(int rows, int columns) {
    map.rows = rows;
    map.columns = columns;
    map.start.push_back(0);
  }
  void add(int column, double weight) {
    map.column.push_back(column);
    map.weight.push_back(weight);
  }
  void end_row() { map.start.push_back(static_cast<int>(map.column.size())); }
};

}  // namespace

std::vector<int> SpatialLayout::dims() const {
  std::vector<int> out;
  for (const PairAxis& axis : axes) out.push_back(axis.size);
  return out;
}

std::vector<int> SpatialLayout::radii() const {
  std::vector<int> out;
  for (const PairAxis& axis : axes) out.push_back(axis.radius);
  return out;
}

std::shared_ptr<const SpatialLayout> make_layout(const std::vector<int>& dims, const Radii& radii) {
  if (dims.empty()) return nullptr;
  auto layout = std::make_shared<SpatialLayout>();
  for (std::size_t a = 0; a < dims.size(); ++a) {
    layout->axes.push_back(make_pair_axis(dims[a], radii.at(a)));
    layout->values *= layout->axes.back().pairs();
    layout->positions *= dims[a];
  }
  // Per value, the flat positions of both sides: row-major over the axes, like the values.
  layout->position1.assign(1, 0);
  layout->position2.assign(1, 0);
  for (const PairAxis& axis : layout->axes) {
    std::vector<int> p1, p2;
    p1.reserve(layout->position1.size() * axis.pairs());
    p2.reserve(p1.capacity());
    for (std::size_t v = 0; v < layout->position1.size(); ++v) {
      for (int k = 0; k < axis.pairs(); ++k) {
        p1.push_back(layout->position1[v] * axis.size + axis.first[k]);
        p2.push_back(layout->position2[v] * axis.size + axis.second[k]);
      }
    }
    layout->position1 = std::move(p1);
    layout->position2 = std::move(p2);
  }
  layout->diagonal.assign(static_cast<std::size_t>(layout->positions), -1);
  for (std::size_t v = 0; v < layout->position1.size(); ++v) {
    if (layout->position1[v] == layout->position2[v]) layout->diagonal[layout->position1[v]] = static_cast<int>(v);
  }
  return layout;
}

namespace {

// The ELLPACK copy of a narrow map (at most 16 entries in a row).
void add_fixed_width_rows(AxisMap& m) {
  int width = 0;
  for (int r = 0; r < m.rows; ++r) width = std::max(width, m.start[r + 1] - m.start[r]);
  if (width > 16) return;
  m.width = width;
  m.ell_column.assign(static_cast<std::size_t>(m.rows) * width, m.columns);
  m.ell_weight.assign(m.ell_column.size(), 0.0);
  for (int r = 0; r < m.rows; ++r) {
    for (int k = m.start[r]; k < m.start[r + 1]; ++k) {
      m.ell_column[static_cast<std::size_t>(r) * width + (k - m.start[r])] = m.column[k];
      m.ell_weight[static_cast<std::size_t>(r) * width + (k - m.start[r])] = m.weight[k];
    }
  }
}

// target[c] = Σ_k weight(c, k) · row[column(c, k)] for c < rows, with W entries per row
// (row[columns] must be 0: the padding reads it).
template <int W>
void gather_rows(const AxisMap& m, const double* row, double* target) {
  const int* column = m.ell_column.data();
  const double* weight = m.ell_weight.data();
#pragma omp simd
  for (int c = 0; c < m.rows; ++c) {
    double sum = 0;
    for (int k = 0; k < W; ++k) sum += weight[c * W + k] * row[column[c * W + k]];
    target[c] = sum;
  }
}

void gather(const AxisMap& m, const double* row, double* target) {
  switch (m.width) {
    case 1: return gather_rows<1>(m, row, target);
    case 2: return gather_rows<2>(m, row, target);
    case 3: return gather_rows<3>(m, row, target);
    case 4: return gather_rows<4>(m, row, target);
    default: break;
  }
  for (int c = 0; c < m.rows; ++c) {
    double sum = 0;
    for (int k = m.start[c]; k < m.start[c + 1]; ++k) sum += m.weight[k] * row[m.column[k]];
    target[c] = sum;
  }
}

// row[c] = Σ_k weight_k · in[column_k][c] over row r of m (rows of `width` values): each
// output value is written once, its sum kept in a register.
template <int K>
void combine_fixed(const double* const* source, const double* weight, int width, double* row) {
#pragma omp simd
  for (int c = 0; c < width; ++c) {
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += weight[k] * source[k][c];
    row[c] = sum;
  }
}

void combine_rows(const AxisMap& m, int r, const double* in, int width, double* row) {
  const int begin = m.start[r], count = m.start[r + 1] - begin;
  const double* source[4];
  if (count <= 4) {
    for (int k = 0; k < count; ++k) source[k] = in + static_cast<std::size_t>(m.column[begin + k]) * width;
    const double* weight = m.weight.data() + begin;
    switch (count) {
      case 0: std::fill(row, row + width, 0.0); return;
      case 1: return combine_fixed<1>(source, weight, width, row);
      case 2: return combine_fixed<2>(source, weight, width, row);
      case 3: return combine_fixed<3>(source, weight, width, row);
      case 4: return combine_fixed<4>(source, weight, width, row);
      default: break;
    }
  }
  std::fill(row, row + width, 0.0);
  for (int k = begin; k < begin + count; ++k) {
    const double w = m.weight[k];
    const double* from = in + static_cast<std::size_t>(m.column[k]) * width;
#pragma omp simd
    for (int c = 0; c < width; ++c) row[c] += w * from[c];
  }
}

}  // namespace

SpatialMap make_spatial_map(std::vector<AxisMap> axes) {
  SpatialMap map;
  map.axes = std::move(axes);
  for (AxisMap& m : map.axes) {
    map.in_values *= m.columns;
    map.out_values *= m.rows;
    add_fixed_width_rows(m);
  }
  // One row of axis-1 pairs, and the zero that padded entries read.
  if (map.axes.size() == 2) map.scratch_values = map.axes[1].columns + 1;
  return map;
}

void SpatialMap::apply(const double* in, double* out, double* scratch) const {
  if (axes.size() == 1) {
    const AxisMap& m = axes[0];
    for (int r = 0; r < m.rows; ++r) {
      double sum = 0;
      for (int k = m.start[r]; k < m.start[r + 1]; ++k) sum += m.weight[k] * in[m.column[k]];
      out[r] = sum;
    }
    return;
  }
  // Two axes: along axis 0 (whole rows of axis-1 pairs at once), then along axis 1 within
  // each row.
  const AxisMap& m0 = axes[0];
  const AxisMap& m1 = axes[1];
  const int width = m1.columns;
  double* row = scratch;
  row[width] = 0.0;  // what padded entries of m1 read
  for (int r = 0; r < m0.rows; ++r) {
    combine_rows(m0, r, in, width, row);
    gather(m1, row, out + static_cast<std::size_t>(r) * m1.rows);
  }
}

int AxisWindow::input(int o, int w) const {
  int i = o * stride - pad_low + w;
  if (i >= 0 && i < size_in) return i;
  if (padding != Padding::Circular) return -1;
  i %= size_in;
  return i < 0 ? i + size_in : i;
}

AxisWindow make_axis_window(const std::string& layer, int size_in, int window, int stride, Padding padding) {
  AxisWindow out;
  out.size_in = size_in;
  out.window = window;
  out.stride = stride;
  out.padding = padding;
  if (padding == Padding::Valid) {
    if (window > size_in) {
      std::ostringstream msg;
      msg << layer << ": the window (" << window << ") is larger than the input (" << size_in
          << " positions) with padding 'VALID'; use padding='SAME' or a smaller window";
      throw Error(msg.str());
    }
    out.size_out = (size_in - window) / stride + 1;
    out.pad_low = 0;
  } else {
    out.size_out = (size_in + stride - 1) / stride;
    const int total = std::max((out.size_out - 1) * stride + window - size_in, 0);
    out.pad_low = total / 2;
  }
  return out;
}

AxisMap convolution_map(const AxisWindow& window, const PairAxis& in, const PairAxis& out) {
  MapBuilder map(out.pairs(), in.pairs());
  const double weight = 1.0 / window.window;
  for (int k = 0; k < out.pairs(); ++k) {
    for (int w = 0; w < window.window; ++w) {
      const int i = window.input(out.first[k], w), j = window.input(out.second[k], w);
      if (i >= 0 && j >= 0) map.add(stored(in, i, j), weight);  // a padded zero adds nothing
    }
    map.end_row();
  }
  return map.map;
}

AxisMap pool_map(const AxisWindow& window, const std::vector<double>& scale, const PairAxis& in, const PairAxis& out) {
  MapBuilder map(out.pairs(), in.pairs());
  for (int k = 0; k < out.pairs(); ++k) {
    const int o1 = out.first[k], o2 = out.second[k];
    const double weight = scale[o1] * scale[o2];
    for (int w1 = 0; w1 < window.window; ++w1) {
      const int i = window.input(o1, w1);
      if (i < 0) continue;
      for (int w2 = 0; w2 < window.window; ++w2) {
        const int j = window.input(o2, w2);
        if (j >= 0) map.add(stored(in, i, j), weight);
      }
    }
    map.end_row();
  }
  return map.map;
}

AxisMap diagonal_mean_map(const PairAxis& in) {
  MapBuilder map(1, in.pairs());
  for (int i = 0; i < in.size; ++i) map.add(stored(in, i, i), 1.0 / in.size);
  map.end_row();
  return map.map;
}

AxisMap global_map(const PairAxis& in, double c) {
  MapBuilder map(1, in.pairs());
  for (int k = 0; k < in.pairs(); ++k) map.add(k, c * c);
  map.end_row();
  return map.map;
}

AxisMap restriction_map(const PairAxis& in, const PairAxis& out) {
  MapBuilder map(out.pairs(), in.pairs());
  for (int k = 0; k < out.pairs(); ++k) {
    map.add(stored(in, out.first[k], out.second[k]), 1.0);
    map.end_row();
  }
  return map.map;
}

int radius_before_convolution(const AxisWindow& window, int radius_after) {
  // Both positions move by the same w: the offset o' − o becomes s·(o' − o) — unless the input
  // wraps, when a pair can straddle the edge (then every pair is kept).
  if (window.padding == Padding::Circular && radius_after > 0) return window.size_in - 1;
  return std::min(window.size_in - 1, window.stride * radius_after);
}

int radius_before_pool(const AxisWindow& window, int radius_after) {
  if (window.padding == Padding::Circular && (radius_after > 0 || window.window > 1)) return window.size_in - 1;
  return std::min(window.size_in - 1, window.stride * radius_after + window.window - 1);
}

}  // namespace ntkit::detail
