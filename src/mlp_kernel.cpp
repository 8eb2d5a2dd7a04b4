// Empirical NTK / NNGP of finite networks by per-layer products, and their Monte Carlo
// average (formulas in mlp_kernel.hpp).
//
// X1 and X2 go through the network as one batch [X1; X2], so a single forward and a single
// backward pass serve both; at each Dense the products take the X1 rows against the X2 rows.
// The backward pass carries O cotangent rows per example (row i·O + o starts as the unit
// vector e_o), so one pass yields every logit's gradient structure. Stored row-major, the
// (n·O) x out cotangent G is also the n x (O·out) matrix G̃ whose row i concatenates the O
// cotangents of example i: the logit-averaged kernel needs Σ_o G_o G'_oᵀ = G̃ G̃'ᵀ, one GEMM.
#include "ntkit/mlp_kernel.hpp"

#include <sstream>

#include "mlp_program.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

using detail::gemm;
using detail::MlpNode;
using Index = Eigen::Index;
using ConstMap = Eigen::Map<const RowMatrixD>;

EmpiricalKernels compute(const Mlp& net, MatrixView<double> x1, const MatrixView<double>* x2,
                         const EmpiricalOptions& options) {
  const char* who = "empirical_kernels";
  detail::require_inputs(x1, net.input_dim(), who, "x1");
  if (x2) detail::require_inputs(*x2, net.input_dim(), who, "x2");
  const detail::MlpProgram& program = net.program();
  const double* params = net.parameters().data();
  const Index n1 = x1.rows(), n2 = x2 ? x2->rows() : n1, out_dim = program.output_dim;
  const Index second = x2 ? n1 : 0;  // first row of X2 in the batch

  RowMatrixD batch(n1 + (x2 ? n2 : 0), x1.cols());
  batch.topRows(n1) = x1;
  if (x2) batch.bottomRows(n2) = *x2;
  detail::MlpPass pass;
  detail::forward_pass(program, params, batch, pass, true);

  EmpiricalKernels k;
  const bool full = options.full_logits;
  const Index rows = full ? n1 * out_dim : n1, cols = full ? n2 * out_dim : n2;

  if (options.nngp) {
    const MlpNode& last = program.nodes.back();
    // Expectation over the readout's parameters (a Dense on flat features; otherwise the
    // output Gram).
    if (std::holds_alternative<DenseLayer>(last.layer) && last.in_dims.empty()) {
      const RowMatrixD& h = pass.caches[static_cast<std::size_t>(last.id)].a;
      RowMatrixD gram(n1, n2);
      gemm(last.W_std * last.W_std / last.in, h.topRows(n1), false, h.middleRows(second, n2), true, 0.0, gram);
      gram.array() += last.b_std * last.b_std;
      k.nngp = RowMatrixD::Zero(rows, cols);
      if (!full) k.nngp = std::move(gram);
      else
        for (Index i = 0; i < n1; ++i)
          for (Index j = 0; j < n2; ++j)
            for (Index o = 0; o < out_dim; ++o) k.nngp(i * out_dim + o, j * out_dim + o) = gram(i, j);
    } else {  // no readout: the output Gram
      const RowMatrixD& f = pass.output;
      if (!full) {
        k.nngp.resize(n1, n2);
        gemm(1.0 / static_cast<double>(out_dim), f.topRows(n1), false, f.middleRows(second, n2), true, 0.0, k.nngp);
      } else {
        const ConstMap v1(f.data(), n1 * out_dim, 1), v2(f.data() + second * out_dim, n2 * out_dim, 1);
        k.nngp = v1 * v2.transpose();
      }
    }
  }

  if (options.ntk) {
    const Index n = batch.rows();
    RowMatrixD cotangent = RowMatrixD::Zero(n * out_dim, out_dim);
    for (Index i = 0; i < n; ++i)
      for (Index o = 0; o < out_dim; ++o) cotangent(i * out_dim + o, o) = 1.0;
    k.ntk = RowMatrixD::Zero(rows, cols);
    detail::WeightNtkScratch scratch;
    const detail::DenseVisitor visit = [&](const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g) {
      detail::add_weight_ntk_term(d, h, g, n1, second, n2, out_dim, full, scratch, k.ntk);
    };
    detail::backward_pass(program, params, pass, std::move(cotangent), out_dim, visit);
    if (!full) k.ntk /= static_cast<double>(out_dim);
  }

  if (!x2) {  // K(X, X): exactly symmetric (the products are symmetric only up to rounding)
    if (k.nngp.size() != 0) k.nngp = (0.5 * (k.nngp + k.nngp.transpose())).eval();
    if (k.ntk.size() != 0) k.ntk = (0.5 * (k.ntk + k.ntk.transpose())).eval();
  }
  return k;
}

EmpiricalKernels monte_carlo(const Network& network, MatrixView<double> x1, const MatrixView<double>* x2, int samples,
                             std::uint64_t seed, const EmpiricalOptions& options) {
  if (samples < 1) {
    throw Error("monte_carlo_kernels: samples must be >= 1, got " + std::to_string(samples));
  }
  EmpiricalKernels sum;
  for (int s = 0; s < samples; ++s) {
    const std::vector<int> shape = options.input_shape.empty() ? std::vector<int>{static_cast<int>(x1.cols())}
                                                               : options.input_shape;
    const Mlp net(network, shape, monte_carlo_seed(seed, s));
    EmpiricalKernels k = x2 ? empirical_kernels(net, x1, *x2, options) : empirical_kernels(net, x1, options);
    if (s == 0) {
      sum = std::move(k);
      if (options.progress) options.progress(1.0 / samples);
      continue;
    }
    if (options.nngp) sum.nngp += k.nngp;
    if (options.ntk) sum.ntk += k.ntk;
    if (options.progress) options.progress(static_cast<double>(s + 1) / samples);
  }
  if (options.nngp) sum.nngp /= samples;
  if (options.ntk) sum.ntk /= samples;
  return sum;
}

}  // namespace

EmpiricalKernels empirical_kernels(const Mlp& net, MatrixView<double> x1, MatrixView<double> x2,
                                   const EmpiricalOptions& options) {
  return compute(net, x1, &x2, options);
}

EmpiricalKernels empirical_kernels(const Mlp& net, MatrixView<double> x, const EmpiricalOptions& options) {
  return compute(net, x, nullptr, options);
}

std::uint64_t monte_carlo_seed(std::uint64_t seed, int sample) {
  // SplitMix64 (Steele, Lea, Flood 2014) of seed + (s + 1)·golden: distinct, well-mixed seeds.
  std::uint64_t z = seed + (static_cast<std::uint64_t>(sample) + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

EmpiricalKernels monte_carlo_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2, int samples,
                                     std::uint64_t seed, const EmpiricalOptions& options) {
  return monte_carlo(network, x1, &x2, samples, seed, options);
}

EmpiricalKernels monte_carlo_kernels(const Network& network, MatrixView<double> x, int samples, std::uint64_t seed,
                                     const EmpiricalOptions& options) {
  return monte_carlo(network, x, nullptr, samples, seed, options);
}

}  // namespace ntkit
