// AvgPool(window_shape, strides=None, padding='VALID', normalize_edges=False) and
// SumPool(window_shape, strides=None, padding='VALID'): neural-tangents' stax pools over 1 or
// 2 spatial axes (docs/mathematics.md §7).
//
// Finite width: y(o) = c Σ_{w ∈ window} h(o·s + w − pad), c = 1/|window| (AvgPool), 1 (SumPool),
// or 1/(the number of unpadded positions in the window) (AvgPool with normalize_edges).
// Infinite width, per pair of positions (o, o'): K ← Σ_{w, w'} c(o) c(o') K(o·s + w, o'·s + w'),
// and the same for Θ. Unlike a convolution the two windows move independently, so the output
// offset d needs the input offsets s·d − (k−1) … s·d + (k−1) (spatial_layout.hpp).
#include "../layer_text.hpp"
#include "layer_rules.hpp"
#include "ntkit/error.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

// ---- Text and checks -----------------------------------------------------------------------

std::vector<std::string> layer_names(const PoolLayer*) { return {"AvgPool", "SumPool"}; }

Layer parse_layer(const PoolLayer*, const Call& text) {
  PoolLayer pool;
  pool.kind = iequals(text.name, "SumPool") ? PoolKind::Sum : PoolKind::Average;
  const bool average = pool.kind == PoolKind::Average;
  // stax.AvgPool(window_shape, strides=None, padding='VALID', normalize_edges=False,
  //              batch_axis=0, channel_axis=-1); SumPool has no normalize_edges.
  LayerCall call(text, average ? "AvgPool" : "SumPool");
  std::vector<Param> signature{
      {"window_shape", ParamType::IntPair, true}, {"strides", ParamType::IntPair}, {"padding", ParamType::String}};
  if (average) signature.push_back({"normalize_edges", ParamType::Bool});
  signature.push_back({"batch_axis", ParamType::Int});
  signature.push_back({"channel_axis", ParamType::Int});
  call.bind(signature);
  pool.window_shape = call.to_int_list(0, 1, 2, false);
  if (call.given(1)) pool.strides = call.to_int_list(1, 1, 2, true);
  if (call.given(2)) pool.padding = call.to_padding(2);
  const std::size_t axes = average ? 4 : 3;
  if (average && call.given(3)) pool.normalize_edges = call.to_bool(3);
  call.check_axes(axes, axes + 1);
  return call.checked(pool);
}

std::string print_layer(const PoolLayer& pool) {
  std::vector<std::string> arguments{format_tuple(pool.window_shape)};
  const bool unit_strides = std::all_of(pool.strides.begin(), pool.strides.end(), [](int s) { return s == 1; });
  if (!unit_strides) arguments.push_back("strides=" + format_tuple(pool.strides));
  if (pool.padding != Padding::Valid) arguments.push_back(std::string("padding='") + padding_name(pool.padding) + "'");
  if (pool.normalize_edges) arguments.push_back("normalize_edges=True");
  return join_arguments(pool.kind == PoolKind::Sum ? "SumPool" : "AvgPool", arguments);
}

void check_arguments(const PoolLayer& pool, std::string* bad) {
  const std::string name = pool.kind == PoolKind::Sum ? "SumPool" : "AvgPool";
  check_window(name, "window_shape", pool.window_shape, bad);
  check_strides(name, pool.strides, pool.window_shape.size(), bad);
  if (pool.normalize_edges && pool.kind == PoolKind::Sum) {
    bad_argument(name, "normalize_edges", "False (only AvgPool normalizes)", "True", bad);
  }
}

std::optional<NetworkProblem> check_structure(const PoolLayer& pool, const std::vector<int>& path, StructureWalk& walk) {
  // A pool is linear: a Gaussian input stays Gaussian.
  return needs_single_input(pool.kind == PoolKind::Sum ? "'SumPool'" : "'AvgPool'", walk, path);
}

}  // namespace ntkit::detail

namespace ntkit {
Layer AvgPool(std::vector<int> window_shape, std::vector<int> strides, Padding padding, bool normalize_edges) {
  return detail::checked_layer(
      PoolLayer{PoolKind::Average, std::move(window_shape), std::move(strides), padding, normalize_edges});
}
Layer SumPool(std::vector<int> window_shape, std::vector<int> strides, Padding padding) {
  return detail::checked_layer(PoolLayer{PoolKind::Sum, std::move(window_shape), std::move(strides), padding, false});
}
}  // namespace ntkit

namespace ntkit::detail {

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const PoolLayer& pool, KernelNode& node, KernelCompiler& compiler) {
  node.windows = make_windows(print_layer(pool), node.in_dims, pool.window_shape, pool.strides, pool.padding);
  std::vector<int>& dims = compiler.dims.front();
  for (std::size_t a = 0; a < dims.size(); ++a) dims[a] = node.windows[a].size_out;
}

// c(o) per output position: 1 (SumPool), 1/window (AvgPool), or 1/(unpadded positions in the
// window) (AvgPool with normalize_edges).
std::vector<double> pool_scale(const PoolLayer& pool, const AxisWindow& window) {
  std::vector<double> scale(static_cast<std::size_t>(window.size_out), 1.0);
  if (pool.kind == PoolKind::Sum) return scale;
  for (int o = 0; o < window.size_out; ++o) {
    int count = window.window;
    if (pool.normalize_edges) {
      count = 0;
      for (int w = 0; w < window.window; ++w) count += window.input(o, w) >= 0 ? 1 : 0;
    }
    scale[static_cast<std::size_t>(o)] = 1.0 / count;
  }
  return scale;
}

void plan_kernel(const PoolLayer& pool, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  const Radii after = needs.front();
  Radii before;
  for (std::size_t a = 0; a < after.size(); ++a) before.push_back(radius_before_pool(node.windows[a], after[a]));
  const auto in = planner.layout(node.in_dims, before);
  node.out_layout = planner.layout(node.out_dims, after);
  std::vector<AxisMap> axes;
  for (std::size_t a = 0; a < after.size(); ++a) {
    axes.push_back(pool_map(node.windows[a], pool_scale(pool, node.windows[a]), in->axes[a], node.out_layout->axes[a]));
  }
  node.map = make_spatial_map(std::move(axes));
  needs.front() = before;
}

void apply_kernel(const PoolLayer&, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  pass.remap(streams.front(), node.map, node.out_layout.get());
}

}  // namespace ntkit::detail
