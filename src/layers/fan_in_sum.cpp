// FanInSum: sums the parallel inputs into one. At infinite width the branches are independent,
// so the covariances add: K = Σ K_b, Θ = Σ Θ_b. Backward copies the cotangent to every input.
#include <sstream>

#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const FanInSumLayer*) { return {"FanInSum"}; }

Layer parse_layer(const FanInSumLayer*, const Call& text) {
  LayerCall call(text, "FanInSum");
  call.bind({});
  return FanInSumLayer{};
}

std::string print_layer(const FanInSumLayer&) { return "FanInSum"; }

void check_arguments(const FanInSumLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const FanInSumLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (walk.streams.size() < 2) {
    return NetworkProblem{path,
                          "FanInSum {at} has nothing to merge: it needs FanOut(n) (and "
                          "parallel(...) with n branches) before it"};
  }
  // Lenient where neural-tangents raises NotImplementedError (non-Gaussian summands): the
  // covariance of a sum of independent branches is still the sum of covariances; only a later
  // activation needs Gaussian inputs, and that is checked there.
  StructureStream sum{true, false};
  for (const StructureStream& stream : walk.streams) {
    sum.gaussian = sum.gaussian && stream.gaussian;
    sum.after_dense = sum.after_dense || stream.after_dense;
  }
  walk.streams = {sum};
  return std::nullopt;
}

void compile_kernel(const FanInSumLayer&, KernelNode&, KernelCompiler& compiler) {
  join_spatial_shapes("FanInSum", compiler.dims);
}

// Every input must arrive with the layout its output needs (the branches' plans start from it).
void plan_kernel(const FanInSumLayer&, KernelNode& node, KernelPlanner&, std::vector<Radii>& needs) {
  const Radii need = needs.front();  // a copy: assign() must not read from the vector it refills
  needs.assign(static_cast<std::size_t>(node.inputs), need);
}

void apply_kernel(const FanInSumLayer&, const KernelNode&, KernelPass& pass, std::vector<KernelStream>& streams) {
  KernelStream sum = streams.front();
  for (std::size_t b = 1; b < streams.size(); ++b)
    for (Eigen::Index e = 0; e < pass.size(sum); ++e) {
      sum.nngp[e] += streams[b].nngp[e];
      sum.ntk[e] += streams[b].ntk[e];
    }
  streams.assign(1, sum);
}

void compile_finite(const FanInSumLayer&, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  std::vector<std::vector<int>> dims;  // the branches' positions must agree
  for (const StreamShape& s : streams) dims.push_back(s.dims);
  join_spatial_shapes("FanInSum", dims);
  StreamShape sum{streams.front().width, false, dims.front()};
  for (std::size_t b = 0; b < streams.size(); ++b) {
    if (streams[b].width != sum.width) {
      std::ostringstream msg;
      msg << "Mlp: FanInSum adds inputs of different widths (" << streams.front().width << " from branch 1, "
          << streams[b].width << " from branch " << b + 1
          << "); give every branch the same output width (the shortcut keeps its input's), or use FanInConcat";
      throw Error(msg.str());
    }
    sum.after_params = sum.after_params || streams[b].after_params;
    node.input_widths.push_back(streams[b].width);
  }
  node.in = node.out = sum.width;
  streams.assign(1, sum);
}

void forward(const FanInSumLayer&, const MlpNode&, ForwardPass&, std::vector<RowMatrixD>& streams) {
  for (std::size_t b = 1; b < streams.size(); ++b) streams.front() += streams[b];
  streams.resize(1);
}

void backward(const FanInSumLayer&, const MlpNode& node, BackwardPass&, std::vector<RowMatrixD>& cotangents) {
  const RowMatrixD one = std::move(cotangents.front());
  cotangents.assign(node.input_widths.size(), one);
}

void tangent(const FanInSumLayer&, const MlpNode&, TangentPass&, std::vector<TangentStream>& streams) {
  TangentStream& sum = streams.front();
  for (std::size_t b = 1; b < streams.size(); ++b) {
    sum.h += streams[b].h;
    if (streams[b].t.size() == 0) continue;
    if (sum.t.size() == 0) sum.t = std::move(streams[b].t);
    else sum.t += streams[b].t;
  }
  streams.resize(1);
}

}  // namespace ntkit::detail

namespace ntkit {
Layer FanInSum() { return FanInSumLayer{}; }
}  // namespace ntkit
