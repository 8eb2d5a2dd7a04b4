// Tests of the dual activations T = E[φ(u)φ(v)], Ṫ = E[φ'(u)φ'(v)] (src/activations/, one file
// per family).
//
// References, each independent of the closed forms under test:
//  - smooth φ: 2-D Gauss–Hermite quadrature (gaussian_expectation_2d) at degree 150 with φ, φ'
//    written here. For entire φ and q ≤ 1 the product rule converges geometrically (features
//    of φ(√q z) are ≥ 1 wide against a node spacing ≈ π/√(2·150) ≈ 0.18; see
//    two_layer_kernel.hpp for the measured growth of the error with q), so it is accurate to
//    ~1e-12 there and a 1e-8 relative bound tests the formulas, not the reference;
//  - non-smooth φ (ReLU family, Abs, Sign, Step, RectifiedMonomial): Monte Carlo with 10⁶
//    samples, within 5 standard errors (quadrature converges only algebraically at a kink),
//    plus exact special cases and the existing ReLU/arc-cosine kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "ntkit/dual_activation.hpp"
#include "ntkit/error.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

struct Pair {
  double t, tdot;
};

Pair eval(const DualActivation& dual, double q1, double q2, double k) {
  Pair p{};
  dual.apply(&q1, &q2, &k, &p.t, &p.tdot, 1);
  return p;
}

ActivationLayer layer_of(const Layer& layer) { return std::get<ActivationLayer>(layer); }

// (q1, q2, k) with q ≤ 1 (quadrature references) covering ρ = 0, ±1, duplicates, mixed signs.
struct Cov {
  double q1, q2, k;
};
const std::vector<Cov> kSmall = {
    {1.0, 1.0, 0.3}, {0.5, 0.8, -0.4}, {0.7, 0.7, 0.7},  {1.0, 0.25, 0.5}, {0.3, 0.6, -std::sqrt(0.18)},
    {0.2, 0.9, 0.0}, {0.05, 1.0, 0.2}, {1.0, 1.0, -0.95}};
// Larger variances for the Monte Carlo checks of positively homogeneous activations.
const std::vector<Cov> kMixed = {{1.0, 1.0, 0.3}, {0.5, 2.0, -0.6}, {1.5, 0.7, 0.9},
                                 {0.4, 0.4, 0.0}, {2.0, 2.0, 1.99}, {1.0, 3.0, -1.5}};

// ---- Scalar φ and φ' written independently of the library -------------------------------

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }
double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi); }

struct Fn {
  std::function<double(double)> f, df;
};

Fn reference_fn(const ActivationLayer& l) {
  const double a = l.a, b = l.b, c = l.c;
  const double two_over_sqrt_pi = 2.0 / std::sqrt(std::numbers::pi);
  switch (l.kind) {
    case ActivationKind::Relu: return {[](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }};
    case ActivationKind::LeakyRelu: {
      const double al = l.alpha;
      return {[al](double x) { return x > 0 ? x : al * x; }, [al](double x) { return x > 0 ? 1.0 : al; }};
    }
    case ActivationKind::ABRelu:
      return {[a, b](double x) { return a * std::min(x, 0.0) + b * std::max(x, 0.0); },
              [a, b](double x) { return x > 0 ? b : a; }};
    case ActivationKind::Abs: return {[](double x) { return std::abs(x); }, [](double x) { return x > 0 ? 1.0 : -1.0; }};
    case ActivationKind::Sign: return {[](double x) { return double((x > 0) - (x < 0)); }, [](double) { return 0.0; }};
    case ActivationKind::RectifiedMonomial: {
      const int n = l.degree;
      return {[n](double x) { return x >= 0 ? std::pow(x, n) : 0.0; },
              [n](double x) { return n == 0 || x < 0 ? 0.0 : n * std::pow(x, n - 1); }};
    }
    case ActivationKind::Erf:
      return {[=](double x) { return a * std::erf(b * x) + c; },
              [=](double x) { return a * b * two_over_sqrt_pi * std::exp(-b * b * x * x); }};
    case ActivationKind::Sigmoid_like: {
      const double s = 1 / 2.4020563531719796;
      return {[=](double x) { return 0.5 * std::erf(s * x) + 0.5; },
              [=](double x) { return 0.5 * s * two_over_sqrt_pi * std::exp(-s * s * x * x); }};
    }
    case ActivationKind::Gelu:
      return {[](double x) { return x * normal_cdf(x); }, [](double x) { return normal_cdf(x) + x * normal_pdf(x); }};
    case ActivationKind::Sin:
      return {[=](double x) { return a * std::sin(b * x + c); }, [=](double x) { return a * b * std::cos(b * x + c); }};
    case ActivationKind::Cos:
      return {[=](double x) { return a * std::cos(b * x + c); }, [=](double x) { return -a * b * std::sin(b * x + c); }};
    case ActivationKind::Rbf: {
      const double w = std::sqrt(2.0 * l.gamma), p = std::numbers::pi / 4;
      return {[=](double x) { return std::numbers::sqrt2 * std::sin(w * x + p); },
              [=](double x) { return std::numbers::sqrt2 * w * std::cos(w * x + p); }};
    }
    case ActivationKind::Exp:
      return {[=](double x) { return a * std::exp(b * x); }, [=](double x) { return a * b * std::exp(b * x); }};
    case ActivationKind::Gaussian:
      return {[=](double x) { return a * std::exp(b * x * x); },
              [=](double x) { return 2 * a * b * x * std::exp(b * x * x); }};
    case ActivationKind::Monomial: {
      const int n = l.degree;
      return {[n](double x) { return std::pow(x, n); }, [n](double x) { return n == 0 ? 0.0 : n * std::pow(x, n - 1); }};
    }
    case ActivationKind::Polynomial: {
      const std::vector<double> cf = l.coef;
      return {[cf](double x) {
                double y = 0;
                for (std::size_t i = cf.size(); i-- > 0;) y = y * x + cf[i];
                return y;
              },
              [cf](double x) {
                double y = 0;
                for (std::size_t i = cf.size(); i-- > 1;) y = y * x + double(i) * cf[i];
                return y;
              }};
    }
    case ActivationKind::Tanh:
      return {[](double x) { return std::tanh(x); }, [](double x) { return 1.0 / (std::cosh(x) * std::cosh(x)); }};
    case ActivationKind::Softplus:
      return {[](double x) { return std::log1p(std::exp(-std::abs(x))) + std::max(x, 0.0); },
              [](double x) { return 1.0 / (1.0 + std::exp(-x)); }};
    case ActivationKind::Elu: {
      const double al = l.alpha;
      return {[al](double x) { return x > 0 ? x : al * std::expm1(x); },
              [al](double x) { return x > 0 ? 1.0 : al * std::exp(x); }};
    }
    case ActivationKind::Selu: {
      const double al = 1.6732632423543772848170429916717, sc = 1.0507009873554804934193349852946;
      return {[=](double x) { return sc * (x > 0 ? x : al * std::expm1(x)); },
              [=](double x) { return sc * (x > 0 ? 1.0 : al * std::exp(x)); }};
    }
    case ActivationKind::Silu:
      return {[](double x) { return x / (1.0 + std::exp(-x)); },
              [](double x) {
                const double s = 1.0 / (1.0 + std::exp(-x));
                return s * (1.0 + x * (1.0 - s));
              }};
    case ActivationKind::Hermite: {
      // He_{j+1} = x He_j − j He_{j−1} unnormalized, then / √(n!); He_n' = n He_{n−1}.
      const int n = l.degree;
      const auto he = [](int m, double x) {
        double previous = 0, current = 1;
        for (int j = 0; j < m; ++j) {
          const double next = x * current - j * previous;
          previous = current;
          current = next;
        }
        return current;
      };
      const double norm = std::sqrt(std::tgamma(n + 1.0));
      return {[=](double x) { return he(n, x) / norm; }, [=](double x) { return n == 0 ? 0.0 : n * he(n - 1, x) / norm; }};
    }
  }
  return {};
}

