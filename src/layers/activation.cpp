// An elementwise activation φ as a layer: its rules in the network (docs/mathematics.md §5).
// What φ computes — φ, φ' (finite width) and the dual T, Ṫ (infinite width) — is in the
// activation catalogue (src/activations/, through PointwiseActivation and DualActivation);
// this file applies them:
//   infinite width   K ← T(q1, q2, K),  Θ ← Θ · Ṫ(q1, q2, K)   (q: the inputs' variances)
//   finite width     h = φ(z);  backward g ← φ'(z) ⊙ g;  tangent ṫ ← φ'(z) ⊙ ṫ
#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {

// g(r, :) ⊙= d(r / stack, :): `stack` cotangent rows per example share its φ'(z).
void scale_rows(RowMatrixD& g, const RowMatrixD& d, Eigen::Index stack) {
  if (stack == 1) {
    g.array() *= d.array();
    return;
  }
  for (Eigen::Index r = 0; r < g.rows(); ++r) g.row(r).array() *= d.row(r / stack).array();
}

}  // namespace

// ---- Text and checks -----------------------------------------------------------------------

std::vector<std::string> layer_names(const ActivationLayer*) {
  std::vector<std::string> names;
  for (const ActivationInfo& info : activation_table()) names.push_back(info.name);
  names.push_back("Step");   // neural-tangents has no Step: (x ≥ 0) x⁰ is RectifiedMonomial(0)
  names.push_back("Swish");  // = Silu
  return names;
}

Layer parse_layer(const ActivationLayer*, const Call& text) {
  if (iequals(text.name, "Step")) {
    LayerCall call(text, "Step");
    call.bind({});
    ActivationLayer step = make_activation(ActivationKind::RectifiedMonomial);
    step.degree = 0;
    return step;
  }
  const std::string_view name = iequals(text.name, "Swish") ? "Silu" : std::string_view(text.name);
  const ActivationInfo* found = nullptr;
  for (const ActivationInfo& info : activation_table()) {
    if (iequals(info.name, name)) found = &info;
  }
  if (found == nullptr) throw ParseError{text.offset, "unknown activation '" + text.name + "' {at}"};
  const ActivationInfo& info = *found;
  LayerCall call(text, info.name);
  std::vector<Param> signature;
  for (const ActivationParameter& parameter : info.parameters) {
    ParamType type = ParamType::Float;
    if (parameter.field == ActivationField::Degree) type = ParamType::Int;
    if (parameter.field == ActivationField::Coef) type = ParamType::FloatList;
    if (parameter.field == ActivationField::Approximate || parameter.field == ActivationField::DoStabilize) {
      type = ParamType::Bool;
    }
    signature.push_back({parameter.name, type, !parameter.default_value.has_value()});
  }
  call.bind(signature);
  ActivationLayer layer = make_activation(info.kind);
  for (std::size_t i = 0; i < signature.size(); ++i) {
    if (!call.given(i)) continue;
    switch (info.parameters[i].field) {
      case ActivationField::A: layer.a = call.to_float(i); break;
      case ActivationField::B: layer.b = call.to_float(i); break;
      case ActivationField::C: layer.c = call.to_float(i); break;
      case ActivationField::Alpha: layer.alpha = call.to_float(i); break;
      case ActivationField::Gamma: layer.gamma = call.to_float(i); break;
      case ActivationField::Degree: layer.degree = call.to_int(i); break;
      case ActivationField::Coef: layer.coef = call.to_float_list(i); break;
      case ActivationField::Approximate: layer.approximate = call.to_bool(i); break;
      case ActivationField::DoStabilize: layer.do_stabilize = call.to_bool(i); break;
    }
  }
  return call.checked(layer);
}

std::string print_layer(const ActivationLayer& layer) { return to_string(layer); }

void check_arguments(const ActivationLayer& layer, std::string* bad) { check_activation_arguments(layer, bad); }

std::optional<NetworkProblem> check_structure(const ActivationLayer& layer, const std::vector<int>& path,
                                              StructureWalk& walk) {
  // Built by appending: g++ 12 at -O3 misreports `"'" + std::string` as overlapping memcpy.
  std::string title = "'";
  title += to_string(layer.kind);
  title += "'";
  if (auto problem = needs_single_input(title, walk, path)) return problem;
  StructureStream& stream = walk.streams.front();
  if (auto problem = needs_gaussian_input(title, stream, path)) return problem;
  stream.gaussian = false;
  return std::nullopt;
}

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const ActivationLayer& layer, KernelNode& node, KernelCompiler& compiler) {
  node.dual = std::make_shared<const DualActivation>(layer, compiler.quadrature_degree);
}

void plan_kernel(const ActivationLayer&, KernelNode&, KernelPlanner&, std::vector<Radii>&) {}

void apply_kernel(const ActivationLayer&, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  KernelStream& s = streams.front();  // one input (validated)
  const Eigen::Index size = pass.size(s);
  double q1[kKernelChunk], q2[kKernelChunk], tdot[kKernelChunk];
  // In blocks of kKernelChunk values (a chunk of spatial states holds more).
  for (Eigen::Index begin = 0; begin < size; begin += kKernelChunk) {
    const Eigen::Index n = std::min(kKernelChunk, size - begin);
    pass.variances(s, begin, n, q1, q2);
    double* k = s.nngp.data() + begin;
    // The diagonal pass runs the very arithmetic of the pairs (apply with k = q1 = q2), so
    // K(X, X)'s diagonal equals the diagonal pass bit for bit.
    if (pass.ntk()) {
      node.dual->apply(q1, q2, k, k, tdot, static_cast<std::size_t>(n));
      double* theta = s.ntk.data() + begin;
      for (Eigen::Index e = 0; e < n; ++e) theta[e] *= tdot[e];
    } else {
      node.dual->apply(q1, q2, k, k, nullptr, static_cast<std::size_t>(n));
    }
  }
}

// ---- Finite width ------------------------------------------------------------------------------

void compile_finite(const ActivationLayer& layer, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  node.in = node.out = streams.front().width;
  node.activation = std::make_shared<const PointwiseActivation>(layer);
}

void forward(const ActivationLayer&, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams) {
  RowMatrixD& h = streams.front();
  const auto n = static_cast<std::size_t>(h.size());
  if (NodeCache* cache = pass.cache(node)) {  // backward needs φ'(z)
    cache->a.resize(h.rows(), h.cols());
    node.activation->apply(h.data(), h.data(), cache->a.data(), n);
  } else {
    node.activation->apply(h.data(), h.data(), nullptr, n);
  }
}

void backward(const ActivationLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (g.size() != 0) scale_rows(g, pass.cache(node).a, pass.stack);
}

void tangent(const ActivationLayer&, const MlpNode& node, TangentPass&, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  RowMatrixD d(s.h.rows(), s.h.cols());
  node.activation->apply(s.h.data(), s.h.data(), d.data(), static_cast<std::size_t>(s.h.size()));
  if (s.t.size() != 0) s.t.array() *= d.array();
}

}  // namespace ntkit::detail
