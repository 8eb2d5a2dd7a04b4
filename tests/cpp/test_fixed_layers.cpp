// The NTK with the first L' Dense layers fixed (AnalyticOptions::fixed_layers; issue 18,
// finding 9): Θ is then the sum over the trained parameters only. Checked three independent
// ways: (1) L' = 0 is the usual NTK and, for a plain MLP, L' = (Dense count − 1) is the NNGP;
// (2) a hand derivation of the ReLU recursion written out in this file for two hidden layers
// and L' = 1; (3) Monte Carlo: the explicit empirical NTK of wide finite networks in which
// only the later layers' parameters are differentiated (per-example gradients from Mlp::vjp,
// the fixed layers' entries zeroed, then Gram), averaged over networks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

AnalyticKernels with_fixed(const Network& net, MatrixView<double> x, int fixed) {
  AnalyticOptions o;
  o.fixed_layers = fixed;
  return analytic_kernels(net, x, o);
}

TEST(FixedLayers, NoneFixedIsTheNtkAndAllButTheReadoutIsTheNngp) {
  const Network net = parse_network(
      "Dense(64, W_std=1.4, b_std=0.1), Relu, Dense(64, W_std=1.2, b_std=0.3), Erf, "
      "Dense(1, W_std=0.9, b_std=0.2)");
  const RowMatrixD x = test::gaussian_matrix(6, 4, 3), y = test::gaussian_matrix(5, 4, 4);
  const AnalyticKernels plain = analytic_kernels(net, x, y);
  AnalyticOptions none;
  none.fixed_layers = 0;
  EXPECT_EQ(analytic_kernels(net, x, y, none).ntk, plain.ntk);  // bit for bit
  AnalyticOptions two;
  two.fixed_layers = 2;
  const AnalyticKernels readout = analytic_kernels(net, x, y, two);
  EXPECT_LE((readout.ntk - plain.nngp).norm(), 1e-14 * plain.nngp.norm());
  EXPECT_EQ(readout.nngp, plain.nngp);  // fixing layers does not change the NNGP
  // K(X, X), the diagonal pass and the cross kernel agree with each other.
  const AnalyticKernels sym = with_fixed(net, x, 1);
  const AnalyticDiagonal diag = analytic_kernel_diagonal(net, x, [] {
    AnalyticOptions o;
    o.fixed_layers = 1;
    return o;
  }());
  EXPECT_LE((sym.ntk.diagonal() - diag.ntk).norm(), 1e-14 * diag.ntk.norm());
  AnalyticOptions one;
  one.fixed_layers = 1;
  EXPECT_LE((analytic_kernels(net, x, x, one).ntk - sym.ntk).norm(), 1e-13 * sym.ntk.norm());
}

TEST(FixedLayers, OutOfRangeIsAnErrorNamingTheCount) {
  const Network net = parse_network("Dense(8), Relu, Dense(1)");
  const RowMatrixD x = test::gaussian_matrix(3, 2, 1);
  EXPECT_ERROR_CONTAINS(with_fixed(net, x, 2), "fixed_layers = 2 but the network has 2 Dense layers");
  EXPECT_ERROR_CONTAINS(with_fixed(net, x, -1), "give 0 (all trained) to 1");
  EXPECT_EQ(dense_layer_count(parse_network("Dense(4), Residual(Relu, Dense(4)), Dense(1)")), 3);
}

// ReLU's dual kernel (docs/mathematics.md §5), written out here rather than taken from the library.
struct ReluDual {
  double t, tdot;
};
ReluDual relu_dual(double q1, double q2, double k) {
  // A point with itself has correlation 1 exactly (acos of 1 − 1 ulp is 1.5e-8, not 0).
  const double c = q1 == q2 && k == q1 ? 1.0 : std::clamp(k / std::sqrt(q1 * q2), -1.0, 1.0);
  const double theta = std::acos(c);
  return {std::sqrt(q1 * q2) * (std::sin(theta) + (std::numbers::pi - theta) * c) / (2 * std::numbers::pi),
          (std::numbers::pi - theta) / (2 * std::numbers::pi)};
}

