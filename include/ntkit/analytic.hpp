// Infinite-width NNGP and NTK of deep fully-connected networks (SPEC §5–§6), with
// neural-tangents' conventions, for any network of network.hpp built from Dense, elementwise
// activations, Identity and residual branches (FanOut / parallel / FanInSum).
//
// Kernel state per pair (x, x'): K (NNGP) and Θ (NTK), and the variances q1 = K(x, x),
// q2 = K(x', x') that the activations need.
//   input          K = x·x' / d,  Θ = 0
//   Dense 'ntk'    K ← W_std² K + b_std²,        Θ ← W_std² Θ + K_new
//   Dense 'std.'   Θ ← n_in K_old + W_std² Θ + [1 if the bias exists],  K ← W_std² K_old + b_std²
//   activation φ   K ← T(q1, q2, K),  Θ ← Θ · Ṫ(q1, q2, K)   (dual_activation.hpp)
//   FanOut(n)      n copies of the state;  parallel: branch i on copy i;  FanInSum: the sum
// The variances are computed once per input point (a diagonal pass through the same layers)
// and read per pair, so the pair loop does only the pair's own work. K(X, X) computes one
// triangle and is exactly symmetric.
// Not supported yet (a clear error): LayerNorm.
#pragma once

#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

struct AnalyticKernels {
  RowMatrixD nngp;  // n1 x n2 (empty if not requested)
  RowMatrixD ntk;   // n1 x n2 (empty if not requested)
};

struct AnalyticOptions {
  bool nngp = true;
  bool ntk = true;
  int quadrature_degree = 40;  // for activations without a closed form
};

/// NNGP and NTK between X1 (n1 x d) and X2 (n2 x d). Throws ntkit::Error for an invalid or
/// unsupported network, mismatched or non-finite inputs.
AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2,
                                 const AnalyticOptions& options = {});
/// K(X, X), exactly symmetric.
AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x, const AnalyticOptions& options = {});

}  // namespace ntkit
