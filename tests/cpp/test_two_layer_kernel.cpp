// Tests of the infinite-width NTK of the two-layer network (docs/mathematics.md §2, §6): the Gauss–Hermite
// rule, closed forms against quadrature and against independent integrals, Monte Carlo of
// finite networks, symmetry/PSD, edge cases and input validation.
#include "ntkit/two_layer_kernel.hpp"

#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ntkit/error.hpp"
#include "ntkit/kernels.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;
constexpr double kPi = std::numbers::pi;
const Activation kAll[] = {Activation::Relu, Activation::Erf, Activation::Tanh, Activation::Identity};

double double_factorial(int n) {  // n!! for odd n ≥ −1
  double out = 1;
  for (int k = n; k > 1; k -= 2) out *= k;
  return out;
}

// ---- (1) Gauss–Hermite rule -----------------------------------------------------------------

TEST(GaussHermite, IntegratesPolynomialsExactlyUpToDegree2nMinus1) {
  for (int n : {1, 2, 3, 5, 10, 20, 40, 80}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const GaussHermite rule = gauss_hermite(n);
    ASSERT_EQ(rule.nodes.size(), static_cast<std::size_t>(n));
    ASSERT_EQ(rule.weights.size(), static_cast<std::size_t>(n));
    double total = 0;
    for (int k = 0; k < n; ++k) {
      EXPECT_GT(rule.weights[k], 0);
      if (k > 0) {
        EXPECT_LT(rule.nodes[k - 1], rule.nodes[k]);
      }
      EXPECT_EQ(rule.nodes[k], -rule.nodes[n - 1 - k]);
      total += rule.weights[k];
    }
    EXPECT_NEAR(total, 1.0, 1e-15);
    auto moment = [&](int p) {
      double s = 0, abs_s = 0;
      for (int k = 0; k < n; ++k) {
        s += rule.weights[k] * std::pow(rule.nodes[k], p);
        abs_s += rule.weights[k] * std::pow(std::abs(rule.nodes[k]), p);
      }
      return std::pair{s, abs_s};
    };
    for (int p = 0; p <= 2 * n - 1; ++p) {
      const auto [s, abs_s] = moment(p);
      if (p % 2 == 1) {
        EXPECT_LE(std::abs(s), 1e-14 * abs_s) << "odd moment " << p;
      } else {
        const double exact = double_factorial(p - 1);  // E[z^(2j)] = (2j − 1)!!
        EXPECT_NEAR(s / exact, 1.0, 1e-12) << "moment " << p;
      }
    }
    // Sharpness: z^(2n) − He_n(z)² has degree ≤ 2n − 1 and He_n vanishes at the nodes, so the
    // rule gives E[z^(2n)] − E[He_n²] = (2n − 1)!! − n!, not (2n − 1)!!.
    const double expected = double_factorial(2 * n - 1) - std::tgamma(n + 1.0);
    if (n == 1) {
      EXPECT_EQ(moment(2).first, 0.0);  // the one node is z = 0
    } else {
      EXPECT_NEAR(moment(2 * n).first / expected, 1.0, 1e-11);
    }
  }
}

TEST(GaussHermite, LargestDegreeIsFiniteAndNormalized) {
  const GaussHermite rule = gauss_hermite(200);
  double total = 0;
  for (std::size_t k = 0; k < rule.nodes.size(); ++k) {
    EXPECT_TRUE(std::isfinite(rule.nodes[k]));
    EXPECT_GT(rule.weights[k], 0);
    total += rule.weights[k];
  }
  EXPECT_NEAR(total, 1.0, 1e-14);
  // E[z⁴] = 3, E[z⁸] = 105.
  double m4 = 0, m8 = 0;
  for (std::size_t k = 0; k < rule.nodes.size(); ++k) {
    m4 += rule.weights[k] * std::pow(rule.nodes[k], 4);
    m8 += rule.weights[k] * std::pow(rule.nodes[k], 8);
  }
  EXPECT_NEAR(m4, 3.0, 1e-12);
  EXPECT_NEAR(m8, 105.0, 1e-10);
}

