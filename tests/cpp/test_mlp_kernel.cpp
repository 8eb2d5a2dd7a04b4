// Kernels of finite networks (mlp_kernel.hpp): the structured empirical NTK against the
// explicit Jacobian contraction (the test oracle), the NNGP against the readout's features,
// the lecture's two-layer network as a special case, and Monte Carlo kernels converging to the
// analytic (infinite-width) kernels at the m^(-1/2) rate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/network.hpp"
#include "ntkit/two_layer_net.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;

// The oracle: the explicit (n·O) x P Jacobian, row i·O + o = ∂f_o(x_i)/∂w, one vjp per row with
// a unit cotangent.
RowMatrixD jacobian(const Mlp& net, const RowMatrixD& x) {
  const Eigen::Index n = x.rows(), o = net.output_dim();
  RowMatrixD j(n * o, net.parameter_count());
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index k = 0; k < o; ++k) {
      RowMatrixD unit = RowMatrixD::Zero(1, o);
      unit(0, k) = 1.0;
      j.row(i * o + k) = net.vjp(x.row(i), unit).transpose();
    }
  return j;
}

// Average of the O diagonal logit blocks of an (n1·O) x (n2·O) kernel.
RowMatrixD trace_logits(const RowMatrixD& full, Eigen::Index o) {
  const Eigen::Index n1 = full.rows() / o, n2 = full.cols() / o;
  RowMatrixD k = RowMatrixD::Zero(n1, n2);
  for (Eigen::Index i = 0; i < n1; ++i)
    for (Eigen::Index j = 0; j < n2; ++j)
      for (Eigen::Index a = 0; a < o; ++a) k(i, j) += full(i * o + a, j * o + a) / static_cast<double>(o);
  return k;
}

const char* const kArchitectures[] = {
    "Dense(6, W_std=1.5, b_std=0.1), Relu, Dense(1, b_std=0.2)",
    "Dense(6, W_std=1.5, b_std=0.1, parameterization='standard'), Erf, Dense(5, W_std=0.9, "
    "parameterization='standard'), Tanh, Dense(3, b_std=1, parameterization='standard')",
    "Dense(5, b_std=0.3), Residual(Relu, Dense(5, b_std=0.1)), Gelu, Dense(2)",
    "Dense(5, b_std=0.3), LayerNorm, Sin, Dense(4, parameterization='standard'), LayerNorm(eps=0.1), Relu, Dense(3)",
    "FanOut(2), parallel(serial(Dense(4), Relu, Dense(4)), Dense(4, b_std=0.5)), FanInSum, Dense(2)",
    "Dense(4), Relu, Dense(3)",                       // no readout bias
    "Dense(5, b_std=0.2), Residual(Relu, Dense(5))",  // ends in a residual sum (no readout)
};

TEST(EmpiricalNtk, StructuredProductsEqualTheJacobianContraction) {
  const RowMatrixD x1 = gaussian_matrix(5, 3, 1), x2 = gaussian_matrix(4, 3, 2);
  double worst = 0;
  for (const char* arch : kArchitectures) {
    SCOPED_TRACE(arch);
    const Mlp net(parse_network(arch), 3, 17);
    const Eigen::Index o = net.output_dim();
    const RowMatrixD j1 = jacobian(net, x1), j2 = jacobian(net, x2);
    const RowMatrixD full12 = j1 * j2.transpose(), full11 = j1 * j1.transpose();
    EmpiricalOptions options;
    options.nngp = false;
    const EmpiricalKernels traced12 = empirical_kernels(net, x1, x2, options);
    const EmpiricalKernels traced11 = empirical_kernels(net, x1, options);
    EXPECT_TRUE(traced12.nngp.size() == 0);
    EXPECT_LT(test::max_relative_error(traced12.ntk, trace_logits(full12, o)), 1e-10);
    EXPECT_LT(test::max_relative_error(traced11.ntk, trace_logits(full11, o)), 1e-10);
    EXPECT_EQ(traced11.ntk, traced11.ntk.transpose());
    options.full_logits = true;
    const EmpiricalKernels blocks12 = empirical_kernels(net, x1, x2, options);
    const EmpiricalKernels blocks11 = empirical_kernels(net, x1, options);
    ASSERT_EQ(blocks12.ntk.rows(), 5 * o);
    ASSERT_EQ(blocks12.ntk.cols(), 4 * o);
    EXPECT_LT(test::max_relative_error(blocks12.ntk, full12), 1e-10);
    EXPECT_LT(test::max_relative_error(blocks11.ntk, full11), 1e-10);
    worst = std::max({worst, test::max_relative_error(traced12.ntk, trace_logits(full12, o)),
                      test::max_relative_error(blocks12.ntk, full12), test::max_relative_error(blocks11.ntk, full11)});
  }
  std::printf("structured vs Jacobian contraction: max relative error %.2e\n", worst);
}

