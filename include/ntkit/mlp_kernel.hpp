// Kernels of finite networks (mlp.hpp): the empirical NTK and NNGP of one network, and their
// Monte Carlo average over independently initialized networks, which converges to
// analytic_kernels (analytic.hpp) as the widths grow.
//
// Empirical NTK Θ(x, x') = Σ_p ∂f(x)/∂w_p ∂f(x')/∂w_p, by structured per-layer products, never
// the n x P Jacobian: every Dense z = a·W h + c·b contributes
//     a² (H H'ᵀ) ⊙ (G G'ᵀ) + c² (G G'ᵀ)
// where H (n x in) is its input and G its output cotangent, pulled back from every logit in one
// backward pass (one row per example and logit). Cost O(n1 n2 O Σ widths) plus the passes;
// memory O((n1 + n2) O Σ widths) for the passes and O(n1 n2) per product. A layer that acts
// at P positions (a Conv, a Dense on images) sums this over pairs of positions, or takes
// each example's gradient of that layer (out x in, cheaper when in·out < P²·(in + out), as
// for convolutions): src/mlp_weight_ntk.cpp.
//
// Logits: as neural-tangents' trace_axes=(-1,) (its default), the result is n1 x n2, the
// average over the O logits of the per-logit kernels. With full_logits the result is the
// (n1·O) x (n2·O) matrix of every logit pair, row i·O + o for example i, logit o (neural-
// tangents' trace_axes=() output (n1, n2, O, O) with axes reordered to (n1, O, n2, O)).
//
// Empirical NNGP: when the network ends with a Dense (the readout), the expectation of
// f(x)·f(x') over the readout's parameters given the features h of the layers below:
//     K = W_std² h·h' / n_in + b_std²     (both parameterizations; b_std = None: 0)
// which is what the infinite-width NNGP is the limit of, one term of the NTK sum; with
// full_logits it is K ⊗ I_O (distinct logits are independent). A network that ends otherwise
// (an activation, LayerNorm, a residual sum) has no readout to average over, and its NNGP is
// the output Gram f(x)·f(x')/O (full_logits: f_o(x) f_o'(x')), neural-tangents'
// empirical_nngp_fn.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ntkit/mlp.hpp"
#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

struct EmpiricalOptions {
  bool nngp = true;
  bool ntk = true;
  bool full_logits = false;  // (n1·O) x (n2·O) per-logit blocks instead of the average
  /// monte_carlo_kernels: called with the fraction of networks done, after each one, from the
  /// calling thread; it may throw to stop the computation (the exception propagates).
  std::function<void(double)> progress;
  /// monte_carlo_kernels: the shape of one example, {H, W, C} for images or {L, C} for signals
  /// (rows of X flattened in C order), as AnalyticOptions::input_shape; empty: flat, {d}.
  std::vector<int> input_shape;
};

struct EmpiricalKernels {
  RowMatrixD nngp;  // n1 x n2 (or (n1·O) x (n2·O)); empty if not requested
  RowMatrixD ntk;
};

/// Kernels of one network between X1 (n1 x d) and X2 (n2 x d). Throws ntkit::Error for
/// mismatched, empty or non-finite inputs.
EmpiricalKernels empirical_kernels(const Mlp& net, MatrixView<double> x1, MatrixView<double> x2,
                                   const EmpiricalOptions& options = {});
/// K(X, X), exactly symmetric.
EmpiricalKernels empirical_kernels(const Mlp& net, MatrixView<double> x, const EmpiricalOptions& options = {});

/// The seed of the s-th network of a Monte Carlo run (a SplitMix64 mix of seed and s), so
/// that sample s is the same network whatever the number of samples.
std::uint64_t monte_carlo_seed(std::uint64_t seed, int sample);

/// The average of empirical_kernels over `samples` ≥ 1 networks Mlp(network, d (or
/// options.input_shape), monte_carlo_seed(seed, s)), s = 0 … samples − 1.
EmpiricalKernels monte_carlo_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2, int samples,
                                     std::uint64_t seed, const EmpiricalOptions& options = {});
EmpiricalKernels monte_carlo_kernels(const Network& network, MatrixView<double> x, int samples, std::uint64_t seed,
                                     const EmpiricalOptions& options = {});

}  // namespace ntkit