TEST(GaussHermite, Expectation2dOfProductsIsTheCovariance) {
  // E[uv] = k, E[u²v²] = q1 q2 + 2k²: polynomials, so exact already at small degree.
  const GaussHermite rule = gauss_hermite(5);
  const double q1 = 1.7, q2 = 0.6, k = -0.8;
  auto id = [](double z) { return z; };
  auto sq = [](double z) { return z * z; };
  EXPECT_NEAR(gaussian_expectation_2d(id, id, q1, q2, k, rule), k, 1e-14);
  EXPECT_NEAR(gaussian_expectation_2d(sq, sq, q1, q2, k, rule), q1 * q2 + 2 * k * k, 1e-13);
}

// ---- (2) Closed forms against quadrature and independent integrals --------------------------

struct Inputs {
  RowMatrixD x1, x2;
};

// Two sets with a range of norms and correlations, including a duplicate across the sets.
// Squared norms are scaled into [0.05, max_q]: Gauss–Hermite quadrature is only accurate to
// 1e-10 at degree ≤ 60 for ‖x‖² ≲ 0.5 (see two_layer_kernel.hpp).
Inputs cross_check_inputs(double max_q = 0.5) {
  Inputs in{gaussian_matrix(6, 4, 11), gaussian_matrix(5, 4, 12)};
  for (RowMatrixD* m : {&in.x1, &in.x2})
    for (Eigen::Index i = 0; i < m->rows(); ++i) {
      const double target = 0.05 + (max_q - 0.05) * double(i) / double(m->rows() - 1);
      m->row(i) *= std::sqrt(target) / m->row(i).norm();
    }
  in.x2.row(0) = in.x1.row(1);         // ρ = 1 (up to rounding) across the sets
  in.x2.row(1) = -0.5 * in.x1.row(2);  // ρ = −1
  return in;
}

TEST(TwoLayerNtk, ErfAndIdentityClosedFormsEqualQuadrature) {
  const Inputs in = cross_check_inputs();
  TwoLayerKernelOptions quad;
  quad.quadrature_degree = 60;
  quad.force_quadrature = true;
  for (Activation act : {Activation::Erf, Activation::Identity}) {
    SCOPED_TRACE(activation_name(act));
    const NtkParts closed = two_layer_ntk(act, in.x1, in.x2);
    const NtkParts numeric = two_layer_ntk(act, in.x1, in.x2, quad);
    const double err_a = max_relative_error(numeric.a, closed.a);
    const double err_b = max_relative_error(numeric.b, closed.b);
    EXPECT_LE(err_a, 1e-10);
    EXPECT_LE(err_b, 1e-10);
    std::printf("[ measure  ] %s closed form vs quadrature (degree 60): K^a %.2e, K^b %.2e\n", activation_name(act), err_a,
                err_b);
  }
}

TEST(TwoLayerNtk, QuadratureConvergesAtLargerNormsWithHigherDegree) {
  // ‖x‖² up to 2: degree 40 is off by ~1e-4, degree 120 is back to ~1e-12 (Erf at ρ = 1).
  const Inputs in = cross_check_inputs(2.0);
  const NtkParts closed = two_layer_ntk(Activation::Erf, in.x1, in.x2);
  TwoLayerKernelOptions quad;
  quad.force_quadrature = true;
  quad.quadrature_degree = 40;
  const NtkParts coarse = two_layer_ntk(Activation::Erf, in.x1, in.x2, quad);
  quad.quadrature_degree = 120;
  const NtkParts fine = two_layer_ntk(Activation::Erf, in.x1, in.x2, quad);
  const double err_coarse = max_relative_error(coarse.a, closed.a);
  const double err_fine = max_relative_error(fine.a, closed.a);
  std::printf("[ measure  ] erf K^a at |x|^2 <= 2: quadrature degree 40 %.2e, degree 120 %.2e\n", err_coarse, err_fine);
  EXPECT_LE(err_fine, 1e-10);
  EXPECT_LE(max_relative_error(fine.b, closed.b), 1e-10);
  EXPECT_LT(err_fine, 1e-3 * err_coarse);
}

