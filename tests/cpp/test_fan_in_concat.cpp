// FanInConcat, the layer added to show the one-file-per-layer shape (src/layers/fan_in_concat.cpp):
// its text, its structural demands, its infinite-width rule against the branch kernels computed
// separately, its finite-width passes against finite differences and explicit Jacobians, and
// the finite networks' Monte Carlo average against the infinite-width kernels.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ntkit/analytic.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::error_of;
using test::gaussian_matrix;
using test::max_relative_error;

TEST(FanInConcat, TextRoundTripsAndBuildersAgree) {
  const Network net = parse_network(
      "Dense(4), FanOut(2), parallel(Dense(3), serial(Relu, Dense(5))), FanInConcat(axis=-1), Dense(1)");
  EXPECT_EQ(to_string(net), "Dense(4), FanOut(2), parallel(Dense(3), serial(Relu, Dense(5))), FanInConcat, Dense(1)");
  EXPECT_EQ(parse_network(to_string(net)), net);
  EXPECT_EQ(net, serial(Dense(4), FanOut(2), parallel(Dense(3), serial(Relu(), Dense(5))), FanInConcat(), Dense(1)));
  EXPECT_EQ(parse_network("Dense(2), FanOut(2), parallel(Dense(2), Dense(2)), faninconcat, Dense(1)").layers[3],
            Layer{FanInConcatLayer{}});
}

TEST(FanInConcat, StructuralErrorsNameTheFix) {
  // Only the feature axis exists for n × d data.
  EXPECT_NE(error_of([] {
              parse_network("Dense(2), FanOut(2), parallel(Dense(2), Dense(2)), FanInConcat(axis=0)");
            }).find("axis must be -1"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_network("Dense(2), FanInConcat, Dense(1)"); }).find("FanInConcat"), std::string::npos);
  // The joined features have different variances: an activation needs a Dense first, as in
  // neural-tangents.
  const std::string message = error_of(
      [] { parse_network("Dense(2), FanOut(2), parallel(Dense(2), Dense(3)), FanInConcat, Relu, Dense(1)"); });
  EXPECT_NE(message.find("non-Gaussian"), std::string::npos) << message;
  EXPECT_NE(message.find("insert a Dense"), std::string::npos) << message;
  EXPECT_NE(error_of([] {
              parse_network("Dense(2), FanOut(2), parallel(Dense(2), Dense(3)), Dense(1)");
            }).find("FanInSum or FanInConcat"),
            std::string::npos);
}

// K = Σ n_b K_b / n and Θ = Σ n_b Θ_b / n, where K_b, Θ_b are the kernels of the network that
// ends with branch b (computed as separate networks), followed by the readout's Dense rule.
TEST(FanInConcat, InfiniteWidthIsTheWidthWeightedMeanOfTheBranches) {
  const RowMatrixD x = gaussian_matrix(9, 4, 3), y = gaussian_matrix(6, 4, 4, 2.0);
  const std::string stem = "Dense(64, W_std=1.4, b_std=0.2), ";
  const std::string branch1 = "Relu, Dense(48, b_std=0.1)", branch2 = "Erf, Dense(16, W_std=0.7)";
  const double w = 1.3, b = 0.4;
  const Network joined = parse_network(stem + "FanOut(2), parallel(serial(" + branch1 + "), serial(" + branch2 +
                                       ")), FanInConcat, Dense(1, W_std=1.3, b_std=0.4)");
  const AnalyticKernels got = analytic_kernels(joined, x, y);
  const AnalyticKernels k1 = analytic_kernels(parse_network(stem + branch1), x, y);
  const AnalyticKernels k2 = analytic_kernels(parse_network(stem + branch2), x, y);
  const RowMatrixD k = (48.0 * k1.nngp + 16.0 * k2.nngp) / 64.0;
  const RowMatrixD theta = (48.0 * k1.ntk + 16.0 * k2.ntk) / 64.0;
  const RowMatrixD nngp = (w * w * k).array() + b * b;
  const RowMatrixD ntk = w * w * theta + nngp;  // Dense 'ntk': Θ ← W² Θ + K_new
  EXPECT_LT(max_relative_error(got.nngp, nngp), 1e-14);
  EXPECT_LT(max_relative_error(got.ntk, ntk), 1e-14);

  // Equal widths: the plain mean, as neural-tangents computes it; with identical branches the
  // concatenation changes nothing.
  const AnalyticKernels same = analytic_kernels(
      parse_network(stem + "FanOut(3), parallel(Dense(8), Dense(8), Dense(8)), FanInConcat, Dense(1)"), x);
  const AnalyticKernels plain = analytic_kernels(parse_network(stem + "Dense(8), Dense(1)"), x);
  EXPECT_LT(max_relative_error(same.nngp, plain.nngp), 1e-15);
  EXPECT_LT(max_relative_error(same.ntk, plain.ntk), 1e-15);

  // The diagonal pass (variances) goes through the same rule: K(X, X)'s diagonal agrees with it
  // (to rounding only: analytic_kernel_diagonal starts from Eigen's ‖x‖², K(X, X) from the BLAS
  // Gram diagonal, whose sums may round differently, as in the x86-64-v2 sanitizer build).
  const AnalyticDiagonal diagonal = analytic_kernel_diagonal(joined, x);
  const AnalyticKernels square = analytic_kernels(joined, x);
  EXPECT_LT(max_relative_error(RowMatrixD(diagonal.nngp.transpose()), RowMatrixD(square.nngp.diagonal().transpose())), 1e-15);
  EXPECT_LT(max_relative_error(RowMatrixD(diagonal.ntk.transpose()), RowMatrixD(square.ntk.diagonal().transpose())), 1e-15);
}

