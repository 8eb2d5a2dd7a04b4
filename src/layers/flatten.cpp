// Flatten(): neural-tangents' stax.Flatten (docs/mathematics.md §7): all positions' channels
// side by side, a flat output of P·C features (P positions).
//
// Infinite width: a following Dense sees h·h'/(P·C) = mean_p (h(p)·h'(p)/C), so
// K ← mean_p K(p, p), Θ likewise: only the spatial diagonal (offset 0) is needed, which is
// why a conv/activation stack that ends in Flatten costs P·|filter| per pair, not P²·|filter|.
#include "../layer_text.hpp"
#include "layer_rules.hpp"
#include "ntkit/error.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const FlattenLayer*) { return {"Flatten"}; }

Layer parse_layer(const FlattenLayer*, const Call& text) {
  // stax.Flatten(batch_axis=0, batch_axis_out=0)
  LayerCall call(text, "Flatten");
  call.bind({{"batch_axis", ParamType::Int}, {"batch_axis_out", ParamType::Int}});
  for (std::size_t i = 0; i < 2; ++i) {
    if (call.given(i) && call.to_int(i) != 0) call.wrong_type(i, "0 (one example per row)");
  }
  return FlattenLayer{};
}

std::string print_layer(const FlattenLayer&) { return "Flatten"; }

void check_arguments(const FlattenLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const FlattenLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (auto problem = needs_single_input("'Flatten'", walk, path)) return problem;
  // The flattened features have each position's variance: not one Gaussian layer, so an
  // activation or LayerNorm needs a Dense first (as neural-tangents demands).
  walk.streams.front().gaussian = false;
  return std::nullopt;
}

}  // namespace ntkit::detail

namespace ntkit {
Layer Flatten() { return FlattenLayer{}; }
}  // namespace ntkit

namespace ntkit::detail {

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const FlattenLayer&, KernelNode&, KernelCompiler& compiler) { compiler.dims.front().clear(); }

void plan_kernel(const FlattenLayer&, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  if (node.in_dims.empty()) return;  // flat already: nothing to do
  const Radii diagonal(node.in_dims.size(), 0);
  const auto in = planner.layout(node.in_dims, diagonal);
  std::vector<AxisMap> axes;
  for (const PairAxis& axis : in->axes) axes.push_back(diagonal_mean_map(axis));
  node.map = make_spatial_map(std::move(axes));
  needs.front() = diagonal;
}

void apply_kernel(const FlattenLayer&, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  if (node.in_dims.empty()) return;
  KernelStream& s = streams.front();
  Eigen::Index positions = 1;
  for (int size : node.in_dims) positions *= size;
  pass.remap(s, node.map, nullptr);
  s.width = static_cast<int>(s.width * positions);
}

}  // namespace ntkit::detail