TEST(TwoLayerNtk, ReluMatchesHalfTheArcCosineKernels) {
  // E[σ(u)σ(v)] = ½ arccos₁(x, x') and E[σ'(u)σ'(v)] = ½ arccos₀(x, x') for ReLU.
  const Inputs in = cross_check_inputs();
  const NtkParts parts = two_layer_ntk(Activation::Relu, in.x1, in.x2);
  KernelSpec order0, order1;
  order0.kind = order1.kind = KernelKind::ArcCos;
  order0.order = 0;
  order1.order = 1;
  const RowMatrixD j0 = kernel_matrix<double>(order0, in.x1, in.x2);
  const RowMatrixD j1 = kernel_matrix<double>(order1, in.x1, in.x2);
  const RowMatrixD gram = in.x1 * in.x2.transpose();
  const RowMatrixD ref_a = 0.5 * gram.cwiseProduct(j0), ref_b = 0.5 * j1;
  const double scale_a = ref_a.cwiseAbs().maxCoeff(), scale_b = ref_b.cwiseAbs().maxCoeff();
  for (Eigen::Index i = 0; i < gram.rows(); ++i)
    for (Eigen::Index j = 0; j < gram.cols(); ++j) {
      // Near ρ = ±1 (the duplicate and opposite pairs) θ ≈ √(2(1 − |ρ|)) turns the last-bit
      // differences between the two implementations (√(q1q2 − k²) there, √((1 − ρ)(1 + ρ))
      // here) into ~1e-9; elsewhere both agree to rounding.
      const double rho = gram(i, j) / (in.x1.row(i).norm() * in.x2.row(j).norm());
      const double tol = std::abs(rho) > 1 - 1e-6 ? 1e-8 : 1e-13;
      EXPECT_NEAR(parts.a(i, j), ref_a(i, j), tol * scale_a) << i << ", " << j;
      EXPECT_NEAR(parts.b(i, j), ref_b(i, j), tol * scale_b) << i << ", " << j;
    }
}

TEST(TwoLayerNtk, ReluHandComputedValues) {
  RowMatrixD x(3, 2);
  x << 1, 0, 0, 1, 1, 1;
  const NtkParts p = two_layer_ntk(Activation::Relu, x);
  // x = e1, x' = e2: θ = π/2, K^a = 0 (x·x' = 0), K^b = 1·(1 + 0)/(2π).
  EXPECT_EQ(p.a(0, 1), 0.0);
  EXPECT_NEAR(p.b(0, 1), 1 / (2 * kPi), 1e-16);
  // x = e1, x' = (1, 1): θ = π/4, K^a = 1·(3π/4)/(2π) = 3/8,
  // K^b = √2 (sin θ + (3π/4) cos θ)/(2π) = (1 + 3π/4)/(2π).
  EXPECT_NEAR(p.a(0, 2), 0.375, 1e-15);
  EXPECT_NEAR(p.b(0, 2), (1 + 0.75 * kPi) / (2 * kPi), 1e-15);
  // Duplicates: θ = 0, K^a = K^b = ‖x‖²/2.
  EXPECT_NEAR(p.a(2, 2), 1.0, 1e-15);
  EXPECT_NEAR(p.b(2, 2), 1.0, 1e-15);
}

