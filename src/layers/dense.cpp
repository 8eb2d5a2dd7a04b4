// Dense(out_dim, W_std=1, b_std=None, parameterization='ntk'): every rule of the fully
// connected layer (docs/mathematics.md §5).
//
// Finite width, with a = w_scale, c = b_scale:
//   'ntk'       W, b ~ N(0, 1),                z = (W_std/√n_in) W h + b_std b
//   'standard'  W ~ N(0, W_std²/n_in), b ~ N(0, b_std²),   z = W h + b
//   backward    ∂ into h: a·Wᵀ g    ∂W: a·g hᵀ    ∂b: c·g
// Infinite width (K the NNGP, Θ the NTK, n_in the input width):
//   'ntk'       K ← W_std² K + b_std²,   Θ ← W_std² Θ + K_new
//   'standard'  Θ ← n_in K_old + W_std² Θ + [1 if the bias exists],   K ← W_std² K_old + b_std²
//   fixed       Θ ← W_std² Θ (a layer that is not trained adds no term of its own)
#include <algorithm>
#include <cmath>

#include "../layer_text.hpp"
#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace detail {
namespace {

using ConstMap = Eigen::Map<const RowMatrixD>;

ConstMap weights(const MlpNode& d, const double* params) { return ConstMap(params + d.w_offset, d.out, d.in); }

// z += c·b on every row.
void add_bias(RowMatrixD& z, const MlpNode& d, const double* params) {
  if (d.b_offset < 0 || d.b_scale == 0.0) return;
  const Eigen::Map<const Eigen::RowVectorXd> b(params + d.b_offset, d.out);
  z.rowwise() += d.b_scale * b;
}

}  // namespace

// ---- Text and checks -----------------------------------------------------------------------

std::vector<std::string> layer_names(const DenseLayer*) { return {"Dense"}; }

Layer parse_layer(const DenseLayer*, const Call& text) {
  // stax.Dense(out_dim, W_std=1., b_std=None, batch_axis=0, channel_axis=-1,
  //            parameterization='ntk', s=(1, 1))
  LayerCall call(text, "Dense");
  call.bind({{"out_dim", ParamType::Int, true},
             {"W_std", ParamType::Float},
             {"b_std", ParamType::OptionalFloat},
             {"batch_axis", ParamType::Int},
             {"channel_axis", ParamType::Int},
             {"parameterization", ParamType::String},
             {"s", ParamType::IntPair}});
  DenseLayer dense;
  dense.out_dim = call.to_int(0);
  if (call.given(1)) dense.W_std = call.to_float(1);
  if (call.given(2)) dense.b_std = call.to_optional_float(2);
  call.check_axes(3, 4);
  if (call.given(5)) dense.parameterization = call.to_parameterization(5);
  if (call.given(6)) {
    const Value& value = call.value(6);
    const bool ones = value.kind == Value::Kind::List && value.items.size() == 2 &&
                      std::all_of(value.items.begin(), value.items.end(),
                                  [](const Value& v) { return v.kind == Value::Kind::Number && v.number == 1.0; });
    if (!ones) call.wrong_type(6, "(1, 1) (ntkit's networks have fixed input and output sizes)");
  }
  return call.checked(dense);
}

std::string print_layer(const DenseLayer& dense) {
  std::vector<std::string> arguments{std::to_string(dense.out_dim)};
  if (dense.W_std != 1.0) arguments.push_back("W_std=" + format_number(dense.W_std));
  if (dense.b_std) arguments.push_back("b_std=" + format_number(*dense.b_std));
  if (dense.parameterization == Parameterization::Standard) arguments.push_back("parameterization='standard'");
  return join_arguments("Dense", arguments);
}

void check_arguments(const DenseLayer& dense, std::string* bad) {
  if (dense.out_dim < 1) bad_argument("Dense", "out_dim", "a positive integer", std::to_string(dense.out_dim), bad);
  if (!std::isfinite(dense.W_std) || dense.W_std < 0) {
    bad_argument("Dense", "W_std", "a finite number ≥ 0", format_number(dense.W_std), bad);
  }
  if (dense.b_std && (!std::isfinite(*dense.b_std) || *dense.b_std < 0)) {
    bad_argument("Dense", "b_std", "a finite number ≥ 0, or None for no bias", format_number(*dense.b_std), bad);
  }
}

std::optional<NetworkProblem> check_structure(const DenseLayer&, const std::vector<int>& path, StructureWalk& walk) {
  if (auto problem = needs_single_input("'Dense'", walk, path)) return problem;
  walk.streams.front() = StructureStream{true, true};  // a Dense's output is Gaussian
  walk.any_dense = true;
  return std::nullopt;
}

// ---- Infinite width --------------------------------------------------------------------------

void compile_kernel(const DenseLayer&, KernelNode& node, KernelCompiler& compiler) {
  node.fixed = compiler.next_dense_is_fixed();
}

void plan_kernel(const DenseLayer&, KernelNode&, KernelPlanner&, std::vector<Radii>&) {}

