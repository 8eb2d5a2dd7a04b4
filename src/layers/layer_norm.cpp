// LayerNorm(eps=1e-12) over the features: y = (x − mean x) / √(var x + eps) per example
// (docs/mathematics.md §5).
//   infinite width   K ← K / √((q1 + eps)(q2 + eps)),  Θ ← Θ / √((q1 + eps)(q2 + eps))
//                    (the feature mean of an infinitely wide Gaussian layer is 0; as
//                    neural-tangents' stax.LayerNorm; with eps = 0 a zero-variance side gives 0)
//   finite width     with s = 1/√(var + eps) and means over the features,
//                    backward g ← s (g − mean g − y·mean(g ⊙ y)); its Jacobian is symmetric,
//                    so the tangent rule is the same map.
#include <cmath>

#include "../layer_text.hpp"
#include "layer_rules.hpp"

namespace ntkit::detail {
namespace {

// Mean-centred, scaled rows: y = (x − mean) s, s = 1/√(var + eps) (biased variance, as jnp.var).
void normalize_rows(RowMatrixD& x, double eps, VectorD& inv_std) {
  const Eigen::Index n = x.rows();
  const auto w = static_cast<double>(x.cols());
  inv_std.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    auto row = x.row(i);
    const double mean = row.sum() / w;
    row.array() -= mean;
    const double var = row.squaredNorm() / w;
    inv_std[i] = 1.0 / std::sqrt(var + eps);
    row *= inv_std[i];
  }
}

// g ← s (g − mean g − y·mean(g ⊙ y)) for every row r of g, with y and s of example r / stack.
void pull_back(RowMatrixD& g, const RowMatrixD& y, const VectorD& inv_std, Eigen::Index stack) {
  const auto w = static_cast<double>(g.cols());
  for (Eigen::Index r = 0; r < g.rows(); ++r) {
    const Eigen::Index i = r / stack;
    auto row = g.row(r);
    const double mean_g = row.sum() / w;
    const double mean_gy = row.dot(y.row(i)) / w;
    row = inv_std[i] * (row - RowMatrixD::Constant(1, g.cols(), mean_g) - mean_gy * y.row(i));
  }
}

}  // namespace

std::vector<std::string> layer_names(const LayerNormLayer*) { return {"LayerNorm"}; }

Layer parse_layer(const LayerNormLayer*, const Call& text) {
  // stax.LayerNorm(axis=-1, eps=1e-12, batch_axis=0, channel_axis=-1)
  LayerCall call(text, "LayerNorm");
  call.bind({{"axis", ParamType::Int},
             {"eps", ParamType::Float},
             {"batch_axis", ParamType::Int},
             {"channel_axis", ParamType::Int}});
  LayerNormLayer norm;
  if (call.given(0)) {
    const Value& value = call.value(0);
    const bool features = value.kind == Value::Kind::Number && value.is_integer && (value.number == -1 || value.number == 1);
    if (!features) call.wrong_type(0, "-1 (the features)");
  }
  if (call.given(1)) norm.eps = call.to_float(1);
  call.check_axes(2, 3);
  return call.checked(norm);
}

std::string print_layer(const LayerNormLayer& norm) {
  if (norm.eps == LayerNormLayer{}.eps) return "LayerNorm";
  return "LayerNorm(eps=" + format_number(norm.eps) + ")";
}

void check_arguments(const LayerNormLayer& norm, std::string* bad) {
  if (!std::isfinite(norm.eps) || norm.eps < 0) {
    bad_argument("LayerNorm", "eps", "a finite number ≥ 0", format_number(norm.eps), bad);
  }
}

std::optional<NetworkProblem> check_structure(const LayerNormLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (auto problem = needs_single_input("'LayerNorm'", walk, path)) return problem;
  // neural-tangents' LayerNorm kernel ignores the mean subtraction: valid for Gaussian
  // (zero-mean) inputs only; its output stays Gaussian.
  return needs_gaussian_input("'LayerNorm'", walk.streams.front(), path);
}

void compile_kernel(const LayerNormLayer&, KernelNode&, KernelCompiler&) {}

void plan_kernel(const LayerNormLayer&, KernelNode&, KernelPlanner&, std::vector<Radii>&) {}

void apply_kernel(const LayerNormLayer& norm, const KernelNode&, KernelPass& pass, std::vector<KernelStream>& streams) {
  KernelStream& s = streams.front();  // one input (validated)
  const Eigen::Index size = pass.size(s);
  double q1[kKernelChunk], q2[kKernelChunk];
  for (Eigen::Index begin = 0; begin < size; begin += kKernelChunk) {  // spatial states: per position
    const Eigen::Index n = std::min(kKernelChunk, size - begin);
    pass.variances(s, begin, n, q1, q2);
    for (Eigen::Index e = 0; e < n; ++e) {
      // Two square roots, not one of the product: (q1 + ε)(q2 + ε) overflows for inputs of
      // scale 1e78 and the kernel became 0; this way LayerNorm is scale-invariant up to the
      // largest finite variance.
      const double root = std::sqrt(q1[e] + norm.eps) * std::sqrt(q2[e] + norm.eps);
      const double scale = root > 0 ? 1.0 / root : 0.0;
      s.nngp[begin + e] *= scale;
      s.ntk[begin + e] *= scale;
    }
  }
}

void compile_finite(const LayerNormLayer&, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  node.in = node.out = streams.front().width;
}

void forward(const LayerNormLayer& norm, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams) {
  RowMatrixD& h = streams.front();
  VectorD inv_std;
  normalize_rows(h, norm.eps, inv_std);
  if (NodeCache* cache = pass.cache(node)) {  // backward needs y and s
    cache->a = h;
    cache->v = std::move(inv_std);
  }
}

void backward(const LayerNormLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (g.size() != 0) pull_back(g, pass.cache(node).a, pass.cache(node).v, pass.stack);
}

void tangent(const LayerNormLayer& norm, const MlpNode&, TangentPass&, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  VectorD inv_std;
  normalize_rows(s.h, norm.eps, inv_std);
  if (s.t.size() != 0) pull_back(s.t, s.h, inv_std, 1);
}

}  // namespace ntkit::detail

namespace ntkit {
Layer LayerNorm(double eps) { return detail::checked_layer(LayerNormLayer{eps}); }
}  // namespace ntkit