// E[σ(u)σ(v)] and E[σ'(u)σ'(v)] for ReLU as a 1-D integral over z1 ≥ 0 (σ(u) = 0 below):
// given z1, v ~ N(μ, s²) with μ = √q2 ρ z1, s = √q2 √(1 − ρ²), and
//   E[max(v, 0)] = μ Φ(μ/s) + s φ(μ/s),   P(v > 0) = Φ(μ/s).
// The integrand is smooth on [0, ∞), so composite Simpson on [0, 12] is accurate to ~1e-13.
std::pair<double, double> relu_by_1d_integral(double q1, double q2, double k) {
  const double rho = k / std::sqrt(q1 * q2), s = std::sqrt(q2 * (1 - rho * rho));
  const int intervals = 20000;
  const double upper = 12.0, h = upper / intervals;
  double t = 0, t_dot = 0;
  for (int i = 0; i <= intervals; ++i) {
    const double z = i * h;
    const double weight = (i == 0 || i == intervals) ? 1 : (i % 2 ? 4 : 2);
    const double phi_z = std::exp(-0.5 * z * z) / std::sqrt(2 * kPi);
    const double mu = std::sqrt(q2) * rho * z, r = mu / s;
    const double cdf = 0.5 * std::erfc(-r / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * r * r) / std::sqrt(2 * kPi);
    t += weight * std::sqrt(q1) * z * (mu * cdf + s * pdf) * phi_z;
    t_dot += weight * cdf * phi_z;
  }
  return {t * h / 3, t_dot * h / 3};
}

TEST(TwoLayerNtk, ReluMatchesOneDimensionalIntegral) {
  const RowMatrixD x = gaussian_matrix(6, 3, 21);
  const NtkParts p = two_layer_ntk(Activation::Relu, x);
  const RowMatrixD gram = x * x.transpose();
  double worst = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.rows(); ++j) {
      if (i == j) continue;  // s = 0: the 1-D formula divides by it
      const auto [t, t_dot] = relu_by_1d_integral(gram(i, i), gram(j, j), gram(i, j));
      worst = std::max(worst, std::abs(p.b(i, j) - t) / std::abs(t));
      worst = std::max(worst, std::abs(p.a(i, j) - gram(i, j) * t_dot) / std::abs(gram(i, j) * t_dot));
    }
  EXPECT_LE(worst, 1e-10);
  std::printf("[ measure  ] relu closed form vs 1-D Simpson integral: max rel %.2e\n", worst);
}

TEST(TwoLayerNtk, ReluClosedFormMatchesQuadratureToItsKinkLimitedAccuracy) {
  // The 2-D product rule integrates max(v, 0) and the step σ'(v) across their kink, so it
  // converges only algebraically: the step function's inner integral is off by up to about
  // one weight near the kink (central weights ≈ 0.06 at degree 200), partly averaged out by
  // the outer sum. Measured at degree 200 (see the printout): 2.2e-2 in K^a and 1.0e-3 in
  // K^b relative to the largest entry; the tolerances below leave ~2-5x that. The exact
  // checks of ReLU are the arc-cosine and 1-D integral tests.
  const Inputs in = cross_check_inputs();
  TwoLayerKernelOptions quad;
  quad.quadrature_degree = 200;
  quad.force_quadrature = true;
  const NtkParts closed = two_layer_ntk(Activation::Relu, in.x1, in.x2);
  const NtkParts numeric = two_layer_ntk(Activation::Relu, in.x1, in.x2, quad);
  const double err_a = max_relative_error(numeric.a, closed.a);
  const double err_b = max_relative_error(numeric.b, closed.b);
  std::printf("[ measure  ] relu closed form vs quadrature (degree 200): K^a %.2e, K^b %.2e\n", err_a, err_b);
  EXPECT_LE(err_a, 5e-2);
  EXPECT_LE(err_b, 5e-3);
}