void apply_affine_kernel(KernelStream& s, Eigen::Index size, const AffineKernel& a, bool ntk) {
  const double w2 = a.W_std * a.W_std, b2 = a.b_std ? *a.b_std * *a.b_std : 0.0;
  const double bias_ntk = a.b_std ? 1.0 : 0.0;
  const double fan_in = a.fan_in;
  double* k = s.nngp.data();
  double* theta = s.ntk.data();
  // Branch-free loops per case, so that each vectorizes.
  if (!ntk) {
#pragma omp simd
    for (Eigen::Index e = 0; e < size; ++e) k[e] = w2 * k[e] + b2;
  } else if (a.fixed) {
#pragma omp simd
    for (Eigen::Index e = 0; e < size; ++e) {
      k[e] = w2 * k[e] + b2;
      theta[e] = w2 * theta[e];
    }
  } else if (a.parameterization == Parameterization::Ntk) {
#pragma omp simd
    for (Eigen::Index e = 0; e < size; ++e) {
      k[e] = w2 * k[e] + b2;
      theta[e] = w2 * theta[e] + k[e];
    }
  } else {
#pragma omp simd
    for (Eigen::Index e = 0; e < size; ++e) {
      theta[e] = fan_in * k[e] + w2 * theta[e] + bias_ntk;
      k[e] = w2 * k[e] + b2;
    }
  }
}

void apply_kernel(const DenseLayer& d, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  KernelStream& s = streams.front();  // one input (validated)
  // Every value alike: on spatial states a Dense acts on the channels at each position.
  const AffineKernel affine{d.W_std, d.b_std, d.parameterization, static_cast<double>(s.width), node.fixed};
  apply_affine_kernel(s, pass.size(s), affine, pass.ntk());
  s.width = d.out_dim;
}

// ---- Finite width ------------------------------------------------------------------------------
// On a spatial stream ((n·P) x C rows, mlp_program.hpp) every rule runs unchanged: a Dense acts
// on the channels of each position, as neural-tangents' Dense (a 1 x 1 convolution). Conv runs
// these same rules on its patches (spatial_finite.cpp). Its empirical-NTK term is in
// mlp_weight_ntk.cpp.

void compile_finite(const DenseLayer& d, MlpNode& node, FiniteCompiler& compiler, std::vector<StreamShape>& streams) {
  node.in = streams.front().width;
  node.out = d.out_dim;
  node.W_std = d.W_std;
  node.b_std = d.b_std.value_or(0.0);
  const double root_in = std::sqrt(static_cast<double>(node.in));
  if (d.parameterization == Parameterization::Ntk) {
    node.w_scale = d.W_std / root_in, node.b_scale = node.b_std;
    node.w_init = 1.0, node.b_init = 1.0;
  } else {
    node.w_scale = 1.0, node.b_scale = 1.0;
    node.w_init = d.W_std / root_in, node.b_init = node.b_std;
  }
  node.w_offset = compiler.reserve_parameters(static_cast<Eigen::Index>(node.in) * node.out);
  if (d.b_std) node.b_offset = compiler.reserve_parameters(node.out);
  streams.front() = StreamShape{d.out_dim, true, streams.front().dims};  // on spatial rows: per position
}

void initialize_dense(const MlpNode& dense, double* params, const std::function<double()>& normal) {
  double* w = params + dense.w_offset;
  const Eigen::Index nw = static_cast<Eigen::Index>(dense.in) * dense.out;
  for (Eigen::Index i = 0; i < nw; ++i) w[i] = dense.w_init * normal();
  if (dense.b_offset >= 0) {
    double* b = params + dense.b_offset;
    for (int i = 0; i < dense.out; ++i) b[i] = dense.b_init * normal();
  }
}

void forward(const DenseLayer&, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams) {
  RowMatrixD& h = streams.front();
  RowMatrixD z(h.rows(), node.out);
  gemm(node.w_scale, h, false, weights(node, pass.params), true, 0.0, z);
  add_bias(z, node, pass.params);
  if (NodeCache* cache = pass.cache(node)) cache->a = std::move(h);  // backward needs the input
  h = std::move(z);
}

void backward(const DenseLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (g.size() == 0) return;
  pass.visit(node, pass.cache(node).a, g);
  if (!node.after_params) {  // nothing upstream needs a cotangent
    g = RowMatrixD();
    return;
  }
  RowMatrixD g_in(g.rows(), node.in);
  gemm(node.w_scale, g, false, weights(node, pass.params), false, 0.0, g_in);
  g = std::move(g_in);
}

void add_dense_gradient(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, double* grad) {
  Eigen::Map<RowMatrixD> gw(grad + d.w_offset, d.out, d.in);
  gemm(d.w_scale, g, true, h, false, 1.0, gw);  // a · Gᵀ H
  if (d.b_offset >= 0) {
    Eigen::Map<Eigen::RowVectorXd> gb(grad + d.b_offset, d.out);
    gb += d.b_scale * g.colwise().sum();
  }
}

void tangent(const DenseLayer&, const MlpNode& node, TangentPass& pass, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  // ż = a (ḣ Wᵀ + h ΔWᵀ) + c Δb, then z = a h Wᵀ + c b.
  RowMatrixD zt(s.h.rows(), node.out);
  gemm(node.w_scale, s.h, false, weights(node, pass.tangent), true, 0.0, zt);
  if (s.t.size() != 0) gemm(node.w_scale, s.t, false, weights(node, pass.params), true, 1.0, zt);
  add_bias(zt, node, pass.tangent);
  RowMatrixD z(s.h.rows(), node.out);
  gemm(node.w_scale, s.h, false, weights(node, pass.params), true, 0.0, z);
  add_bias(z, node, pass.params);
  s.h = std::move(z);
  s.t = std::move(zt);
}

}  // namespace detail

Layer Dense(int out_dim, double W_std, std::optional<double> b_std, Parameterization parameterization) {
  return detail::checked_layer(DenseLayer{out_dim, W_std, b_std, parameterization});
}

}  // namespace ntkit
