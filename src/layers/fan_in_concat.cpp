// FanInConcat (neural-tangents' stax.FanInConcat(axis=-1)): joins the parallel inputs'
// features side by side, h = [h_1, …, h_B] of width n = Σ n_b.
//   infinite width   the next Dense sees h·h'/n = Σ (n_b/n) h_b·h_b'/n_b, so the kernels are
//                    the width-weighted mean K = Σ n_b K_b / n, Θ = Σ n_b Θ_b / n (the plain
//                    mean when all widths are equal, as neural-tangents computes it). The
//                    result is not Gaussian in the sense an activation needs (its features
//                    have different variances), so a Dense must come before the next
//                    activation or LayerNorm — neural-tangents makes the same demand.
//   finite width     forward concatenates columns, backward splits the cotangent's columns,
//                    tangent concatenates (a branch without parameters contributes zeros).
#include <sstream>

#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const FanInConcatLayer*) { return {"FanInConcat"}; }

Layer parse_layer(const FanInConcatLayer*, const Call& text) {
  LayerCall call(text, "FanInConcat");
  call.bind({{"axis", ParamType::Int}});
  if (call.given(0)) {
    const int axis = call.to_int(0);
    if (axis != -1 && axis != 1) call.wrong_type(0, "-1 (the features; inputs are n × d)");
  }
  return FanInConcatLayer{};
}

std::string print_layer(const FanInConcatLayer&) { return "FanInConcat"; }

void check_arguments(const FanInConcatLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const FanInConcatLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (walk.streams.size() < 2) {
    return NetworkProblem{path,
                          "FanInConcat {at} has nothing to join: it needs FanOut(n) (and "
                          "parallel(...) with n branches) before it"};
  }
  StructureStream joined{false, false};
  for (const StructureStream& stream : walk.streams) joined.after_dense = joined.after_dense || stream.after_dense;
  walk.streams = {joined};
  return std::nullopt;
}

void compile_kernel(const FanInConcatLayer&, KernelNode&, KernelCompiler& compiler) {
  join_spatial_shapes("FanInConcat", compiler.dims);
}

void plan_kernel(const FanInConcatLayer&, KernelNode& node, KernelPlanner&, std::vector<Radii>& needs) {
  const Radii need = needs.front();  // a copy: assign() must not read from the vector it refills
  needs.assign(static_cast<std::size_t>(node.inputs), need);
}

void apply_kernel(const FanInConcatLayer&, const KernelNode&, KernelPass& pass, std::vector<KernelStream>& streams) {
  bool equal = true;
  double total = 0;
  for (const KernelStream& s : streams) {
    equal = equal && s.width == streams.front().width;
    total += s.width;
  }
  // Equal widths: the plain mean (weights 1), so that the result does not depend on rounding
  // of n_b / n.
  const auto weight = [&](const KernelStream& s) { return equal ? 1.0 : static_cast<double>(s.width); };
  const double inv_total = 1.0 / (equal ? static_cast<double>(streams.size()) : total);
  KernelStream joined = streams.front();
  joined.width = static_cast<int>(total);
  const double w0 = weight(streams.front());
  for (Eigen::Index e = 0; e < pass.size(joined); ++e) {
    joined.nngp[e] *= w0;
    joined.ntk[e] *= w0;
  }
  for (std::size_t b = 1; b < streams.size(); ++b) {
    const double w = weight(streams[b]);
    for (Eigen::Index e = 0; e < pass.size(joined); ++e) {
      joined.nngp[e] += w * streams[b].nngp[e];
      joined.ntk[e] += w * streams[b].ntk[e];
    }
  }
  for (Eigen::Index e = 0; e < pass.size(joined); ++e) {
    joined.nngp[e] *= inv_total;
    joined.ntk[e] *= inv_total;
  }
  streams.assign(1, std::move(joined));
}

void compile_finite(const FanInConcatLayer&, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  std::vector<std::vector<int>> dims;  // the branches' positions must agree
  for (const StreamShape& s : streams) dims.push_back(s.dims);
  join_spatial_shapes("FanInConcat", dims);
  StreamShape joined{0, false, dims.front()};
  for (const StreamShape& s : streams) {
    node.input_widths.push_back(s.width);
    joined.width += s.width;
    joined.after_params = joined.after_params || s.after_params;
  }
  node.in = streams.front().width;
  node.out = joined.width;
  streams.assign(1, joined);
}

void forward(const FanInConcatLayer&, const MlpNode& node, ForwardPass&, std::vector<RowMatrixD>& streams) {
  RowMatrixD joined(streams.front().rows(), node.out);
  Eigen::Index column = 0;
  for (const RowMatrixD& h : streams) {
    joined.middleCols(column, h.cols()) = h;
    column += h.cols();
  }
  streams.assign(1, std::move(joined));
}

void backward(const FanInConcatLayer&, const MlpNode& node, BackwardPass&, std::vector<RowMatrixD>& cotangents) {
  const RowMatrixD g = std::move(cotangents.front());
  cotangents.assign(node.input_widths.size(), RowMatrixD());
  if (g.size() == 0) return;  // nothing upstream needs a cotangent
  Eigen::Index column = 0;
  for (std::size_t b = 0; b < node.input_widths.size(); ++b) {
    cotangents[b] = g.middleCols(column, node.input_widths[b]);
    column += node.input_widths[b];
  }
}

void tangent(const FanInConcatLayer&, const MlpNode& node, TangentPass&, std::vector<TangentStream>& streams) {
  const Eigen::Index n = streams.front().h.rows();
  TangentStream joined{RowMatrixD(n, node.out), RowMatrixD()};
  bool any_tangent = false;
  for (const TangentStream& s : streams) any_tangent = any_tangent || s.t.size() != 0;
  if (any_tangent) joined.t = RowMatrixD::Zero(n, node.out);
  Eigen::Index column = 0;
  for (const TangentStream& s : streams) {
    joined.h.middleCols(column, s.h.cols()) = s.h;
    if (s.t.size() != 0) joined.t.middleCols(column, s.t.cols()) = s.t;
    column += s.h.cols();
  }
  streams.assign(1, std::move(joined));
}

}  // namespace ntkit::detail

namespace ntkit {
Layer FanInConcat() { return FanInConcatLayer{}; }
}  // namespace ntkit