// ---- Monte Carlo -----------------------------------------------------------------------------

struct McResult {
  double t, t_se, tdot, tdot_se;
};

// Shared standard normal pairs (common random numbers across configurations).
const std::vector<double>& normals() {
  static const std::vector<double> z = [] {
    std::mt19937_64 rng(20240611);
    std::normal_distribution<double> normal;
    std::vector<double> out(2'000'000);
    for (double& x : out) x = normal(rng);
    return out;
  }();
  return z;
}

McResult monte_carlo(const Fn& fn, double q1, double q2, double k) {
  const std::vector<double>& z = normals();
  const std::size_t n = z.size() / 2;
  const double r = std::sqrt(q1 * q2);
  const double rho = r > 0 ? std::clamp(k / r, -1.0, 1.0) : 0.0;
  const double sn = std::sqrt((1 - rho) * (1 + rho));
  double s = 0, ss = 0, d = 0, dd = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double z1 = z[2 * i], z2 = z[2 * i + 1];
    const double u = std::sqrt(q1) * z1, v = std::sqrt(q2) * (rho * z1 + sn * z2);
    const double x = fn.f(u) * fn.f(v), y = fn.df(u) * fn.df(v);
    s += x;
    ss += x * x;
    d += y;
    dd += y * y;
  }
  const double nn = double(n);
  const auto se = [nn](double sum, double sum_sq) {
    const double mean = sum / nn;
    return std::sqrt(std::max(sum_sq / nn - mean * mean, 0.0) / nn);
  };
  return {s / nn, se(s, ss), d / nn, se(d, dd)};
}

std::string describe(const ActivationLayer& l) { return to_string(Layer{l}); }

// ---- Smooth closed forms against quadrature -----------------------------------------------

TEST(DualActivation, SmoothClosedFormsMatchQuadrature) {
  const std::vector<ActivationLayer> layers = {layer_of(Erf()),
                                               layer_of(Erf(2.0, 0.5, 0.3)),
                                               layer_of(Erf(-1.0, 1.7, -1.0)),
                                               layer_of(Sigmoid_like()),
                                               layer_of(Gelu()),
                                               layer_of(Gelu(true)),
                                               layer_of(Sin()),
                                               layer_of(Sin(2.0, 1.5, 0.4)),
                                               layer_of(Cos()),
                                               layer_of(Cos(1.3, 0.7, -0.2)),
                                               layer_of(Rbf()),
                                               layer_of(Rbf(0.3)),
                                               layer_of(Exp()),
                                               layer_of(Exp(0.5, -0.7)),
                                               layer_of(Gaussian()),
                                               layer_of(Gaussian(2.0, -0.3)),
                                               layer_of(Gaussian(1.0, 0.1)),
                                               layer_of(Monomial(0)),
                                               layer_of(Monomial(1)),
                                               layer_of(Monomial(2)),
                                               layer_of(Monomial(3)),
                                               layer_of(Monomial(5)),
                                               layer_of(Monomial(8)),
                                               layer_of(Polynomial({0.2})),
                                               layer_of(Polynomial({1.0, -2.0, 0.5, 0.3})),
                                               layer_of(Polynomial({0.1, 0.0, -1.0, 0.0, 0.25, 0.5, -0.05}))};
  const GaussHermite rule = gauss_hermite(150);
  for (const ActivationLayer& l : layers) {
    const DualActivation dual(l);
    EXPECT_TRUE(dual.has_closed_form());
    const Fn fn = reference_fn(l);
    double worst_t = 0, worst_d = 0;
    for (const Cov& c : kSmall) {
      const Pair got = eval(dual, c.q1, c.q2, c.k);
      const double t = gaussian_expectation_2d(fn.f, fn.f, c.q1, c.q2, c.k, rule);
      const double d = gaussian_expectation_2d(fn.df, fn.df, c.q1, c.q2, c.k, rule);
      const double et = std::abs(got.t - t) / std::max(std::abs(t), 1.0);
      const double ed = std::abs(got.tdot - d) / std::max(std::abs(d), 1.0);
      worst_t = std::max(worst_t, et);
      worst_d = std::max(worst_d, ed);
      EXPECT_LE(et, 1e-8) << describe(l) << " T at q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k << ": " << got.t << " vs "
                          << t;
      EXPECT_LE(ed, 1e-8) << describe(l) << " Tdot at q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k << ": " << got.tdot
                          << " vs " << d;
    }
    std::printf("  [quadrature] %-45s max rel err T %.1e  Tdot %.1e\n", describe(l).c_str(), worst_t, worst_d);
  }
}

// ---- Non-smooth closed forms against Monte Carlo ------------------------------------------

TEST(DualActivation, NonSmoothClosedFormsMatchMonteCarlo) {
  const std::vector<ActivationLayer> layers = {layer_of(Relu()),
                                               layer_of(LeakyRelu(0.2)),
                                               layer_of(ABRelu(-0.5, 2.0)),
                                               layer_of(Abs()),
                                               layer_of(Sign()),
                                               layer_of(Step()),
                                               layer_of(RectifiedMonomial(1)),
                                               layer_of(RectifiedMonomial(2)),
                                               layer_of(RectifiedMonomial(3))};
  for (const ActivationLayer& l : layers) {
    const DualActivation dual(l);
    const Fn fn = reference_fn(l);
    double worst_t = 0, worst_d = 0;  // in standard errors
    for (const Cov& c : kMixed) {
      const Pair got = eval(dual, c.q1, c.q2, c.k);
      const McResult mc = monte_carlo(fn, c.q1, c.q2, c.k);
      const double zt = std::abs(got.t - mc.t) / std::max(mc.t_se, 1e-300);
      const double zd = std::abs(got.tdot - mc.tdot) / std::max(mc.tdot_se, 1e-300);
      worst_t = std::max(worst_t, got.t == mc.t ? 0.0 : zt);
      worst_d = std::max(worst_d, got.tdot == mc.tdot ? 0.0 : zd);
      EXPECT_LE(std::abs(got.t - mc.t), 5 * mc.t_se + 1e-12)
          << describe(l) << " T at q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k;
      EXPECT_LE(std::abs(got.tdot - mc.tdot), 5 * mc.tdot_se + 1e-12)
          << describe(l) << " Tdot at q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k;
    }
    std::printf("  [monte carlo] %-30s max |err| T %.2f SE  Tdot %.2f SE\n", describe(l).c_str(), worst_t, worst_d);
  }
}

// Rectified monomials at ρ = 0 and ρ = 1 in closed form from 1-D moments:
// E[z₊ⁿ] = E|z|ⁿ/2 = 2^{n/2} Γ((n+1)/2)/(2√π), E[z₊^{2n}] = (2n − 1)!!/2.
TEST(DualActivation, RectifiedMonomialExactMoments) {
  for (int n = 0; n <= 9; ++n) {
    const DualActivation dual(layer_of(RectifiedMonomial(n)));
    const double q1 = 0.7, q2 = 1.9;
    const double half_abs = std::pow(2.0, n / 2.0) * std::tgamma((n + 1) / 2.0) / (2.0 * std::sqrt(std::numbers::pi));
    const double ind = std::pow(q1 * q2, n / 2.0) * half_abs * half_abs;
    EXPECT_NEAR(eval(dual, q1, q2, 0.0).t, ind, 1e-13 * ind) << n;
    double dfact = 1;  // (2n − 1)!!
    for (int j = 2 * n - 1; j > 1; j -= 2) dfact *= j;
    const double r = std::sqrt(q1 * q2);
    const double same = std::pow(r, n) * dfact / 2;
    EXPECT_NEAR(eval(dual, q1, q2, r).t, same, 1e-13 * same) << n;
    EXPECT_NEAR(eval(dual, q1, q2, -r).t, n == 0 ? 0.0 : 0.0, 1e-12 * same) << n;
    if (n >= 1) {  // Ṫ_n = n² T_{n−1}
      const DualActivation lower(layer_of(RectifiedMonomial(n - 1)));
      EXPECT_NEAR(eval(dual, q1, q2, 0.4).tdot, n * n * eval(lower, q1, q2, 0.4).t,
                  1e-13 * std::abs(eval(dual, q1, q2, 0.4).tdot))
          << n;
    }
  }
}