TEST(TwoLayerNtk, TanhFastPathEqualsGenericQuadratureAndConverges) {
  const Inputs in = cross_check_inputs();
  const int degree = 40;
  TwoLayerKernelOptions gh;
  gh.quadrature_degree = degree;
  const NtkParts parts = two_layer_ntk(Activation::Tanh, in.x1, in.x2, gh);
  const GaussHermite rule = gauss_hermite(degree);
  auto tanh = [](double z) { return std::tanh(z); };
  auto dtanh = [](double z) { return 1 - std::tanh(z) * std::tanh(z); };
  RowMatrixD ref_a(parts.a.rows(), parts.a.cols()), ref_b(parts.b.rows(), parts.b.cols());
  for (Eigen::Index i = 0; i < in.x1.rows(); ++i)
    for (Eigen::Index j = 0; j < in.x2.rows(); ++j) {
      double q1 = in.x1.row(i).squaredNorm(), q2 = in.x2.row(j).squaredNorm();
      const double k = in.x1.row(i).dot(in.x2.row(j));
      if (q1 < q2) std::swap(q1, q2);
      ref_b(i, j) = gaussian_expectation_2d(tanh, tanh, q1, q2, k, rule);
      ref_a(i, j) = k * gaussian_expectation_2d(dtanh, dtanh, q1, q2, k, rule);
    }
  // Same rule, same orientation (the point with the larger norm on the outer axis, as the
  // library does), same quantity: only the tanh evaluation (vectorized exp vs std::tanh) differs.
  const double err_same = std::max(max_relative_error(parts.a, ref_a), max_relative_error(parts.b, ref_b));
  EXPECT_LE(err_same, 1e-13);
  TwoLayerKernelOptions fine;
  fine.quadrature_degree = 150;
  const NtkParts converged = two_layer_ntk(Activation::Tanh, in.x1, in.x2, fine);
  const double err_a = max_relative_error(parts.a, converged.a);
  const double err_b = max_relative_error(parts.b, converged.b);
  EXPECT_LE(err_a, 1e-6);
  EXPECT_LE(err_b, 1e-6);
  // The default trapezoid rule agrees with the converged Gauss–Hermite rule at these small
  // norms (where degree 150 is accurate to ~1e-12).
  const NtkParts automatic = two_layer_ntk(Activation::Tanh, in.x1, in.x2);
  EXPECT_LE(max_relative_error(automatic.a, converged.a), 1e-10);
  EXPECT_LE(max_relative_error(automatic.b, converged.b), 1e-10);
  std::printf(
      "[ measure  ] tanh fast path vs generic quadrature (degree 40): %.2e; degree 40 vs 150: "
      "K^a %.2e, K^b %.2e\n",
      err_same, err_a, err_b);
}

// ---- (3) Monte Carlo of finite networks -----------------------------------------------------

double sigma(const Activation& act, double z) {  // written here independently of the library
  if (act == Activation::Relu) return z > 0 ? z : 0;
  if (act == Activation::Erf) return std::erf(z);
  if (act == Activation::Tanh) return std::tanh(z);
  return z;  // Identity
}
double sigma_prime(const Activation& act, double z) {
  if (act == Activation::Relu) return z > 0 ? 1 : 0;
  if (act == Activation::Erf) return 2 / std::sqrt(kPi) * std::exp(-z * z);
  if (act == Activation::Tanh) return 1 / (std::cosh(z) * std::cosh(z));
  return 1;  // Identity
}