// With a readout Dense: K = W_std² h·h'/n_in + b_std², h the features below it (computed here
// by a second network made of the layers below, given the same parameters). Without one: the
// output Gram f·f'/O.
TEST(EmpiricalNngp, IsTheReadoutExpectationGivenTheFeatures) {
  const RowMatrixD x1 = gaussian_matrix(5, 3, 3), x2 = gaussian_matrix(4, 3, 4);
  const Mlp net(parse_network("Dense(6, b_std=0.1), Relu, Dense(5, W_std=1.2, parameterization='standard'), "
                              "Erf, Dense(3, W_std=1.5, b_std=0.4)"),
                3, 5);
  Mlp body(parse_network("Dense(6, b_std=0.1), Relu, Dense(5, W_std=1.2, parameterization='standard'), Erf"), 3, 0);
  body.set_parameters(net.parameters().head(body.parameter_count()));  // the body's Dense come first
  const RowMatrixD h1 = body.forward(x1), h2 = body.forward(x2);
  const RowMatrixD expected = (1.5 * 1.5 / 5) * (h1 * h2.transpose()).array() + 0.4 * 0.4;
  EmpiricalOptions options;
  options.ntk = false;
  EXPECT_LT(test::max_relative_error(empirical_kernels(net, x1, x2, options).nngp, expected), 1e-13);
  options.full_logits = true;
  const RowMatrixD blocks = empirical_kernels(net, x1, x2, options).nngp;
  for (Eigen::Index i = 0; i < 5; ++i)
    for (Eigen::Index j = 0; j < 4; ++j)
      for (Eigen::Index a = 0; a < 3; ++a)
        for (Eigen::Index b = 0; b < 3; ++b) EXPECT_NEAR(blocks(i * 3 + a, j * 3 + b), a == b ? expected(i, j) : 0.0, 1e-13);

  const Mlp residual(parse_network("Dense(5, b_std=0.2), Residual(Relu, Dense(5))"), 3, 6);
  const RowMatrixD f1 = residual.forward(x1), f2 = residual.forward(x2);
  options.full_logits = false;
  EXPECT_LT(test::max_relative_error(empirical_kernels(residual, x1, x2, options).nngp, f1 * f2.transpose() / 5.0), 1e-13);
}

// docs/mathematics.md §2: the lecture's network is Dense(m, W_std=√d), σ, Dense(1) under 'ntk' with W1 = a,
// W2 = bᵀ: same outputs, its NTK K^a + K^b, and its NNGP (readout expectation) K^b.
TEST(EmpiricalNtk, TwoLayerNetworkIsTheSpecialCase) {
  const int d = 4, m = 50;
  const RowMatrixD x1 = gaussian_matrix(7, d, 8), x2 = gaussian_matrix(5, d, 9);
  for (const auto& [act, name] : {std::pair{Activation::Relu, "Relu"}, std::pair{Activation::Erf, "Erf"}}) {
    SCOPED_TRACE(name);
    const TwoLayerNet lecture(d, m, act, 21);
    Mlp net(parse_network("Dense(50, W_std=2), " + std::string(name) + ", Dense(1)"), d, 0);  // W_std = √d = 2
    VectorD w(net.parameter_count());
    w.head(m * d) = Eigen::Map<const VectorD>(lecture.a().data(), m * d);  // a is m x d row-major, like W1
    w.tail(m) = lecture.b();
    net.set_parameters(w);
    EXPECT_LT(test::max_relative_error(net.forward(x1).col(0), RowMatrixD(lecture.forward(x1))), 1e-13);
    const EmpiricalKernels k = empirical_kernels(net, x1, x2);
    const NtkParts parts = lecture.empirical_ntk(x1, x2);
    EXPECT_LT(test::max_relative_error(k.ntk, parts.total()), 1e-12);
    EXPECT_LT(test::max_relative_error(k.nngp, parts.b), 1e-12);
  }
}

// log-log slope of y against x by least squares.
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

