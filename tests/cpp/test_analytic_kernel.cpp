// Infinite-width NNGP/NTK of deep networks (docs/mathematics.md §5) against independent references: the
// lecture's two-layer network (its own closed forms), Monte Carlo of finite networks for the
// NNGP, and a per-entry recursion for deep ReLU written here from docs/mathematics.md §5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

// docs/mathematics.md §2: the lecture's network is Dense(m, W_std=√d, b_std=None) → σ → Dense(1) under 'ntk'.
TEST(AnalyticKernel, TwoLayerNetworkIsTheSpecialCase) {
  const RowMatrixD x = gaussian_matrix(37, 5, 1), y = gaussian_matrix(11, 5, 2);
  const double w = std::sqrt(5.0);
  for (auto [act, layer] : {std::pair{Activation::Relu, Relu()}, std::pair{Activation::Erf, Erf()}}) {
    const Network net = serial(Dense(4096, w), layer, Dense(1));
    const AnalyticKernels sym = analytic_kernels(net, x);
    const NtkParts ref = two_layer_ntk(act, x);
    EXPECT_LT(max_relative_error(sym.ntk, ref.total()), 1e-12) << activation_name(act);
    EXPECT_LT(max_relative_error(sym.nngp, ref.b), 1e-12) << activation_name(act);
    const AnalyticKernels cross = analytic_kernels(net, y, x);
    const NtkParts ref_cross = two_layer_ntk(act, y, x);
    EXPECT_LT(max_relative_error(cross.ntk, ref_cross.total()), 1e-12);
    EXPECT_LT(max_relative_error(cross.nngp, ref_cross.b), 1e-12);
    EXPECT_TRUE((sym.ntk.array() == sym.ntk.transpose().array()).all());
  }
}

// Deep ReLU with biases, written entry by entry from docs/mathematics.md §5 (ReLU closed form with θ by
// Kahan's formula on the unit vectors of the Cholesky factor; independent of the library).
TEST(AnalyticKernel, DeepReluMatchesAPerEntryRecursion) {
  const RowMatrixD x = gaussian_matrix(9, 4, 3);
  const double ws = 1.4, bs = 0.3;
  const int depth = 5;
  Network net;
  for (int l = 0; l < depth; ++l) {
    net.layers.push_back(Dense(256, ws, bs));
    net.layers.push_back(Relu());
  }
  net.layers.push_back(Dense(1, ws, bs));
  const AnalyticKernels k = analytic_kernels(net, x);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.rows(); ++j) {
      double q1 = x.row(i).squaredNorm() / 4, q2 = x.row(j).squaredNorm() / 4, c = x.row(i).dot(x.row(j)) / 4;
      double theta = 0;
      auto dense = [&] {
        q1 = ws * ws * q1 + bs * bs;
        q2 = ws * ws * q2 + bs * bs;
        c = ws * ws * c + bs * bs;
        theta = ws * ws * theta + c;
      };
      for (int l = 0; l < depth; ++l) {
        dense();
        const double rho = std::clamp(c / std::sqrt(q1 * q2), -1.0, 1.0);
        const double t = std::acos(rho);  // ρ well inside (−1, 1) except on the diagonal
        const double angle = (i == j) ? 0.0 : t;
        const double pi = std::numbers::pi;
        const double tdot = (pi - angle) / (2 * pi);
        c = std::sqrt(q1 * q2) * (std::sin(angle) + (pi - angle) * std::cos(angle)) / (2 * pi);
        theta *= tdot;
        q1 /= 2;  // T(q, q, q) = q / 2 for ReLU
        q2 /= 2;
      }
      dense();
      EXPECT_NEAR(k.nngp(i, j), c, 1e-12 * std::abs(c) + 1e-14);
      EXPECT_NEAR(k.ntk(i, j), theta, 1e-12 * std::abs(theta) + 1e-14);
    }
}

// Monte Carlo: the NNGP is the covariance of a finite network's outputs over random weights.
// ntk parameterization: z = (W_std / √n) W h + b_std b, W, b ~ N(0, 1).
RowMatrixD finite_network_outputs(const RowMatrixD& x, int width, int outputs, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  auto dense = [&](const RowMatrixD& h, int out, double w_std, double b_std) {
    RowMatrixD w(h.cols(), out);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
    Eigen::RowVectorXd b(out);
    for (Eigen::Index i = 0; i < b.size(); ++i) b[i] = normal(rng);
    RowMatrixD z = (w_std / std::sqrt(static_cast<double>(h.cols()))) * (h * w);
    z.rowwise() += b_std * b;
    return z;
  };
  RowMatrixD h = dense(x, width, 1.5, 0.1).cwiseMax(0.0);                                         // Dense, Relu
  RowMatrixD branch = dense(h, width, 1.2, 0.0).unaryExpr([](double v) { return std::erf(v); });  // Dense, Erf
  h = h + dense(branch, width, 1.0, 0.2);                                                         // + Dense (residual)
  return dense(h, outputs, 0.8, 0.3);                                                             // Dense(outputs)
}