// vjp and jvp against central differences of forward, and the adjoint identity g·(J v) = (Jᵀ g)·v.
TEST(FanInConcat, FiniteWidthDerivativesMatchFiniteDifferences) {
  const char* archs[] = {
      "Dense(5, b_std=0.3), FanOut(2), parallel(serial(Tanh, Dense(3)), Dense(4, b_std=0.1)), FanInConcat, Dense(2)",
      // A branch with no parameters (the raw input) contributes no cotangent and no tangent.
      "FanOut(2), parallel(Identity, serial(Dense(3), Erf, Dense(2))), FanInConcat, Dense(2, b_std=0.2)",
      "Dense(4), FanOut(3), parallel(Dense(2), Relu, Dense(1)), FanInConcat, Dense(3), Relu, Dense(1)",
  };
  for (const char* arch : archs) {
    const Mlp net(parse_network(arch), 3, 11);
    const RowMatrixD x = gaussian_matrix(4, 3, 12);
    const RowMatrixD g = gaussian_matrix(4, net.output_dim(), 13);
    const VectorD w0 = net.parameters();
    const VectorD grad = net.vjp(x, g);
    const double h = 1e-5;
    double worst = 0;
    for (Eigen::Index p = 0; p < w0.size(); ++p) {
      Mlp plus = net, minus = net;
      VectorD wp = w0, wm = w0;
      wp[p] += h;
      wm[p] -= h;
      plus.set_parameters(wp);
      minus.set_parameters(wm);
      const double fd = ((plus.forward(x) - minus.forward(x)).array() * g.array()).sum() / (2 * h);
      worst = std::max(worst, std::abs(fd - grad[p]) / std::max(1.0, std::abs(fd)));
    }
    EXPECT_LT(worst, 1e-7) << arch << ": vjp vs finite differences";
    const VectorD v = gaussian_matrix(w0.size(), 1, 14).col(0);
    RowMatrixD f0;
    const RowMatrixD jv = net.jvp(x, v, &f0);
    EXPECT_LT(max_relative_error(f0, net.forward(x)), 1e-15) << arch;
    Mlp plus = net, minus = net;
    plus.set_parameters(w0 + h * v);
    minus.set_parameters(w0 - h * v);
    const RowMatrixD fd = (plus.forward(x) - minus.forward(x)) / (2 * h);
    EXPECT_LT((jv - fd).cwiseAbs().maxCoeff() / std::max(1.0, fd.cwiseAbs().maxCoeff()), 1e-7) << arch;
    const double lhs = (g.array() * jv.array()).sum(), rhs = grad.dot(v);
    EXPECT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, std::abs(rhs))) << arch << ": adjoint identity";
  }
}

// The empirical NTK by per-layer products equals J Jᵀ with J built column by column from jvp.
TEST(FanInConcat, EmpiricalNtkEqualsTheExplicitJacobianProduct) {
  const Mlp net(parse_network("Dense(4, b_std=0.2), FanOut(2), parallel(serial(Relu, Dense(3)), Dense(2)), "
                              "FanInConcat, Dense(1, b_std=0.1)"),
                3, 21);
  const RowMatrixD x = gaussian_matrix(5, 3, 22);
  RowMatrixD jacobian(x.rows(), net.parameter_count());
  for (Eigen::Index p = 0; p < net.parameter_count(); ++p) {
    VectorD unit = VectorD::Zero(net.parameter_count());
    unit[p] = 1.0;
    jacobian.col(p) = net.jvp(x, unit).col(0);
  }
  const RowMatrixD explicit_ntk = jacobian * jacobian.transpose();
  EXPECT_LT(max_relative_error(empirical_kernels(net, x).ntk, explicit_ntk), 1e-13);
}

// Finite networks share no code with the infinite-width rule: their Monte Carlo average must
// approach it (100 networks of widths 1024 and 512, 5% relative Frobenius error as for every
// other layer in test_analytic_monte_carlo.cpp).
TEST(FanInConcat, MonteCarloOfFiniteNetworksApproachesTheInfiniteWidthKernels) {
#ifdef NTKIT_SANITIZED_BUILD
  GTEST_SKIP() << "statistical test of wide networks: run in the optimized build";
#endif
  const RowMatrixD x = gaussian_matrix(5, 3, 31);
  const Network net = parse_network(
      "Dense(1024, W_std=1.2, b_std=0.1), FanOut(2), parallel(serial(Relu, Dense(1024)), "
      "serial(Erf, Dense(512, b_std=0.3))), FanInConcat, Dense(1, b_std=0.1)");
  const AnalyticKernels exact = analytic_kernels(net, x);
  const EmpiricalKernels mc = monte_carlo_kernels(net, x, 100, 7);
  const double nngp_error = (mc.nngp - exact.nngp).norm() / exact.nngp.norm();
  const double ntk_error = (mc.ntk - exact.ntk).norm() / exact.ntk.norm();
  std::printf("  [monte carlo, 100 networks] FanInConcat: NNGP %.4f  NTK %.4f\n", nngp_error, ntk_error);
  EXPECT_LE(nngp_error, 0.05);
  EXPECT_LE(ntk_error, 0.05);
}

}  // namespace
}  // namespace ntkit