// ---- Agreement with the existing closed forms ----------------------------------------------

TEST(DualActivation, ReluAndErfMatchTwoLayerKernel) {
  // Inputs on a 1/8 grid: every product and sum below is exact, so both routes see the very
  // same q1, q2, k (at ρ = ±1 a one-ulp difference in k moves θ by ~1e-8).
  const RowMatrixD x = (test::gaussian_matrix(12, 5, 7, 0.6) * 8.0).array().round() / 8.0;
  RowMatrixD xd = x;
  xd.row(3) = xd.row(1);   // duplicate
  xd.row(5) = -xd.row(2);  // opposite
  xd.row(7).setZero();     // zero norm
  for (Activation act : {Activation::Relu, Activation::Erf, Activation::Tanh}) {
    // Tanh: the same Gauss–Hermite rule on both sides (two_layer_ntk's default is the
    // trapezoid rule), so that the comparison is of the code paths, not of the rules.
    TwoLayerKernelOptions same_rule;
    same_rule.quadrature_degree = 40;
    const NtkParts parts = two_layer_ntk(act, xd, xd, same_rule);
    const DualActivation dual(act == Activation::Relu  ? layer_of(Relu())
                              : act == Activation::Erf ? layer_of(Erf())
                                                       : layer_of(Tanh()),
                              40);
    double worst = 0;
    for (Eigen::Index i = 0; i < xd.rows(); ++i)
      for (Eigen::Index j = 0; j < xd.rows(); ++j) {
        const double q1 = xd.row(i).squaredNorm(), q2 = xd.row(j).squaredNorm();
        const double k = xd.row(i).dot(xd.row(j));
        const Pair p = eval(dual, q1, q2, k);
        worst = std::max({worst, std::abs(p.t - parts.b(i, j)), std::abs(k * p.tdot - parts.a(i, j))});
      }
    EXPECT_LE(worst, 1e-13) << activation_name(act);
    std::printf("  [two_layer_ntk] %-6s max abs diff %.1e\n", activation_name(act), worst);
  }
}

TEST(DualActivation, RectifiedMonomialMatchesArcCosineKernel) {
  const RowMatrixD x = (test::gaussian_matrix(10, 4, 11) * 8.0).array().round() / 8.0;
  for (int order = 0; order <= 2; ++order) {
    KernelSpec spec;
    spec.kind = KernelKind::ArcCos;
    spec.order = order;
    const RowMatrixD kmat = kernel_matrix<double>(spec, x, x);
    const DualActivation dual(layer_of(RectifiedMonomial(order)));
    double worst = 0;
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      for (Eigen::Index j = 0; j < x.rows(); ++j) {
        // Cho & Saul's k_n = (1/π) ‖x‖ⁿ‖y‖ⁿ J_n = 2 E[φ(u)φ(v)] for w ~ N(0, I).
        const Pair p = eval(dual, x.row(i).squaredNorm(), x.row(j).squaredNorm(), x.row(i).dot(x.row(j)));
        worst = std::max(worst, std::abs(2 * p.t - kmat(i, j)) / std::max(1.0, std::abs(kmat(i, j))));
      }
    EXPECT_LE(worst, 1e-13) << order;
  }
}

// ---- Quadrature fallback --------------------------------------------------------------------

TEST(DualActivation, QuadratureFallbackMatchesMonteCarlo) {
  // The default rules, including Elu's and Selu's rule split at the kink, within Monte Carlo
  // noise. The printed degree-200 Gauss–Hermite error shows what a product rule not aligned
  // with the kink lines u = 0, v = 0 does for Elu (α ≠ 1) and Selu: their φ' jumps there.
  struct Case {
    ActivationLayer layer;
    double extra;  // allowance for the quadrature error of Ṫ (none needed by the default rules)
  };
  const std::vector<Case> cases = {{layer_of(Tanh()), 0}, {layer_of(Softplus()), 0}, {layer_of(Silu()), 0},
                                   {layer_of(Elu()), 0},  {layer_of(Elu(0.5)), 0},   {layer_of(Selu()), 0}};
  for (const Case& cs : cases) {
    const ActivationLayer& l = cs.layer;
    const DualActivation dual(l), fine(l, 200);
    EXPECT_FALSE(dual.has_closed_form());
    const Fn fn = reference_fn(l);
    double worst_t = 0, worst_d = 0, worst_abs_d = 0, worst_abs_d_fine = 0;
    for (const Cov& c : kSmall) {
      const Pair got = eval(dual, c.q1, c.q2, c.k), got_fine = eval(fine, c.q1, c.q2, c.k);
      const McResult mc = monte_carlo(fn, c.q1, c.q2, c.k);
      worst_t = std::max(worst_t, std::abs(got.t - mc.t) / std::max(mc.t_se, 1e-300));
      worst_d = std::max(worst_d, std::abs(got.tdot - mc.tdot) / std::max(mc.tdot_se, 1e-300));
      worst_abs_d = std::max(worst_abs_d, std::abs(got.tdot - mc.tdot));
      worst_abs_d_fine = std::max(worst_abs_d_fine, std::abs(got_fine.tdot - mc.tdot));
      EXPECT_LE(std::abs(got.t - mc.t), 5 * mc.t_se) << describe(l) << " k=" << c.k;
      EXPECT_LE(std::abs(got.tdot - mc.tdot), 5 * mc.tdot_se + cs.extra) << describe(l) << " k=" << c.k;
    }
    std::printf("  [monte carlo] %-14s max |err| T %.2f SE  Tdot %.2f SE (abs %.1e; degree 200: %.1e)\n", describe(l).c_str(),
                worst_t, worst_d, worst_abs_d, worst_abs_d_fine);
  }
}

// The smooth fallbacks at the default degree 40 against a degree-150 rule: the quadrature
// error itself, for q ≤ 1.
TEST(DualActivation, QuadratureFallbackConvergesForSmoothActivations) {
  const GaussHermite rule = gauss_hermite(150);
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())}) {
    const DualActivation dual(l);
    const Fn fn = reference_fn(l);
    double worst = 0;
    for (const Cov& c : kSmall) {
      const Pair got = eval(dual, c.q1, c.q2, c.k);
      const double t = gaussian_expectation_2d(fn.f, fn.f, c.q1, c.q2, c.k, rule);
      const double d = gaussian_expectation_2d(fn.df, fn.df, c.q1, c.q2, c.k, rule);
      worst = std::max(
          {worst, std::abs(got.t - t) / std::max(1.0, std::abs(t)), std::abs(got.tdot - d) / std::max(1.0, std::abs(d))});
    }
    EXPECT_LE(worst, 1e-5) << describe(l);  // Tanh: 2e-6 at q = 1, ρ = 1 (steepest φ')
    std::printf("  [degree 40 vs 150] %-10s max rel err %.1e\n", describe(l).c_str(), worst);
  }
}