TEST(TwoLayerNtk, MonteCarloOfFiniteNetworksWithinFiveStandardErrors) {
  // K_m^a = (x·x') (1/m) Σ b_i² σ'(a_i·x) σ'(a_i·x'), K_m^b = (1/m) Σ σ(a_i·x) σ(a_i·x'):
  // means of m i.i.d. samples, so |K_m − K| ≤ 5 SE with SE = sample std / √m.
  const Eigen::Index m = 200000, d = 3;
  for (Activation act : kAll) {
    // Tanh runs on degree-40 quadrature, which is accurate to ≪ 1 SE only for ‖x‖² ≲ 1
    // (two_layer_kernel.hpp); the closed forms take larger norms (‖x‖² up to ~4 here).
    RowMatrixD x = gaussian_matrix(5, d, 31, act == Activation::Tanh ? 0.45 : 0.8);
    x.row(4) = 0.3 * x.row(0) + 0.7 * x.row(1);
    const Eigen::Index n = x.rows();
    const RowMatrixD gram = x * x.transpose();
    const NtkParts k = two_layer_ntk(act, x);
    std::mt19937_64 rng(1234);
    std::normal_distribution<double> normal;
    RowMatrixD sum_a = RowMatrixD::Zero(n, n), sq_a = sum_a, sum_b = sum_a, sq_b = sum_a;
    std::vector<double> s(static_cast<std::size_t>(n)), ds(static_cast<std::size_t>(n));
    Eigen::VectorXd a(d);
    for (Eigen::Index i = 0; i < m; ++i) {
      for (Eigen::Index c = 0; c < d; ++c) a[c] = normal(rng);
      const double b = normal(rng);
      for (Eigen::Index p = 0; p < n; ++p) {
        const double z = x.row(p).dot(a);
        s[p] = sigma(act, z);
        ds[p] = sigma_prime(act, z);
      }
      for (Eigen::Index p = 0; p < n; ++p)
        for (Eigen::Index q = p; q < n; ++q) {
          const double ka = gram(p, q) * b * b * ds[p] * ds[q], kb = s[p] * s[q];
          sum_a(p, q) += ka;
          sq_a(p, q) += ka * ka;
          sum_b(p, q) += kb;
          sq_b(p, q) += kb * kb;
        }
    }
    double worst = 0;
    auto check = [&](double sum, double sq, double exact, const char* part, Eigen::Index p, Eigen::Index q) {
      const double md = static_cast<double>(m);
      const double mean = sum / md;
      const double var = std::max((sq - md * mean * mean) / (md - 1), 0.0);
      const double se = std::sqrt(var / md);
      const double z = std::abs(mean - exact) / std::max(se, 1e-300);
      worst = std::max(worst, z);
      EXPECT_LE(std::abs(mean - exact), 5 * se + 1e-12 * std::abs(exact))
          << activation_name(act) << " K^" << part << "(" << p << ", " << q << "): MC " << mean << " ± " << se << ", exact "
          << exact;
    };
    for (Eigen::Index p = 0; p < n; ++p)
      for (Eigen::Index q = p; q < n; ++q) {
        check(sum_a(p, q), sq_a(p, q), k.a(p, q), "a", p, q);
        check(sum_b(p, q), sq_b(p, q), k.b(p, q), "b", p, q);
      }
    std::printf("[ measure  ] %s Monte Carlo (m = %ld): largest deviation %.2f SE\n", activation_name(act),
                static_cast<long>(m), worst);
  }
}

// ---- (4) Symmetric route, exact symmetry, PSD -----------------------------------------------

TEST(TwoLayerNtk, SymmetricRouteAgreesIsSymmetricAndPsd) {
  RowMatrixD x = gaussian_matrix(40, 5, 41);
  x.row(7) = x.row(3);  // a duplicate: K is singular, still PSD
  x.row(9) = -x.row(2);
  for (Activation act : kAll) {
    SCOPED_TRACE(activation_name(act));
    const NtkParts sym = two_layer_ntk(act, x);
    const NtkParts gen = two_layer_ntk(act, x, x);
    // Gram values and norms differ in the last bits between the routes (SYRK vs GEMM and row
    // norms); near ρ = 1 the ReLU map has infinite slope (θ ≈ √(2(1 − ρ))), so an ulp in ρ
    // moves E[σ'σ'] by ~1e-9.
    EXPECT_LE(max_relative_error(gen.a, sym.a), 1e-8);
    EXPECT_LE(max_relative_error(gen.b, sym.b), 1e-8);
    for (const RowMatrixD* m : {&sym.a, &sym.b}) {
      EXPECT_TRUE(*m == m->transpose());
      const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<RowMatrixD>(*m).eigenvalues();
      EXPECT_GE(eig.minCoeff(), -1e-10 * eig.maxCoeff());
    }
    const RowMatrixD total = sym.total();
    EXPECT_TRUE(total == total.transpose());
    const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<RowMatrixD>(total).eigenvalues();
    EXPECT_GE(eig.minCoeff(), -1e-10 * eig.maxCoeff());
  }
}

// ---- (5) Edge cases -------------------------------------------------------------------------

