// Identity: a no-op in every pass (a linear layer, not an activation: it may come first, and
// it is the shortcut branch of a residual block).
#include "layer_rules.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const IdentityLayer*) { return {"Identity"}; }

Layer parse_layer(const IdentityLayer*, const Call& text) {
  LayerCall call(text, "Identity");
  call.bind({});
  return IdentityLayer{};
}

std::string print_layer(const IdentityLayer&) { return "Identity"; }

void check_arguments(const IdentityLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const IdentityLayer&, const std::vector<int>& path, StructureWalk& walk) {
  return needs_single_input("'Identity'", walk, path);  // its output is its input, unchanged
}

void compile_kernel(const IdentityLayer&, KernelNode&, KernelCompiler&) {}
void plan_kernel(const IdentityLayer&, KernelNode&, KernelPlanner&, std::vector<Radii>&) {}
void apply_kernel(const IdentityLayer&, const KernelNode&, KernelPass&, std::vector<KernelStream>&) {}

void compile_finite(const IdentityLayer&, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  node.in = node.out = streams.front().width;
}
void forward(const IdentityLayer&, const MlpNode&, ForwardPass&, std::vector<RowMatrixD>&) {}
void backward(const IdentityLayer&, const MlpNode&, BackwardPass&, std::vector<RowMatrixD>&) {}
void tangent(const IdentityLayer&, const MlpNode&, TangentPass&, std::vector<TangentStream>&) {}

}  // namespace ntkit::detail

namespace ntkit {
Layer Identity() { return IdentityLayer{}; }
}  // namespace ntkit