// The default rule at large variances (the first layer of the lecture's network on
// standardized data has q up to ~50), against a dense 2-D rectangle rule written here: step
// 0.02 over |z| ≤ 9 is exact to double precision for these integrands (tanh(√q z) has its
// poles π/(2√q) ≥ 0.22 off the real axis: error ~e^{−2π·0.22/0.02}).
double dense_expectation(const std::function<double(double)>& f, double q1, double q2, double k) {
  const double h = 0.02, reach = 9.0, s1 = std::sqrt(q1), s2 = std::sqrt(q2);
  const double rho = k / (s1 * s2), sn = std::sqrt(std::max(0.0, 1 - rho * rho));
  const int m = static_cast<int>(reach / h);
  std::vector<double> z(2 * m + 1), w(2 * m + 1);
  for (int j = -m; j <= m; ++j) {
    z[j + m] = j * h;
    w[j + m] = h * std::exp(-0.5 * j * h * j * h) / std::sqrt(2 * std::numbers::pi);
  }
  double sum = 0;
  for (std::size_t a = 0; a < z.size(); ++a) {
    double inner = 0;
    for (std::size_t b = 0; b < z.size(); ++b) inner += w[b] * f(s2 * (rho * z[a] + sn * z[b]));
    sum += w[a] * f(s1 * z[a]) * inner;
  }
  return sum;
}

TEST(DualActivation, DefaultQuadratureIsAccurateAtLargeVariances) {
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())}) {
    const DualActivation dual(l), hermite40(l, 40);
    const Fn fn = reference_fn(l);
    double worst = 0, worst40 = 0;
    for (const auto& [q1, q2, rho] :
         {std::tuple{1.0, 1.0, 0.6}, std::tuple{4.0, 2.5, -0.3}, std::tuple{49.0, 49.0, 0.6}, std::tuple{25.0, 9.0, 0.95}}) {
      const double k = rho * std::sqrt(q1 * q2);
      const double t = dense_expectation(fn.f, q1, q2, k), d = dense_expectation(fn.df, q1, q2, k);
      const Pair got = eval(dual, q1, q2, k), got40 = eval(hermite40, q1, q2, k);
      worst = std::max({worst, std::abs(got.t - t) / std::abs(t), std::abs(got.tdot - d) / std::abs(d)});
      worst40 = std::max({worst40, std::abs(got40.t - t) / std::abs(t), std::abs(got40.tdot - d) / std::abs(d)});
    }
    EXPECT_LE(worst, 1e-12) << describe(l);  // measured: 4e-14 (Tanh)
    std::printf("  [q up to 49] %-10s max rel err %.1e (Gauss-Hermite 40: %.1e)\n", describe(l).c_str(), worst, worst40);
  }
}

// Elu and Selu (φ' jumps at u = 0 and v = 0) against a reference that knows nothing of the
// library's closed-form inner integral: polar coordinates. With u = L11 z1, v = L21 z1 + L22 z2
// (Cholesky) and z = r(cos θ, sin θ), the kink lines u = 0 and v = 0 are four rays, so the
// plane splits into four sectors on each of which φ(u)φ(v) e^{−r²/2} r is analytic in r and θ;
// a tensor Gauss–Legendre rule (here, in long double: 64 angles × 128 radii on r ≤ 12, Gaussian
// weight e^{−72} beyond) per sector converges geometrically. At ρ = 1 (L22 = 0) the reference is
// the 1-D integral E[φ(u)²] split at 0.
// Its own Gauss–Legendre nodes (long double, any n), on purpose not the library's: a wrong
// rule in the library must not also be the reference's.
struct LongRule {
  std::vector<long double> x, w;  // on [0, 1]
};
LongRule legendre_long(int n) {
  LongRule r;
  for (int i = 0; i < n; ++i) {
    long double x = std::cos(std::numbers::pi_v<long double> * (i + 0.75L) / (n + 0.5L)), dp = 1;
    for (int it = 0; it < 100; ++it) {
      long double p0 = 1, p1 = x;
      for (int j = 2; j <= n; ++j) {
        const long double p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      x -= p1 / dp;
    }
    r.x.push_back((x + 1) / 2);
    r.w.push_back(1 / ((1 - x * x) * dp * dp));
  }
  return r;
}

long double elu_long(long double x, long double alpha, long double scale, bool derivative) {
  if (derivative) return scale * (x > 0 ? 1.0L : alpha * std::exp(x));
  return scale * (x > 0 ? x : alpha * std::expm1(x));
}

Pair polar_reference(double alpha, double scale, double q1, double q2, double k) {
  static const LongRule angles = legendre_long(64), radii = legendre_long(128);
  const long double pi = std::numbers::pi_v<long double>, reach = 12;
  // The correlation as the inputs state it (k = ρ√(q1q2) in double): Ṫ moves like √(1 − ρ) near
  // ρ = ±1 when φ' jumps, so a Cholesky factor rounded to 1 − 1e-19 would shift it by 1e-10.
  const long double rho = std::clamp(k / std::sqrt(q1 * q2), -1.0, 1.0);
  const long double l11 = std::sqrt((long double)q1), l21 = rho * std::sqrt((long double)q2),
                    l22 = std::sqrt((long double)q2) * std::sqrt((1 - rho) * (1 + rho));
  Pair out{};
  for (const bool derivative : {false, true}) {
    long double total = 0;
    if (l22 == 0) {  // v = (l21/l11) u: E[φ(u) φ(c u)] in 1-D, halves split at the kink
      for (const long double sign : {-1.0L, 1.0L})
        for (std::size_t j = 0; j < radii.x.size(); ++j) {
          const long double z = sign * reach * radii.x[j];
          total += reach * radii.w[j] * std::exp(-z * z / 2) / std::sqrt(2 * pi) *
                   elu_long(l11 * z, alpha, scale, derivative) * elu_long(l21 * z, alpha, scale, derivative);
        }
    } else {
      const long double ray = std::atan2(-l21, l22);  // v = 0 along θ = ray and ray + π
      std::vector<long double> cuts = {pi / 2, 3 * pi / 2, std::fmod(ray + 2 * pi, 2 * pi), std::fmod(ray + 3 * pi, 2 * pi),
                                       0,      2 * pi};
      std::sort(cuts.begin(), cuts.end());
      for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
        const long double lo = cuts[s], width = cuts[s + 1] - lo;
        for (std::size_t a = 0; a < angles.x.size(); ++a) {
          const long double th = lo + width * angles.x[a], ct = std::cos(th), st = std::sin(th);
          long double radial = 0;
          for (std::size_t b = 0; b < radii.x.size(); ++b) {
            const long double r = reach * radii.x[b];
            radial += reach * radii.w[b] * r * std::exp(-r * r / 2) * elu_long(l11 * r * ct, alpha, scale, derivative) *
                      elu_long(r * (l21 * ct + l22 * st), alpha, scale, derivative);
          }
          total += width * angles.w[a] * radial / (2 * pi);
        }
      }
    }
    (derivative ? out.tdot : out.t) = static_cast<double>(total);
  }
  return out;
}