TEST(TwoLayerNtk, DuplicatesOppositesAndZeroNormHaveTheirExactLimits) {
  RowMatrixD x(4, 3);
  x << 0.3, -1.2, 0.5,  // x
      0.3, -1.2, 0.5,   // x again
      -0.3, 1.2, -0.5,  // −x: ρ = −1
      0, 0, 0;          // zero norm
  const double q = x.row(0).squaredNorm();
  for (Activation act : kAll) {
    SCOPED_TRACE(activation_name(act));
    const NtkParts p = two_layer_ntk(act, x);
    EXPECT_TRUE(p.a.allFinite());
    EXPECT_TRUE(p.b.allFinite());
    // Duplicates: identical rows and columns.
    EXPECT_EQ(p.a.row(0), p.a.row(1));
    EXPECT_EQ(p.b.row(0), p.b.row(1));
    // Zero norm: u ≡ 0 and σ(0) = 0 for all four activations, and x·0 = 0: K^a = K^b = 0.
    EXPECT_EQ(p.a.row(3).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ(p.b.row(3).cwiseAbs().maxCoeff(), 0.0);
    const double tol = 1e-13 * std::max(1.0, q);
    if (act == Activation::Relu) {
      // θ = 0: K^a = K^b = q/2. θ = π: σ'(u)σ'(−u) = 0 and σ(u)σ(−u) = 0, so both are 0.
      EXPECT_NEAR(p.a(0, 0), q / 2, tol);
      EXPECT_NEAR(p.b(0, 0), q / 2, tol);
      EXPECT_NEAR(p.a(0, 2), 0.0, tol);
      EXPECT_NEAR(p.b(0, 2), 0.0, tol);
    } else if (act == Activation::Erf) {
      // k = ±q: K^b = ±(2/π) arcsin(2q/(1 + 2q)), K^a = ±q (4/π)/√(1 + 4q) (σ' is even).
      const double kb = 2 / kPi * std::asin(2 * q / (1 + 2 * q));
      const double ka = q * 4 / kPi / std::sqrt(1 + 4 * q);
      EXPECT_NEAR(p.b(0, 0), kb, tol);
      EXPECT_NEAR(p.a(0, 0), ka, tol);
      EXPECT_NEAR(p.b(0, 2), -kb, tol);
      EXPECT_NEAR(p.a(0, 2), -ka, tol);
    } else if (act == Activation::Tanh) {
      // σ odd and σ' even: K(x, −x) = −K(x, x) for both parts.
      EXPECT_NEAR(p.a(0, 2), -p.a(0, 0), tol);
      EXPECT_NEAR(p.b(0, 2), -p.b(0, 0), tol);
      EXPECT_GT(p.b(0, 0), 0.0);
    } else {  // Identity
      EXPECT_NEAR(p.a(0, 0), q, tol);
      EXPECT_NEAR(p.b(0, 0), q, tol);
      EXPECT_NEAR(p.a(0, 2), -q, tol);
      EXPECT_NEAR(p.b(0, 2), -q, tol);
    }
    // The general route on the same data gives finite values and the same zero row/column.
    const NtkParts g = two_layer_ntk(act, x, x);
    EXPECT_TRUE(g.a.allFinite());
    EXPECT_TRUE(g.b.allFinite());
    EXPECT_EQ(g.b.col(3).cwiseAbs().maxCoeff(), 0.0);
  }
}

TEST(TwoLayerNtk, ForcedQuadratureHandlesZeroNormAndOpposites) {
  RowMatrixD x(3, 2);
  x << 1.0, 2.0, -1.0, -2.0, 0.0, 0.0;
  TwoLayerKernelOptions quad;
  quad.force_quadrature = true;
  for (Activation act : kAll) {
    const NtkParts p = two_layer_ntk(act, x, quad);
    EXPECT_TRUE(p.a.allFinite() && p.b.allFinite()) << activation_name(act);
    EXPECT_EQ(p.b(2, 2), 0.0) << activation_name(act);
  }
}

TEST(TwoLayerNtk, EmptyInputsGiveEmptyKernels) {
  const RowMatrixD none(0, 3), some = gaussian_matrix(2, 3, 5);
  const NtkParts p = two_layer_ntk(Activation::Tanh, none, some);
  EXPECT_EQ(p.a.rows(), 0);
  EXPECT_EQ(p.a.cols(), 2);
  EXPECT_EQ(two_layer_ntk(Activation::Relu, none).b.size(), 0);
}

// ---- (6) Errors -----------------------------------------------------------------------------

TEST(TwoLayerNtk, RejectsBadInputs) {
  const RowMatrixD x = gaussian_matrix(3, 4, 1), y = gaussian_matrix(2, 5, 2);
  EXPECT_THROW(two_layer_ntk(Activation::Relu, x, y), Error);
  try {
    two_layer_ntk(Activation::Relu, x, y);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("columns"), std::string::npos) << e.what();
  }
  RowMatrixD bad = x;
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  try {
    two_layer_ntk(Activation::Erf, x, bad);
    ADD_FAILURE() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x2"), std::string::npos) << e.what();
  }
  bad(1, 2) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(two_layer_ntk(Activation::Tanh, bad), Error);
  EXPECT_THROW(two_layer_ntk(Activation::Tanh, bad, x), Error);
  RowMatrixD huge = x;
  huge(0, 0) = 1e200;  // finite, but its squared norm overflows
  EXPECT_THROW(two_layer_ntk(Activation::Relu, huge), Error);

  for (int degree : {-1, 201}) {
    TwoLayerKernelOptions opt;
    opt.quadrature_degree = degree;
    EXPECT_THROW(two_layer_ntk(Activation::Tanh, x, opt), Error) << degree;
    EXPECT_THROW(two_layer_ntk(Activation::Relu, x, x, opt), Error) << degree;
    EXPECT_THROW(gauss_hermite(degree), Error) << degree;
  }
  EXPECT_THROW(gauss_hermite(0), Error);  // 0 means "automatic" only in the options
  const GaussHermite rule = gauss_hermite(4);
  auto id = [](double z) { return z; };
  EXPECT_THROW(gaussian_expectation_2d(id, id, -1.0, 1.0, 0.0, rule), Error);
  EXPECT_THROW(gaussian_expectation_2d(id, id, 1.0, 1.0, std::nan(""), rule), Error);
  EXPECT_THROW(gaussian_expectation_2d(id, id, 1.0, 1.0, 0.0, GaussHermite{}), Error);
}