TEST(FixedLayers, HandDerivationTwoHiddenReluLayersFirstFixed) {
  // Dense_1 (fixed), Relu, Dense_2, Relu, Dense_3 under the 'ntk' parameterization, with
  // Σ1 = w²·x·x'/d + b², Σ2 = w²·T(Σ1) + b², Σ3 = w²·T(Σ2) + b². Differentiating only Dense_2
  // and Dense_3: Dense_3's parameters give Σ3; Dense_2's give Σ2 carried through the second
  // Relu (× Ṫ(Σ2)) and Dense_3 (× w²). Dense_1's term, w²·Σ1·Ṫ(Σ1)·Ṫ(Σ2)·w², is absent.
  const double w = 1.3, b = 0.2;
  const Network net = parse_network(
      "Dense(16, W_std=1.3, b_std=0.2), Relu, Dense(16, W_std=1.3, b_std=0.2), Relu, "
      "Dense(1, W_std=1.3, b_std=0.2)");
  const RowMatrixD x = test::gaussian_matrix(4, 3, 9);
  const RowMatrixD got = with_fixed(net, x, 1).ntk;
  // Layer by layer over all pairs, so that a point's variance (the diagonal) is computed by
  // the very expression of its pairs.
  const auto relu_layer = [&](const RowMatrixD& s, RowMatrixD* tdot) {
    RowMatrixD next(4, 4);
    for (Eigen::Index i = 0; i < 4; ++i)
      for (Eigen::Index j = 0; j < 4; ++j) {
        const ReluDual d = relu_dual(s(i, i), s(j, j), s(i, j));
        next(i, j) = w * w * d.t + b * b;
        if (tdot != nullptr) (*tdot)(i, j) = d.tdot;
      }
    return next;
  };
  const RowMatrixD s1 = (w * w / 3) * (x * x.transpose()).array() + b * b;
  const RowMatrixD s2 = relu_layer(s1, nullptr);
  RowMatrixD tdot2(4, 4);
  const RowMatrixD s3 = relu_layer(s2, &tdot2);
  for (Eigen::Index i = 0; i < 4; ++i)
    for (Eigen::Index j = 0; j < 4; ++j) {
      const double expected = s3(i, j) + w * w * s2(i, j) * tdot2(i, j);
      EXPECT_NEAR(got(i, j), expected, 1e-12 * std::abs(expected)) << i << "," << j;
    }
}

// The mean over `samples` networks of Σ_p ∂f(x_i)/∂w_p ∂f(x_j)/∂w_p over the parameters p of
// the Dense layers after the first `fixed` ones.
RowMatrixD monte_carlo_fixed_ntk(const Network& net, const RowMatrixD& x, int fixed, int samples) {
  const Eigen::Index n = x.rows();
  RowMatrixD sum = RowMatrixD::Zero(n, n);
  for (int s = 0; s < samples; ++s) {
    const Mlp mlp(net, static_cast<int>(x.cols()), 1000 + static_cast<std::uint64_t>(s));
    RowMatrixD grads(n, mlp.parameter_count());
    for (Eigen::Index i = 0; i < n; ++i) grads.row(i) = mlp.vjp(x.middleRows(i, 1), RowMatrixD::Ones(1, 1)).transpose();
    const auto layers = mlp.dense_parameters();
    for (int l = 0; l < fixed; ++l) {
      grads.middleCols(layers[l].weight_offset, Eigen::Index{layers[l].in} * layers[l].out).setZero();
      if (layers[l].bias_offset >= 0) grads.middleCols(layers[l].bias_offset, layers[l].out).setZero();
    }
    sum += grads * grads.transpose();
  }
  return sum / samples;
}

TEST(FixedLayers, MonteCarloOfWideNetworksDifferentiatingOnlyTheLaterLayers) {
#ifdef NTKIT_SANITIZED_BUILD
  GTEST_SKIP() << "statistical test of wide networks: run in the optimized build";
#endif
  const RowMatrixD x = test::gaussian_matrix(5, 3, 17);
  // Both parameterizations, biases, a non-ReLU activation: the fixed-layer rule is per Dense.
  for (const char* arch : {"Dense(512, W_std=1.5, b_std=0.3), Erf, Dense(512, W_std=1.2, b_std=0.2), Relu, "
                           "Dense(512, W_std=1.1, b_std=0.1), Relu, Dense(1, W_std=1.3, b_std=0.2)",
                           "Dense(512, W_std=1.5, b_std=0.3, parameterization='standard'), Relu, "
                           "Dense(512, W_std=1.2, b_std=0.2, parameterization='standard'), Relu, "
                           "Dense(1, W_std=1.3, b_std=0.2, parameterization='standard')"}) {
    const Network net = parse_network(arch);
    const int dense = dense_layer_count(net);
    for (int fixed = 1; fixed < dense; ++fixed) {
      const RowMatrixD mc = monte_carlo_fixed_ntk(net, x, fixed, 40);
      const RowMatrixD exact = with_fixed(net, x, fixed).ntk, one_fewer = with_fixed(net, x, fixed - 1).ntk;
      // Within a few percent of the kernel with `fixed` layers fixed and, where fixing one
      // layer fewer changes the kernel by over 10%, clearly away from that one (the check
      // tells them apart; under 'standard' the first layer's own term, n_in·K with n_in = d = 3,
      // is small beside the later layers' n_in = 512).
      const double error = (mc - exact).norm() / mc.norm();
      const double fewer = (mc - one_fewer).norm() / mc.norm();
      EXPECT_LE(error, 0.04) << arch << " fixed " << fixed;
      if ((exact - one_fewer).norm() > 0.1 * exact.norm()) {
        EXPECT_GE(fewer, 0.08) << arch << " fixed " << fixed;
      }
      std::printf("  [monte carlo, 40 x width 512] fixed %d of %d: error %.4f (vs %d fixed: %.3f)\n", fixed, dense, error,
                  fixed - 1, fewer);
    }
  }
}

}  // namespace
}  // namespace ntkit