TEST(DualActivation, EluAndSeluMatchPolarReference) {
  constexpr double kSeluAlpha = 1.6732632423543772848170429916717, kSeluScale = 1.0507009873554804934193349852946;
  struct Case {
    ActivationLayer layer;
    double alpha, scale;
  };
  const std::vector<Case> cases = {{layer_of(Elu()), 1.0, 1.0},
                                   {layer_of(Elu(0.5)), 0.5, 1.0},
                                   {layer_of(Elu(2.0)), 2.0, 1.0},
                                   {layer_of(Selu()), kSeluAlpha, kSeluScale}};
  // Variances from 1e-6 to 400, correlations from −1 to 1 − 1e-10 (steep inner thresholds).
  std::vector<Cov> covs;
  for (const auto& [q1, q2] : {std::pair{1.0, 1.0}, std::pair{0.3, 2.0}, std::pair{1e-3, 2e-3}, std::pair{25.0, 16.0},
                               std::pair{400.0, 100.0}, std::pair{1e-6, 1e-6}})
    for (const double rho : {-1.0, -0.9999, -0.4, 0.0, 0.5, 0.999, 0.99999999, 1 - 1e-10, 1.0})
      covs.push_back({q1, q2, rho * std::sqrt(q1 * q2)});
  for (const Case& cs : cases) {
    const DualActivation dual(cs.layer), hermite40(cs.layer, 40);
    double worst = 0, worst40 = 0;
    for (const Cov& c : covs) {
      const Pair ref = polar_reference(cs.alpha, cs.scale, c.q1, c.q2, c.k);
      const Pair got = eval(dual, c.q1, c.q2, c.k), got40 = eval(hermite40, c.q1, c.q2, c.k);
      // Relative to the scale of the entry (T ≈ q, Ṫ ≈ 1 at most), so T ≈ 0 is not divided by 0.
      const double t_scale = std::sqrt(c.q1 * c.q2) * cs.scale * cs.scale, d_scale = cs.scale * cs.scale;
      const double err = std::max(std::abs(got.t - ref.t) / t_scale, std::abs(got.tdot - ref.tdot) / d_scale);
      worst = std::max(worst, err);
      worst40 = std::max({worst40, std::abs(got40.t - ref.t) / t_scale, std::abs(got40.tdot - ref.tdot) / d_scale});
      EXPECT_LE(err, 2e-13) << describe(cs.layer) << " q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k << " T=" << got.t
                            << " ref " << ref.t << " Tdot=" << got.tdot << " ref " << ref.tdot;
    }
    // Measured: 5.7e-14 at worst (Elu(2)); Gauss–Hermite 40 is off by 2e-2 to 9e-2 in Ṫ.
    std::printf("  [polar reference] %-12s max rel err %.1e (Gauss-Hermite 40: %.1e)\n", describe(cs.layer).c_str(), worst,
                worst40);
  }
}

// The default rule of Tanh, Softplus and Silu at variances from 1e-6 to 1e6 against a reference
// that shares nothing with it: nested 1-D tanh-sinh (double exponential) quadrature in long
// double. Each 1-D integral over [−12, 12] (Gaussian weight e^{−72} beyond) is split at the
// integrand's transition (0 outside, −c/s inside, as for the library but with no grading or
// scales): tanh-sinh clusters its nodes doubly exponentially at the ends of each part, which
// resolves φ(√q z) down to scales far below 1/√q = 1e-3. Step 1/48 on |t| ≤ 3.5 (337 nodes per
// part): on the hardest 1-D case, E[sech⁴(1000 Z)] (Ṫ of tanh at q = 1e6, ρ = 1), the rule is
// within 2e-16 of mpmath (step 1/32 was off by 2e-11, 1/64 by 5e-25).
namespace tanh_sinh {

struct LongPair {
  long double f, df;
};

LongPair smooth_long(ActivationKind kind, long double x) {
  if (kind == ActivationKind::Tanh) {
    const long double e = std::exp(-2 * std::abs(x));
    return {std::copysign((1 - e) / (1 + e), x), 4 * e / ((1 + e) * (1 + e))};
  }
  const long double e = std::exp(-std::abs(x)), s = x >= 0 ? 1 / (1 + e) : e / (1 + e);
  if (kind == ActivationKind::Softplus) return {std::max(x, 0.0L) + std::log1p(e), s};
  return {x * s, s * (1 + x * (1 - s))};  // Silu
}

// Nodes and weights of tanh-sinh on [a, b], each node's distance to its nearer end computed
// directly (no cancellation next to the ends).
void rule(long double a, long double b, std::vector<long double>& z, std::vector<long double>& w) {
  const long double h = 1.0L / 48, half_pi = std::numbers::pi_v<long double> / 2;
  z.clear();
  w.clear();
  for (int j = -168; j <= 168; ++j) {
    const long double t = j * h, y = half_pi * std::sinh(t), e = std::exp(-2 * std::abs(y));
    const long double near = (b - a) * e / (1 + e);  // distance to the nearer end
    z.push_back(t < 0 ? a + near : b - near);
    w.push_back(h * (b - a) * half_pi * std::cosh(t) * 2 * e / ((1 + e) * (1 + e)));
  }
}

// E over Z ~ N(0, 1) on [−12, 12], split at `split` if it lies inside.
template <class G>
void expectation(long double split, const G& g, long double& sum_f, long double& sum_df) {
  constexpr long double reach = 12;
  const long double norm = 1 / std::sqrt(2 * std::numbers::pi_v<long double>);
  std::vector<long double> z, w;
  sum_f = sum_df = 0;
  std::vector<std::pair<long double, long double>> parts;
  if (-reach < split && split < reach) parts = {{-reach, split}, {split, reach}};
  else parts = {{-reach, reach}};
  for (const auto& [a, b] : parts) {
    rule(a, b, z, w);
    for (std::size_t i = 0; i < z.size(); ++i) {
      const LongPair p = g(z[i]);
      const long double wi = w[i] * norm * std::exp(-z[i] * z[i] / 2);
      sum_f += wi * p.f;
      sum_df += wi * p.df;
    }
  }
}

Pair reference(ActivationKind kind, double q1, double q2, double k) {
  const long double rho = std::clamp(k / std::sqrt(q1 * q2), -1.0, 1.0);
  const long double s1 = std::sqrt((long double)q1), s2 = std::sqrt((long double)q2);
  const long double cu = s2 * rho, cs = s2 * std::sqrt((1 - rho) * (1 + rho));
  long double t = 0, d = 0;
  expectation(
      0,
      [&](long double za) {
        const LongPair u = smooth_long(kind, s1 * za);
        const long double c = cu * za;
        LongPair inner{};
        if (cs == 0) inner = smooth_long(kind, c);
        else
          expectation(
              -c / cs, [&](long double zb) { return smooth_long(kind, c + cs * zb); }, inner.f, inner.df);
        return LongPair{u.f * inner.f, u.df * inner.df};
      },
      t, d);
  return {static_cast<double>(t), static_cast<double>(d)};
}

}  // namespace tanh_sinh

TEST(DualActivation, DefaultQuadratureMatchesDoubleExponentialReference) {
#ifdef NTKIT_SANITIZED_BUILD
  GTEST_SKIP() << "long-double reference integration: about 45 s optimized, far longer under the sanitizers";
#endif
  const std::vector<double> qs = {1e-6, 1e-3, 1.0, 10.0, 100.0, 1e3, 1e4, 1e6};
  const std::vector<double> rhos = {-1.0, -0.999999, -0.5, 0.0, 0.3, 0.99, 0.999999, 1.0};
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())}) {
    const DualActivation dual(l);
    double worst_all = 0;
    for (const double q : qs) {
      double worst = 0, worst_plain = 0;
      // q1 = q2 and q1 = q, q2 = 0.37 q (different norms).
      for (const double ratio : {1.0, 0.37}) {
        const double q1 = q, q2 = ratio * q;
        // Scale of the entry: T(q1, q1, q1) and T(q2, q2, q2) bound |T| (Cauchy–Schwarz); relative
        // to it, an entry with T ≈ 0 (tanh at ρ = 0) is not divided by 0. Likewise for Ṫ.
        const Pair d1 = tanh_sinh::reference(l.kind, q1, q1, q1), d2 = tanh_sinh::reference(l.kind, q2, q2, q2);
        const double t_scale = std::sqrt(d1.t * d2.t), d_scale = std::sqrt(d1.tdot * d2.tdot);
        for (const double rho : rhos) {
          const double k = rho * std::sqrt(q1 * q2);
          const Pair ref = tanh_sinh::reference(l.kind, q1, q2, k), got = eval(dual, q1, q2, k);
          const double err = std::max(std::abs(got.t - ref.t) / t_scale, std::abs(got.tdot - ref.tdot) / d_scale);
          worst = std::max(worst, err);
          // Plain relative error where the value is not tiny against its scale.
          if (std::abs(ref.t) > 1e-3 * t_scale)
            worst_plain = std::max(worst_plain, std::abs(got.t - ref.t) / std::abs(ref.t));
          if (std::abs(ref.tdot) > 1e-3 * d_scale)
            worst_plain = std::max(worst_plain, std::abs(got.tdot - ref.tdot) / std::abs(ref.tdot));
          EXPECT_LE(err, 1e-13) << describe(l) << " q1=" << q1 << " q2=" << q2 << " rho=" << rho << " T=" << got.t << " ref "
                                << ref.t << " Tdot=" << got.tdot << " ref " << ref.tdot;
        }
      }
      worst_all = std::max(worst_all, worst);
      std::printf("  [tanh-sinh] %-9s q=%-6g max err %.1e of the scale, %.1e relative\n", describe(l).c_str(), q, worst,
                  worst_plain);
    }
    std::printf("  [tanh-sinh] %-9s all q: max err %.1e\n", describe(l).c_str(), worst_all);
  }
}

