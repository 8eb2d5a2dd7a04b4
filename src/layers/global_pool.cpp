// GlobalAvgPool() and GlobalSumPool(): neural-tangents' stax global pools (docs/mathematics.md
// §7): the mean (sum) of every position's channels, a flat output of C features.
//
// Infinite width: K ← c² Σ_{p, p'} K(p, p'), Θ likewise, with c = 1/P (average over P positions)
// or 1 (sum). Every pair of positions contributes, so the layers before need the whole spatial
// covariance.
#include "../layer_text.hpp"
#include "layer_rules.hpp"
#include "ntkit/error.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const GlobalPoolLayer*) { return {"GlobalAvgPool", "GlobalSumPool"}; }

Layer parse_layer(const GlobalPoolLayer*, const Call& text) {
  GlobalPoolLayer pool;
  pool.kind = iequals(text.name, "GlobalSumPool") ? PoolKind::Sum : PoolKind::Average;
  // stax.GlobalAvgPool(batch_axis=0, channel_axis=-1)
  LayerCall call(text, pool.kind == PoolKind::Sum ? "GlobalSumPool" : "GlobalAvgPool");
  call.bind({{"batch_axis", ParamType::Int}, {"channel_axis", ParamType::Int}});
  call.check_axes(0, 1);
  return pool;
}

std::string print_layer(const GlobalPoolLayer& pool) {
  return pool.kind == PoolKind::Sum ? "GlobalSumPool" : "GlobalAvgPool";
}

void check_arguments(const GlobalPoolLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const GlobalPoolLayer& pool, const std::vector<int>& path,
                                              StructureWalk& walk) {
  return needs_single_input(pool.kind == PoolKind::Sum ? "'GlobalSumPool'" : "'GlobalAvgPool'", walk, path);
}

}  // namespace ntkit::detail

namespace ntkit {
Layer GlobalAvgPool() { return GlobalPoolLayer{PoolKind::Average}; }
Layer GlobalSumPool() { return GlobalPoolLayer{PoolKind::Sum}; }
}  // namespace ntkit

namespace ntkit::detail {

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const GlobalPoolLayer&, KernelNode&, KernelCompiler& compiler) { compiler.dims.front().clear(); }

void plan_kernel(const GlobalPoolLayer& pool, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  if (node.in_dims.empty()) return;  // flat already: nothing to pool
  Radii every;
  for (int size : node.in_dims) every.push_back(size - 1);  // every pair of positions
  const auto in = planner.layout(node.in_dims, every);
  std::vector<AxisMap> axes;
  for (const PairAxis& axis : in->axes) axes.push_back(global_map(axis, pool.kind == PoolKind::Sum ? 1.0 : 1.0 / axis.size));
  node.map = make_spatial_map(std::move(axes));
  needs.front() = every;
}

void apply_kernel(const GlobalPoolLayer&, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  if (node.in_dims.empty()) return;
  pass.remap(streams.front(), node.map, nullptr);
}

}  // namespace ntkit::detail