TEST(AnalyticKernel, NngpMatchesMonteCarloOfFiniteNetworksWithAResidualBranch) {
  const RowMatrixD x = gaussian_matrix(6, 3, 4);
  const Network net = serial(Dense(1024, 1.5, 0.1), Relu(), Residual(Dense(1024, 1.2, 0.0), Erf(), Dense(1024, 1.0, 0.2)),
                             Dense(1, 0.8, 0.3));
  const RowMatrixD k = analytic_kernels(net, x).nngp;
  std::mt19937_64 rng(5);
  RowMatrixD mc = RowMatrixD::Zero(6, 6);
  const int networks = 100, outputs = 64;
  for (int s = 0; s < networks; ++s) {
    const RowMatrixD f = finite_network_outputs(x, 512, outputs, rng);
    mc += f * f.transpose() / static_cast<double>(outputs * networks);
  }
  // 6400 output samples: ~1.8% sampling error per entry; width 512 adds O(1/512).
  EXPECT_LT((mc - k).norm() / k.norm(), 0.05);
}

TEST(AnalyticKernel, StandardParameterizationFirstLayer) {
  // One Dense(standard, W_std, no bias): Θ = n_in·K_old = d·(x·x'/d) = x·x'; K = W_std² x·x'/d.
  const RowMatrixD x = gaussian_matrix(5, 7, 6);
  const AnalyticKernels k = analytic_kernels(serial(Dense(3, 2.0, std::nullopt, Parameterization::Standard)), x);
  const RowMatrixD gram = x * x.transpose();
  EXPECT_LT(max_relative_error(k.ntk, gram), 1e-14);
  EXPECT_LT(max_relative_error(k.nngp, 4.0 * gram / 7.0), 1e-14);
}

TEST(AnalyticKernel, EdgeCasesAndErrors) {
  RowMatrixD x = gaussian_matrix(6, 3, 7);
  x.row(1) = x.row(0);   // duplicate
  x.row(2) = -x.row(0);  // opposite
  x.row(3).setZero();    // zero norm
  Network deep;
  for (int l = 0; l < 50; ++l) {  // depth 50, large W_std
    deep.layers.push_back(Dense(64, 3.0, 0.5));
    deep.layers.push_back(Relu());
  }
  deep.layers.push_back(Dense(1));
  const AnalyticKernels k = analytic_kernels(deep, x);
  EXPECT_TRUE(k.nngp.allFinite() && k.ntk.allFinite());
  EXPECT_EQ(k.nngp(0, 1), k.nngp(0, 0));
  EXPECT_THROW(analytic_kernels(serial(Dense(8), Relu(), Dense(1)), x, gaussian_matrix(2, 4, 8)), Error);
  RowMatrixD bad = x;
  bad(0, 0) = NAN;
  EXPECT_THROW(analytic_kernels(serial(Dense(8), Relu(), Dense(1)), bad), Error);
}

// Issue 13: these gave NaN, Inf or zeros with no error.
TEST(AnalyticKernel, OverflowIsAnErrorNamingTheLayer) {
  const RowMatrixD x = gaussian_matrix(5, 4, 11);
  const auto message = [&](const Network& network, const RowMatrixD& input) {
    return test::error_of([&] { analytic_kernels(network, input); });
  };
  EXPECT_NE(message(serial(Dense(4, 1e300), Relu(), Dense(1)), x).find("after the layer Dense(4, W_std=1e+300)"),
            std::string::npos);
  EXPECT_NE(message(serial(Dense(4, 1.0, 1e200), Relu(), Dense(1)), x).find("b_std=1e+200"), std::string::npos);
  EXPECT_NE(message(serial(Dense(4), LeakyRelu(1e308), Dense(4), Relu(), Dense(1)), x)
                .find("after the layer LeakyRelu(alpha=1e+308)"),
            std::string::npos);
  // Gaussian(a, b > 0): E[exp(2b u²)] is infinite once 4bq ≥ 1 (here q ≈ 1).
  EXPECT_NE(message(serial(Dense(4), Gaussian(1.0, 0.5), Dense(1)), x).find("Gaussian(b=0.5)"), std::string::npos);
  EXPECT_NE(message(serial(Dense(4), Monomial(64), Dense(1)), RowMatrixD(x * 100.0)).find("Monomial(degree=64)"),
            std::string::npos);
  // ‖x‖² itself beyond double range.
  EXPECT_NE(message(serial(Dense(4), Relu(), Dense(1)), RowMatrixD(x * 1e160)).find("squared norm beyond double"),
            std::string::npos);
  // The same networks on inputs they can handle still work.
  EXPECT_TRUE(analytic_kernels(serial(Dense(4), Monomial(64), Dense(1)), RowMatrixD(x * 0.1)).ntk.allFinite());
}