// Tanh on standardized-scale data (‖x‖² ≈ 10, as after standardizing 10 features), where
// Gauss–Hermite at moderate degree is off by percents (review finding): the default rule
// against independent references. Diagonal: T = E[tanh(√q z)²] and Ṫ = E[sech⁴(√q z)] by a
// dense 1-D midpoint sum (h = 1e-4 on [−12, 12]). Off-diagonal: Monte Carlo, 4e6 samples.
TEST(TwoLayerKernel, TanhDefaultRuleIsAccurateAtLargeNorms) {
  RowMatrixD x = gaussian_matrix(4, 10, 77);  // ‖x‖² ≈ 10
  const NtkParts k = two_layer_ntk(Activation::Tanh, x);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double q = x.row(i).squaredNorm();
    double t = 0, tdot = 0;
    const double h = 1e-4;
    for (double z = -12 + h / 2; z < 12; z += h) {
      const double w = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi) * h;
      const double th = std::tanh(std::sqrt(q) * z);
      t += w * th * th;
      tdot += w * (1 - th * th) * (1 - th * th);
    }
    EXPECT_NEAR(k.b(i, i), t, 1e-10 * t) << "q = " << q;
    EXPECT_NEAR(k.a(i, i), q * tdot, 1e-9 * q * tdot) << "q = " << q;
  }
  // Monte Carlo of the pair (0, 1): u = a·x0, v = a·x1 with a ~ N(0, I).
  const RowMatrixD a = gaussian_matrix(4000000, 10, 78);
  const VectorD u = a * x.row(0).transpose(), v = a * x.row(1).transpose();
  const double ns = static_cast<double>(u.size());
  const Eigen::ArrayXd prod = u.array().tanh() * v.array().tanh();
  const double mean = prod.mean();
  const double se = std::sqrt((prod - mean).square().sum() / ns / ns);
  EXPECT_NEAR(k.b(0, 1), mean, 5 * se + 1e-12);
}

}  // namespace
}  // namespace ntkit
