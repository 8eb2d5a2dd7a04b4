// FanOut(num): num copies of the input, to be consumed by parallel(...) with num branches
// (or merged by FanInSum / FanInConcat). Every pass copies forward; backward sums (the
// transpose of a copy).
#include "../layer_text.hpp"
#include "layer_rules.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const FanOutLayer*) { return {"FanOut"}; }

Layer parse_layer(const FanOutLayer*, const Call& text) {
  LayerCall call(text, "FanOut");
  call.bind({{"num", ParamType::Int, true}});
  return call.checked(FanOutLayer{call.to_int(0)});
}

std::string print_layer(const FanOutLayer& fan_out) { return "FanOut(" + std::to_string(fan_out.num) + ")"; }

void check_arguments(const FanOutLayer& fan_out, std::string* bad) {
  if (fan_out.num < 1 || fan_out.num > kMaxFanOut) {
    bad_argument("FanOut", "num", "an integer from 1 to " + std::to_string(kMaxFanOut), std::to_string(fan_out.num), bad);
  }
}

std::optional<NetworkProblem> check_structure(const FanOutLayer& fan_out, const std::vector<int>& path, StructureWalk& walk) {
  if (auto problem = needs_single_input("'FanOut'", walk, path)) return problem;
  walk.streams.assign(static_cast<std::size_t>(fan_out.num), walk.streams.front());
  walk.last_fan_out_path = path;
  walk.last_fan_out_num = fan_out.num;
  return std::nullopt;
}

void compile_kernel(const FanOutLayer& fan_out, KernelNode&, KernelCompiler& compiler) {
  compiler.dims.assign(static_cast<std::size_t>(fan_out.num), compiler.dims.front());
}

// The input carries every offset any copy needs; a copy that needs fewer is cut down to them.
void plan_kernel(const FanOutLayer&, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  Radii widest = needs.front();
  for (const Radii& need : needs)
    for (std::size_t a = 0; a < need.size(); ++a) widest[a] = std::max(widest[a], need[a]);
  const auto input = planner.layout(node.in_dims, widest);
  for (const Radii& need : needs) {
    if (need == widest) {
      node.copy_layouts.push_back(input);
      node.copy_maps.push_back(nullptr);
      continue;
    }
    auto layout = planner.layout(node.in_dims, need);
    std::vector<AxisMap> axes;
    for (std::size_t a = 0; a < need.size(); ++a) axes.push_back(restriction_map(input->axes[a], layout->axes[a]));
    node.copy_maps.push_back(std::make_shared<const SpatialMap>(make_spatial_map(std::move(axes))));
    node.copy_layouts.push_back(std::move(layout));
  }
  needs.assign(1, widest);
}

void apply_kernel(const FanOutLayer& fan_out, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  const KernelStream one = streams.front();
  streams.assign(static_cast<std::size_t>(fan_out.num), one);
  for (std::size_t b = 0; b < streams.size(); ++b) {
    if (node.copy_maps[b]) pass.remap(streams[b], *node.copy_maps[b], node.copy_layouts[b].get());
  }
}

void compile_finite(const FanOutLayer& fan_out, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  node.in = node.out = streams.front().width;
  streams.assign(static_cast<std::size_t>(fan_out.num), streams.front());
}

void forward(const FanOutLayer& fan_out, const MlpNode&, ForwardPass&, std::vector<RowMatrixD>& streams) {
  const RowMatrixD one = std::move(streams.front());
  streams.assign(static_cast<std::size_t>(fan_out.num), one);
}

void backward(const FanOutLayer&, const MlpNode&, BackwardPass&, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD sum;
  for (RowMatrixD& g : cotangents) {
    if (g.size() == 0) continue;  // a branch without parameters upstream: no cotangent
    if (sum.size() == 0) sum = std::move(g);
    else sum += g;
  }
  cotangents.assign(1, std::move(sum));
}

void tangent(const FanOutLayer& fan_out, const MlpNode&, TangentPass&, std::vector<TangentStream>& streams) {
  const TangentStream one = std::move(streams.front());
  streams.assign(static_cast<std::size_t>(fan_out.num), one);
}

}  // namespace ntkit::detail

namespace ntkit {
Layer FanOut(int num) { return detail::checked_layer(FanOutLayer{num}); }
}  // namespace ntkit