std::string two_hidden_layers(int m, bool standard) {
  const std::string p = standard ? ", parameterization='standard'" : "";
  return "Dense(" + std::to_string(m) + ", W_std=1.5, b_std=0.1" + p + "), Relu, Dense(" + std::to_string(m) +
         ", W_std=1.2, b_std=0.2" + p + "), Erf, Dense(1, b_std=0.1" + p + ")";
}

// The relative Frobenius error of the Monte Carlo average of k networks falls like m^(-1/2)
// (its fluctuation is O((k m)^(-1/2)), its bias O(1/m)): fitted slopes over m = 32 … 512.
TEST(MonteCarloKernels, ConvergeToTheAnalyticKernelsAtTheInverseSquareRootRate) {
  const RowMatrixD x = gaussian_matrix(6, 3, 10);
  for (bool standard : {false, true}) {
    SCOPED_TRACE(standard ? "standard" : "ntk");
    const AnalyticKernels exact = analytic_kernels(parse_network(two_hidden_layers(1, standard)), x);
    std::vector<double> widths, nngp_errors, ntk_errors;
    for (int m : {32, 64, 128, 256, 512}) {
      const Network network = parse_network(two_hidden_layers(m, standard));
      // 'standard': the NTK grows with width (n_in K terms), so compare against the same widths.
      const AnalyticKernels reference = standard ? analytic_kernels(network, x) : exact;
      const EmpiricalKernels mc = monte_carlo_kernels(network, x, 8, 100 + static_cast<std::uint64_t>(m));
      widths.push_back(m);
      nngp_errors.push_back((mc.nngp - reference.nngp).norm() / reference.nngp.norm());
      ntk_errors.push_back((mc.ntk - reference.ntk).norm() / reference.ntk.norm());
    }
    const double nngp_slope = loglog_slope(widths, nngp_errors), ntk_slope = loglog_slope(widths, ntk_errors);
    EXPECT_GT(nngp_slope, -0.75);
    EXPECT_LT(nngp_slope, -0.3);
    EXPECT_GT(ntk_slope, -0.75);
    EXPECT_LT(ntk_slope, -0.3);
    EXPECT_LT(ntk_errors.back(), 0.05);
    std::printf("%s: NNGP slope %.3f (errors %.3g … %.3g), NTK slope %.3f (errors %.3g … %.3g)\n",
                standard ? "standard" : "ntk", nngp_slope, nngp_errors.front(), nngp_errors.back(), ntk_slope,
                ntk_errors.front(), ntk_errors.back());
  }
}

// A residual network and X1 ≠ X2: the Monte Carlo average of wide networks lies within a few
// percent of the analytic kernels (and the sample seeds do not depend on the sample count).
TEST(MonteCarloKernels, ResidualNetworkMatchesTheAnalyticKernels) {
  const RowMatrixD x1 = gaussian_matrix(5, 4, 11), x2 = gaussian_matrix(3, 4, 12);
  const Network network = parse_network(
      "Dense(512, W_std=1.4, b_std=0.1), Residual(Relu, Dense(512, b_std=0.1)), Relu, Dense(2, b_std=0.3)");
  const AnalyticKernels exact = analytic_kernels(network, x1, x2);
  const EmpiricalKernels mc = monte_carlo_kernels(network, x1, x2, 16, 5);
  EXPECT_LT((mc.nngp - exact.nngp).norm() / exact.nngp.norm(), 0.05);
  EXPECT_LT((mc.ntk - exact.ntk).norm() / exact.ntk.norm(), 0.05);
  // Sample 0 of any run is the network of monte_carlo_seed(seed, 0).
  const EmpiricalKernels first = empirical_kernels(Mlp(network, 4, monte_carlo_seed(5, 0)), x1, x2);
  EXPECT_EQ(monte_carlo_kernels(network, x1, x2, 1, 5).ntk, first.ntk);
}

TEST(EmpiricalKernels, Errors) {
  const Mlp net(parse_network("Dense(3), Relu, Dense(2)"), 4, 0);
  const RowMatrixD x = gaussian_matrix(2, 4, 0);
  EXPECT_THROW(empirical_kernels(net, x, gaussian_matrix(2, 3, 0)), Error);
  EXPECT_THROW(empirical_kernels(net, RowMatrixD(0, 4)), Error);
  EXPECT_THROW(monte_carlo_kernels(parse_network("Dense(3)"), x, 0, 1), Error);
  EXPECT_THROW(monte_carlo_kernels(parse_network("Dense(3)"), x, gaussian_matrix(2, 5, 0), 2, 1), Error);
}

}  // namespace
}  // namespace ntkit