TEST(AnalyticKernel, LayerNormIsScaleInvariantUpToHugeInputs) {
  const RowMatrixD x = gaussian_matrix(5, 4, 12);
  const Network net = serial(Dense(4), LayerNorm(), Relu(), Dense(1));
  const AnalyticKernels unit = analytic_kernels(net, x);
  for (const double scale : {1e78, 1e150}) {  // (small scales meet LayerNorm's ε = 1e-12)
    const AnalyticKernels scaled = analytic_kernels(net, RowMatrixD(x * scale));
    // Was all zeros at 1e78 ((q1 + ε)(q2 + ε) overflowed). Observed here: ≤ 5e-12 relative,
    // the rounding of q ≈ 1e300 through the Dense layers.
    EXPECT_LT(max_relative_error(scaled.nngp, unit.nngp), 1e-10) << scale;
    EXPECT_LT(max_relative_error(scaled.ntk, unit.ntk), 1e-10) << scale;
  }
}

// Erf saturates to a sign and Gelu becomes a ReLU for huge inputs; at the scale 1e150 their
// kernels came out 0 off the diagonal ((b²s)² and s² overflowed). At that scale the limits hold
// to O(q^−½) = 1e-150, i.e. to rounding: Erf's T → (2/π) asin ρ and, off the diagonal,
// Ṫ·K → (2/π) ρ / √(1 − ρ²); Gelu's kernels → ReLU's.
TEST(AnalyticKernel, ErfAndGeluAtHugeInputScales) {
  const RowMatrixD x = gaussian_matrix(5, 4, 14);
  const RowMatrixD huge = x * 1e150;
  const AnalyticKernels erf = analytic_kernels(serial(Dense(4), Erf(), Dense(1)), huge);
  const RowMatrixD gram = x * x.transpose();
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.rows(); ++j) {
      const double rho = std::clamp(gram(i, j) / std::sqrt(gram(i, i) * gram(j, j)), -1.0, 1.0);
      const double t = 2.0 / std::numbers::pi * std::asin(rho);
      EXPECT_NEAR(erf.nngp(i, j), t, 1e-14) << i << ", " << j;
      if (i != j) {
        const double theta = t + 2.0 / std::numbers::pi * rho / std::sqrt(1.0 - rho * rho);
        EXPECT_NEAR(erf.ntk(i, j), theta, 1e-12 * std::abs(theta) + 1e-14) << i << ", " << j;
      }
    }
  }
  const AnalyticKernels gelu = analytic_kernels(serial(Dense(4), Gelu(), Dense(1)), huge);
  const AnalyticKernels relu = analytic_kernels(serial(Dense(4), Relu(), Dense(1)), huge);
  EXPECT_LT(max_relative_error(gelu.nngp, relu.nngp), 1e-13);
  EXPECT_LT(max_relative_error(gelu.ntk, relu.ntk), 1e-13);
}

TEST(AnalyticKernel, EmptyInputIsAnError) {
  const Network net = serial(Dense(4), Relu(), Dense(1));
  EXPECT_THROW(analytic_kernels(net, RowMatrixD(0, 3)), Error);
  EXPECT_THROW(analytic_kernels(net, gaussian_matrix(2, 3, 1), RowMatrixD(0, 3)), Error);
}

// A progress callback that throws (Python's Ctrl-C) stops the work and the exception comes out
// of the call, instead of std::terminate from inside the OpenMP region.
TEST(AnalyticKernel, ThrowingProgressCallbackStopsTheComputation) {
  const RowMatrixD x = gaussian_matrix(600, 8, 13);
  AnalyticOptions options;
  int calls = 0;
  options.progress = [&](double fraction) {
    ++calls;
    if (fraction > 0.0) throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(analytic_kernels(serial(Dense(8), Tanh(), Dense(1)), x, options), std::runtime_error);
  EXPECT_GE(calls, 1);
}

}  // namespace
}  // namespace ntkit