// For q → ∞, tanh(√q z) → sign z: T → (2/π) arcsin ρ, with an error ~1/√q (E[sech²(√q z)]
// ≈ 0.8/√q at ρ = 1); Ṫ → 0. Finite, symmetric, diagonal equal to apply, at any variance.
TEST(DualActivation, DefaultQuadratureAtHugeVariances) {
  const DualActivation tanh_dual(layer_of(Tanh()));
  for (const double q : {1e12, 1e300}) {
    for (const double rho : {-1.0, -0.999999, -0.5, 0.0, 0.3, 0.99, 0.999999, 1.0}) {
      const Pair p = eval(tanh_dual, q, q, rho * q);
      const double sign_kernel = 2.0 * std::asin(rho) / std::numbers::pi;
      // The library's ρ = k/√(q1q2) may differ from rho by an ulp, which moves arcsin by
      // ulp/√(1 − ρ²) (7e-14 at ρ = 0.999999).
      const double conditioning = 2e-16 / std::sqrt((1 - rho) * (1 + rho) + 1e-300);
      EXPECT_NEAR(p.t, sign_kernel, 2.0 / std::sqrt(q) + 1e-14 + conditioning) << "q=" << q << " rho=" << rho;
      EXPECT_TRUE(std::isfinite(p.tdot) && p.tdot >= 0 && p.tdot <= 2.0 / std::sqrt(q)) << q << " " << rho;
    }
  }
  const std::vector<double> q1 = {17.0, 1e8, 1e12, 3e150, 1e300, 1e308, 1e300, 5.0};
  const std::vector<double> q2 = {1e6, 2e-3, 1e12, 1e150, 1e-300, 1e308, 0.0, 1e300};
  const std::vector<double> k = {-4e3, 0.3, 1e12, -1e150, 1e-10, -1e308, 0.0, 1e150};
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())}) {
    const DualActivation dual(l);
    const std::size_t n = q1.size();
    std::vector<double> t12(n), d12(n), t21(n), d21(n), diag(n), full(n), dfull(n);
    dual.apply(q1.data(), q2.data(), k.data(), t12.data(), d12.data(), n);
    dual.apply(q2.data(), q1.data(), k.data(), t21.data(), d21.data(), n);
    dual.apply_diagonal(q1.data(), diag.data(), n);
    dual.apply(q1.data(), q1.data(), q1.data(), full.data(), dfull.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(std::isfinite(t12[i]) && std::isfinite(d12[i])) << describe(l) << " i=" << i;
      EXPECT_TRUE(std::isfinite(full[i]) && std::isfinite(dfull[i])) << describe(l) << " i=" << i;
      EXPECT_EQ(t12[i], t21[i]) << describe(l) << " i=" << i;
      EXPECT_EQ(d12[i], d21[i]) << describe(l) << " i=" << i;
      EXPECT_EQ(diag[i], full[i]) << describe(l) << " i=" << i;
    }
  }
  // Infinite or NaN variances (outside the documented domain) return at once, whatever the value.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())})
    for (const Cov& c : {Cov{inf, 1, 0.5}, Cov{inf, inf, inf}, Cov{nan, 1, 0}, Cov{1, 1, nan}})
      EXPECT_NO_THROW(eval(DualActivation(l), c.q1, c.q2, c.k)) << describe(l);
}

// Where the default rule switches from the trapezoid rule to the graded one (q_max = 4,
// kTrapezoidMaxQ in dual_activation.cpp), the two agree to the accuracy of either.
TEST(DualActivation, DefaultQuadratureIsContinuousAtTheSwitch) {
  for (const ActivationLayer& l : {layer_of(Tanh()), layer_of(Softplus()), layer_of(Silu())}) {
    const DualActivation dual(l);
    for (const double rho : {-1.0, -0.7, 0.0, 0.4, 0.999999, 1.0}) {
      const double below = 4.0, above = std::nextafter(4.0, 8.0);
      const Pair a = eval(dual, below, below, rho * below), b = eval(dual, above, above, rho * above);
      const Pair scale = eval(dual, below, below, below);
      EXPECT_NEAR(a.t, b.t, 1e-13 * scale.t) << describe(l) << " rho=" << rho;
      EXPECT_NEAR(a.tdot, b.tdot, 1e-13 * scale.tdot) << describe(l) << " rho=" << rho;
    }
  }
}

}  // namespace

namespace detail {
std::size_t smooth_quadrature_evaluations(double q1, double q2, double k);  // smooth_quadrature.cpp
}  // namespace detail

namespace {

// Cost per entry bounded for every variance: the default rule of Tanh, Softplus and Silu never
// spends more than a fixed number of evaluations of φ (the old trapezoid rule needed
// (65√q)²: 4e9 at q = 1e6, 4e301 at q = 1e300).
TEST(DualActivation, DefaultQuadratureCostIsBounded) {
  std::size_t worst = 0;
  for (double q = 1e-8; q <= 1e300; q *= 7.3)
    for (const double ratio : {1.0, 0.5, 1e-7})
      for (const double rho : {-1.0, -0.999999, -0.3, 0.0, 1e-9, 0.5, 0.99, 1 - 1e-14, 1.0}) {
        const double q2 = ratio * q;
        const std::size_t count = detail::smooth_quadrature_evaluations(q, q2, rho * std::sqrt(q) * std::sqrt(q2));
        worst = std::max(worst, count);
        // 70 000: the most this sweep measured (59 460) plus a margin; the rule's own
        // ceiling is kMaxGradedNodes · (kMaxGradedNodes + 1) = 360 · 361.
        EXPECT_LE(count, 70000u) << "q=" << q << " ratio=" << ratio << " rho=" << rho;
      }
  std::printf("  [cost] at most %zu evaluations per entry for q up to 1e300\n", worst);
}

// ---- Identities and edge cases ----------------------------------------------------------

std::vector<ActivationLayer> all_layers() {
  return {layer_of(Relu()),
          layer_of(LeakyRelu(0.1)),
          layer_of(ABRelu(0.3, -2.0)),
          layer_of(Abs()),
          layer_of(Erf(1.5, 0.7, 0.2)),
          layer_of(Sigmoid_like()),
          layer_of(Gelu()),
          layer_of(Sin(1.2, 0.8, 0.3)),
          layer_of(Cos()),
          layer_of(Sign()),
          layer_of(Step()),
          layer_of(Rbf(0.5)),
          layer_of(Gaussian()),
          layer_of(Gaussian(1.0, 0.05)),
          layer_of(Exp(0.8, 0.6)),
          layer_of(Monomial(3)),
          layer_of(RectifiedMonomial(4)),
          layer_of(Polynomial({1.0, 0.5, -0.25})),
          layer_of(Tanh()),
          layer_of(Softplus()),
          layer_of(Elu()),
          layer_of(Selu()),
          layer_of(Silu()),
          layer_of(Hermite(3))};
}

TEST(DualActivation, DiagonalIsApplyAtEqualArguments) {
  const std::vector<double> q = {0.0, 1e-300, 1e-20, 0.3, 1.0, 2.5, 17.0, 1e3};
  for (const ActivationLayer& l : all_layers()) {
    const DualActivation dual(l);
    std::vector<double> diag(q.size()), full(q.size()), tdot(q.size());
    dual.apply_diagonal(q.data(), diag.data(), q.size());
    dual.apply(q.data(), q.data(), q.data(), full.data(), tdot.data(), q.size());
    for (std::size_t i = 0; i < q.size(); ++i) {
      EXPECT_EQ(diag[i], full[i]) << describe(l) << " q=" << q[i];
      EXPECT_FALSE(std::isnan(diag[i]) || std::isnan(tdot[i])) << describe(l) << " q=" << q[i];
    }
    // In place.
    std::vector<double> inplace = q;
    dual.apply_diagonal(inplace.data(), inplace.data(), q.size());
    for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(inplace[i], diag[i]) << describe(l);
  }
}

TEST(DualActivation, SymmetricAndAliasingSafe) {
  const std::vector<double> q1 = {0.3, 1.0, 0.0, 2.0, 0.5, 1e-10, 0.8};
  const std::vector<double> q2 = {0.9, 0.2, 1.0, 2.0, 0.5, 3.0, 0.8};
  const std::vector<double> k = {0.1, -0.3, 0.0, 2.0, -0.5, 1e-6, 0.7999};
  for (const ActivationLayer& l : all_layers()) {
    const DualActivation dual(l);
    const std::size_t n = q1.size();
    std::vector<double> t12(n), d12(n), t21(n), d21(n);
    dual.apply(q1.data(), q2.data(), k.data(), t12.data(), d12.data(), n);
    dual.apply(q2.data(), q1.data(), k.data(), t21.data(), d21.data(), n);
    std::vector<double> in_place = k, nngp_only(n);
    dual.apply(q1.data(), q2.data(), k.data(), nngp_only.data(), nullptr, n);
    dual.apply(q1.data(), q2.data(), in_place.data(), in_place.data(), nullptr, n);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(t12[i], t21[i]) << describe(l) << " i=" << i;
      EXPECT_EQ(d12[i], d21[i]) << describe(l) << " i=" << i;
      EXPECT_EQ(nngp_only[i], t12[i]) << describe(l) << " i=" << i;
      EXPECT_EQ(in_place[i], t12[i]) << describe(l) << " i=" << i;
      EXPECT_TRUE(std::isfinite(t12[i]) && std::isfinite(d12[i])) << describe(l) << " i=" << i;
    }
  }
}

TEST(DualActivation, LongArraysMatchEntryByEntry) {
  // More than one internal block (256 entries), odd length.
  const std::size_t n = 601;
  std::vector<double> q1(n), q2(n), k(n);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uni(0.0, 2.0), cor(-1.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    q1[i] = uni(rng);
    q2[i] = uni(rng);
    k[i] = cor(rng) * std::sqrt(q1[i] * q2[i]);
  }
  for (const ActivationLayer& l : {layer_of(Relu()), layer_of(Gelu()), layer_of(Polynomial({0, 1, 1})),
                                   layer_of(RectifiedMonomial(2)), layer_of(Silu())}) {
    const DualActivation dual(l, 20);
    std::vector<double> t(n), d(n);
    dual.apply(q1.data(), q2.data(), k.data(), t.data(), d.data(), n);
    for (std::size_t i = 0; i < n; i += 37) {
      const Pair p = eval(dual, q1[i], q2[i], k[i]);
      EXPECT_EQ(p.t, t[i]) << describe(l);
      EXPECT_EQ(p.tdot, d[i]) << describe(l);
    }
  }
}

TEST(DualActivation, DuplicatesAndOppositesAreExact) {
  for (double q : {0.37, 1.0, 5.5, 1e-200, 1e200}) {
    const Pair relu = eval(DualActivation(layer_of(Relu())), q, q, q);
    EXPECT_EQ(relu.t, 0.5 * q);
    EXPECT_EQ(relu.tdot, 0.5);
    const Pair relu_opp = eval(DualActivation(layer_of(Relu())), q, q, -q);
    EXPECT_EQ(relu_opp.t, 0.0);
    EXPECT_EQ(relu_opp.tdot, 0.0);
    const Pair abs = eval(DualActivation(layer_of(Abs())), q, q, q);
    EXPECT_EQ(abs.t, q);
    EXPECT_EQ(abs.tdot, 1.0);
    EXPECT_EQ(eval(DualActivation(layer_of(Abs())), q, q, -q).tdot, -1.0);
    EXPECT_EQ(eval(DualActivation(layer_of(Sign())), q, q, q).t, 1.0);
    EXPECT_EQ(eval(DualActivation(layer_of(Sign())), q, q, -q).t, -1.0);
    EXPECT_EQ(eval(DualActivation(layer_of(Step())), q, q, q).t, 0.5);
    EXPECT_EQ(eval(DualActivation(layer_of(Step())), q, q, -q).t, 0.0);
    EXPECT_EQ(eval(DualActivation(layer_of(Rbf(0.7))), q, q, q).t, 1.0);
  }
  // Correlation beyond ±1 from rounding is clipped.
  const Pair over = eval(DualActivation(layer_of(Relu())), 1.0, 1.0, 1.0 + 1e-15);
  EXPECT_EQ(over.t, 0.5);
  EXPECT_EQ(over.tdot, 0.5);
  // ρ = 1 with different norms (x' = 2x): θ = 0.
  EXPECT_EQ(eval(DualActivation(layer_of(Sign())), 0.3, 1.2, 0.6).t, 1.0);
}

TEST(DualActivation, ZeroNormIsFiniteWithDocumentedConvention) {
  for (const ActivationLayer& l : all_layers()) {
    const DualActivation dual(l);
    for (const Cov& c : {Cov{0, 0, 0}, Cov{0, 1.5, 0}, Cov{2.0, 0, 0}}) {
      const Pair p = eval(dual, c.q1, c.q2, c.k);
      EXPECT_TRUE(std::isfinite(p.t) && std::isfinite(p.tdot)) << describe(l);
    }
  }
  // ρ := 0 (θ = π/2) as neural-tangents' fill_zero: Relu Ṫ = ¼, Sign T = 0, Step T = ¼.
  EXPECT_EQ(eval(DualActivation(layer_of(Relu())), 0, 0, 0).tdot, 0.25);
  EXPECT_EQ(eval(DualActivation(layer_of(Relu())), 0, 1, 0).tdot, 0.25);
  EXPECT_EQ(eval(DualActivation(layer_of(Relu())), 0, 0, 0).t, 0.0);
  EXPECT_EQ(eval(DualActivation(layer_of(Sign())), 0, 0, 0).t, 0.0);
  EXPECT_EQ(eval(DualActivation(layer_of(Step())), 0, 0, 0).t, 0.25);
  // Smooth activations are continuous at q = 0: T = φ(0)², Ṫ = φ'(0)².
  EXPECT_DOUBLE_EQ(eval(DualActivation(layer_of(Gelu())), 0, 0, 0).tdot, 0.25);
  EXPECT_DOUBLE_EQ(eval(DualActivation(layer_of(Erf(1, 2, 0.5))), 0, 0, 0).t, 0.25);
  EXPECT_DOUBLE_EQ(eval(DualActivation(layer_of(Erf(1, 2, 0.5))), 0, 0, 0).tdot, 4.0 * 4.0 / std::numbers::pi);
  EXPECT_DOUBLE_EQ(eval(DualActivation(layer_of(Polynomial({2, 3}))), 0, 0, 0).t, 4.0);
  EXPECT_DOUBLE_EQ(eval(DualActivation(layer_of(Polynomial({2, 3}))), 0, 0, 0).tdot, 9.0);
  EXPECT_NEAR(eval(DualActivation(layer_of(Tanh())), 0, 0, 0).tdot, 1.0, 1e-14);
}

TEST(DualActivation, OverflowIsInfiniteNotNan) {
  // Exp: a² e^{b²(q1+q2+2k)/2} beyond double range.
  const Pair e = eval(DualActivation(layer_of(Exp())), 800.0, 800.0, 800.0);
  EXPECT_EQ(e.t, std::numeric_limits<double>::infinity());
  EXPECT_EQ(e.tdot, std::numeric_limits<double>::infinity());
  const Pair small_a = eval(DualActivation(layer_of(Exp(1e-300, 1.0))), 700.0, 700.0, 700.0);
  EXPECT_TRUE(std::isfinite(small_a.t));  // e^{1400} · 1e-600 fits
  const Pair zero_a = eval(DualActivation(layer_of(Exp(0.0, 1.0))), 1e308, 1e308, 1e308);
  EXPECT_EQ(zero_a.t, 0.0);
  // Gaussian with b > 0: divergent once 4bq ≥ 1 on the diagonal.
  const DualActivation g(layer_of(Gaussian(1.0, 0.5)));
  EXPECT_EQ(eval(g, 1.0, 1.0, 0.2).t, std::numeric_limits<double>::infinity());
  EXPECT_EQ(eval(g, 1.0, 1.0, -0.2).tdot, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isfinite(eval(g, 0.4, 0.4, 0.1).t));
  // Large but finite variances stay finite for the bounded-growth families.
  for (const ActivationLayer& l :
       {layer_of(Relu()), layer_of(Erf()), layer_of(Gelu()), layer_of(Sin()), layer_of(Gaussian()), layer_of(Tanh())}) {
    const Pair p = eval(DualActivation(l), 1e150, 3e150, -1e150);
    EXPECT_TRUE(std::isfinite(p.t) && std::isfinite(p.tdot)) << describe(l);
  }
}

TEST(DualActivation, RejectsInvalidLayers) {
  EXPECT_THROW((DualActivation(layer_of(Tanh()), -1)), Error);
  EXPECT_NO_THROW((DualActivation(layer_of(Tanh()), 0)));  // 0: the adaptive trapezoid rule
  EXPECT_THROW((DualActivation(layer_of(Tanh()), 201)), Error);
  ActivationLayer bad = layer_of(Polynomial({1.0}));
  bad.coef.clear();
  EXPECT_THROW((DualActivation(bad)), Error);
  ActivationLayer neg = layer_of(Monomial(2));
  neg.degree = -1;
  EXPECT_THROW((DualActivation(neg)), Error);
  EXPECT_NO_THROW((DualActivation(layer_of(Relu()), 0)));  // the degree matters only for quadrature
}

// ---- Hermite(n) = He_n(x)/√(n!) -----------------------------------------------------------------

// T and Ṫ against the 2-D Gauss–Hermite rule of φ(u)φ(v), which is exact (to rounding) for a
// polynomial φ of degree n ≤ 74 at any variance: the integrand is a polynomial of degree 2n in
// the standard normal coordinates and the 150-point rule integrates degree 299 exactly.
TEST(DualActivation, HermiteMatchesQuadratureAtAnyVariance) {
  const GaussHermite rule = gauss_hermite(150);
  const std::vector<Cov> covs = {
      {1.0, 1.0, 0.3}, {0.5, 0.8, -0.4}, {2.5, 2.5, 2.5}, {4.0, 0.25, 0.7}, {1.7, 3.0, -std::sqrt(1.7 * 3.0)},
      {0.1, 2.0, 0.0}, {0.0, 1.5, 0.0},  {3.0, 1.0, 1.2}};
  for (const int n : {0, 1, 2, 3, 4, 5, 7, 10, 16}) {
    const ActivationLayer l = layer_of(Hermite(n));
    const DualActivation dual(l);
    EXPECT_TRUE(dual.has_closed_form());
    const Fn fn = reference_fn(l);
    for (const Cov& c : covs) {
      const Pair got = eval(dual, c.q1, c.q2, c.k);
      const double t = gaussian_expectation_2d(fn.f, fn.f, c.q1, c.q2, c.k, rule);
      const double d = gaussian_expectation_2d(fn.df, fn.df, c.q1, c.q2, c.k, rule);
      EXPECT_NEAR(got.t, t, 1e-11 * std::max(std::abs(t), 1.0))
          << "n=" << n << " q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k;
      EXPECT_NEAR(got.tdot, d, 1e-11 * std::max(std::abs(d), 1.0))
          << "n=" << n << " q1=" << c.q1 << " q2=" << c.q2 << " k=" << c.k;
    }
  }
}

// At unit variance, neural-tangents' kernel: T = kⁿ, Ṫ = n k^{n−1} (only the j = 0 term is left).
TEST(DualActivation, HermiteIsPowerOfCorrelationAtUnitVariance) {
  for (const int n : {0, 1, 2, 3, 6, 11, 30, 64}) {
    const DualActivation dual(layer_of(Hermite(n)));
    for (const double k : {-1.0, -0.83, -0.2, 0.0, 0.37, 0.9, 1.0}) {
      const Pair got = eval(dual, 1.0, 1.0, k);
      EXPECT_NEAR(got.t, std::pow(k, n), 1e-15) << "n=" << n << " k=" << k;
      const double tdot = n == 0 ? 0.0 : n * std::pow(k, n - 1);
      EXPECT_NEAR(got.tdot, tdot, 1e-15 * std::max(1.0, double(n))) << "n=" << n << " k=" << k;
    }
  }
}

TEST(DualActivation, HermitePointwiseValuesAndDerivatives) {
  // Closed forms at x = 0.7: He_3 = x³ − 3x, He_4 = x⁴ − 6x² + 3.
  const double x = 0.7;
  EXPECT_NEAR(PointwiseActivation(layer_of(Hermite(3))).value(x), (x * x * x - 3 * x) / std::sqrt(6.0), 1e-15);
  EXPECT_NEAR(PointwiseActivation(layer_of(Hermite(4))).value(x), (x * x * x * x - 6 * x * x + 3) / std::sqrt(24.0), 1e-15);
  EXPECT_EQ(PointwiseActivation(layer_of(Hermite(0))).value(x), 1.0);
  EXPECT_EQ(PointwiseActivation(layer_of(Hermite(0))).derivative(x), 0.0);
  for (const int n : {1, 2, 3, 5, 8, 13}) {
    const PointwiseActivation phi(layer_of(Hermite(n)));
    const Fn fn = reference_fn(layer_of(Hermite(n)));
    for (const double y : {-2.3, -1.0, -0.1, 0.0, 0.45, 1.9, 3.2}) {
      EXPECT_NEAR(phi.value(y), fn.f(y), 1e-12 * std::max(1.0, std::abs(fn.f(y)))) << n << " " << y;
      // Central difference, error O(h²) + rounding/h.
      const double h = 1e-5;
      const double fd = (phi.value(y + h) - phi.value(y - h)) / (2 * h);
      EXPECT_NEAR(phi.derivative(y), fd, 1e-7 * std::max(1.0, std::abs(fd))) << n << " " << y;
    }
  }
}

TEST(DualActivation, HermiteParsesPrintsAndChecksItsDegree) {
  EXPECT_EQ(to_string(Hermite(3)), "Hermite(degree=3)");
  const Network network = parse_network("Dense(2), Hermite(degree=3), Dense(1)");
  EXPECT_EQ(std::get<ActivationLayer>(network.layers[1]), layer_of(Hermite(3)));
  EXPECT_EQ(parse_network(to_string(network)), network);
  EXPECT_EQ(parse_network("Dense(2), Hermite(5)"), parse_network("Dense(2), Hermite(degree=5)"));
  EXPECT_THROW(parse_network("Dense(2), Hermite"), Error);  // degree is required
  EXPECT_THROW(Hermite(-1), Error);
  EXPECT_THROW(Hermite(kMaxDegree + 1), Error);
  EXPECT_NO_THROW(Hermite(kMaxDegree));
}

}  // namespace
}  // namespace ntkit
