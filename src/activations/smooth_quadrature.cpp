// Smooth activations without a closed-form dual, with jax.nn's definitions:
// Tanh; Softplus: φ(x) = log(1 + eˣ); Silu (a.k.a. Swish): φ(x) = x σ(x).
//
// Dual (docs/mathematics.md §5): by quadrature, of φ and φ' in closed form. By default a 2-D
// trapezoid rule for small variances and nested Gauss–Legendre rules graded towards the steep
// places for larger ones (cost and memory bounded for every q; see below), or, for a
// quadrature_degree ≠ 0, the Gauss–Hermite product rule of that degree (quadrature.hpp), as
// neural-tangents' ElementwiseNumerical.
//
// The default rule. The integrand φ(√q_p z_a) φ(c + s z_b) (u = √q_p z_a with p the point with
// the larger q, c = √q_o ρ z_a, s = √q_o sn) varies fast only where an argument of φ crosses 0:
// φ(√q z) has its nearest complex singularities π/(2√q) off the real axis for tanh (twice that
// for softplus and silu) and is, up to e^{−32} or less, linear or constant beyond |√q z| = 32.
// Two rules:
//
// Small variances (q_max ≤ kTrapezoidMaxQ): the product trapezoid rule, step h = π/(16√q_max)
// (at most ½), nodes out to |z| = 8.5 (Gaussian weight 2e−16). For g analytic in the strip
// |Im z| < δ its error falls like e^{−2πδ/h}, here e^{−16π} ≈ 1.5e−22, times a factor that
// grows with the order of the poles: at ρ = ±1, Ṫ's integrand sech⁴ has fourth-order poles,
// and the step π/(12√q) used before left 1e−12 (q = 1 … 16) to 4e−11 (q = 0.3) there; with
// π/(16√q) it is 2e−16. (2⌈8.5/h⌉ + 1)² evaluations, 35² at q → 0, 175² at the switch (q = 4),
// where the graded rule becomes the cheaper one.
//
// Larger variances: nested 1-D rules, outer over z_a, inner over z_b for each outer node, each
// composite Gauss–Legendre (kGradedPoints per piece) on [−kGradedReach, kGradedReach] (the
// Gaussian weight is 1e−20 at 9.5) with breakpoints at the transition point t and at t ± ℓ·2ʲ,
// j = 0 … kGradedLevels, for each of the transition's length scales ℓ; gaps wider than
// kGradedCap are split evenly. A piece [ℓ2ʲ, ℓ2ʲ⁺¹] sees a pole at t = transition from its
// centre at three half-widths: Bernstein ellipse parameter 3 + √8 ≈ 5.8, and 10 points give
// ~5.8^{−20} ≈ 5e−16; beyond 32ℓ·2 = 64ℓ φ is saturated, so one piece may reach far past the
// pole without resolving it (what is left there is e^{−64} of the integrand). Transitions:
//  - outer, at z_a = 0: φ(√q_p z_a) on ℓ = 1/√q_p, and the inner expectation E[φ(c + sZ)] on
//    ℓ = max(1, s)/(√q_o |ρ|) (φ smoothed by the Gaussian of width s);
//  - inner, at z_b = −c/s, on ℓ = 1/s (s = 0, i.e. ρ = ±1 or q_o = 0: the inner value is φ(c)).
// Cost and memory do not depend on q: at most kMaxGradedNodes (360) outer and inner nodes, so
// at most 360·361 evaluations (59 460 at most measured, q from 4 to 1e300: the
// DefaultQuadratureCostIsBounded test; 28 897 at q = 4 for the trapezoid rule); everything
// lives in fixed-size arrays on the stack, nothing is allocated, nothing can throw. For q → ∞
// the ladder just starts lower (ℓ = 1e−150 at q = 1e300) and tanh's T tends to the sign kernel
// (2/π) arcsin ρ. Measured against an independent long-double tanh-sinh integration
// (DefaultQuadratureMatchesDoubleExponentialReference): see there.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "activations/quadrature.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

constexpr double kTrapezoidMaxQ = 4.0;
constexpr double kTrapezoidSteps = 16.0;  // h = π/(16√q)
constexpr double kTrapezoidReach = 8.5;
// ⌈8.5·16√4/π⌉ = 87 nodes on each side of 0.
constexpr std::size_t kMaxTrapezoidNodes = 2 * 87 + 1;

constexpr std::size_t kGradedPoints = 10;
constexpr double kGradedReach = 9.5;
constexpr double kGradedCap = 2.0;
constexpr int kGradedLevels = 5;
// Breakpoints: the two ends, the transition, and two scales × (levels + 1) × both sides.
constexpr std::size_t kMaxBreaks = 3 + 2 * 2 * (kGradedLevels + 1);
// Splitting the gaps adds at most ⌈2·reach/cap⌉ pieces to the kMaxBreaks − 1 gaps.
constexpr std::size_t kMaxGradedPieces = kMaxBreaks - 1 + 10;
constexpr std::size_t kMaxGradedNodes = kMaxGradedPieces * kGradedPoints;
static_assert(2.0 * kGradedReach / kGradedCap <= 10.0);

// The graded rule for E[g(Z)], Z ~ N(0, 1), g varying fast near `center` on the scales
// scale1 and scale2 (either may be 0, inf or NaN: no such scale). Writes at most
// kMaxGradedNodes nodes z and weights w (Gaussian density included); returns their number.
// Every breakpoint is tested with `lo < b && b < hi`, so NaN or infinite centers or scales
// drop out and the loop counts stay bounded whatever the inputs.
std::size_t graded_rule(double center, double scale1, double scale2, double* z, double* w) {
  const auto& rule = legendre_rule<kGradedPoints>();
  double breaks[kMaxBreaks];
  std::size_t nb = 0;
  breaks[nb++] = -kGradedReach;
  breaks[nb++] = kGradedReach;
  const auto add = [&](double b) {
    if (-kGradedReach < b && b < kGradedReach) breaks[nb++] = b;
  };
  add(center);
  for (const double scale : {scale1, scale2}) {
    if (!(scale > 0 && scale < kGradedReach)) continue;
    double d = scale;
    for (int j = 0; j <= kGradedLevels; ++j, d *= 2) {
      add(center - d);
      add(center + d);
    }
  }
  std::sort(breaks, breaks + nb);
  std::size_t m = 0;
  for (std::size_t i = 0; i + 1 < nb; ++i) {
    const double lo = breaks[i], gap = breaks[i + 1] - lo;
    if (!(gap > 0)) continue;
    const auto pieces = static_cast<std::size_t>(std::ceil(gap / kGradedCap));  // 1 … 10
    const double width = gap / static_cast<double>(pieces);
    for (std::size_t p = 0; p < pieces; ++p) {
      const double start = lo + static_cast<double>(p) * width;
      for (std::size_t j = 0; j < kGradedPoints; ++j, ++m) {
        z[m] = start + width * rule.nodes[j];
        w[m] = width * rule.weights[j];
      }
    }
  }
  double e[kMaxGradedNodes];
#pragma omp simd
  for (std::size_t j = 0; j < m; ++j) e[j] = -0.5 * z[j] * z[j];
  detail::exp_array(e, e, m);
  const double inv_sqrt_2pi = 1.0 / std::sqrt(k2Pi);
#pragma omp simd
  for (std::size_t j = 0; j < m; ++j) w[j] *= inv_sqrt_2pi * e[j];
  return m;
}

// The trapezoid rule above for q_max ≤ kTrapezoidMaxQ (weights with the Gaussian density);
// returns the number of nodes (≤ kMaxTrapezoidNodes).
std::size_t trapezoid_rule(double q_max, double* z, double* w) {
  const double h = min_value(0.5, kPi / (kTrapezoidSteps * std::sqrt(q_max)));
  const auto m = static_cast<std::size_t>(std::ceil(kTrapezoidReach / h));
  const double scale = h / std::sqrt(k2Pi);
  for (std::size_t j = 0; j <= 2 * m; ++j) {
    z[j] = (static_cast<double>(j) - static_cast<double>(m)) * h;
    w[j] = scale * std::exp(-0.5 * z[j] * z[j]);
  }
  return 2 * m + 1;
}

// Scratch of one entry of the default rule, on the caller's stack (≈ 50 KiB).
struct SmoothScratch {
  double za[kMaxGradedNodes], wa[kMaxGradedNodes], u[kMaxGradedNodes], fu[kMaxGradedNodes], dfu[kMaxGradedNodes],
      zb[kMaxGradedNodes], wb[kMaxGradedNodes], v[kMaxGradedNodes], f[kMaxGradedNodes], df[kMaxGradedNodes],
      e[kMaxGradedNodes];
};
static_assert(kMaxTrapezoidNodes <= kMaxGradedNodes);

// Numerically safe logistic sigmoid.
double sigmoid(double x) {
  const double e = std::exp(-std::abs(x));
  return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

// What the three activations share: the rules of their dual.
class SmoothQuadrature : public ActivationRules {
 public:
  explicit SmoothQuadrature(int quadrature_degree) {
    if (quadrature_degree != 0) rule_ = gauss_hermite(quadrature_degree);  // throws for a bad degree
  }

  bool has_closed_form() const final { return false; }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const final {
    if (rule_) {
      const auto activate = [this](const double* x, double* f, double* df, std::size_t m, double* e) {
        activate_array(x, f, df, m, e);
      };
      gauss_hermite_dual(activate, *rule_, q1, q2, k, t, tdot, n);
      return;
    }
    // E[φ(u)φ(v)] and E[φ'(u)φ'(v)], u = √q_p z_a, v = √q_o (ρ z_a + sn z_b), where p is the
    // point with the larger q: swapping q1 and q2 then runs the very same arithmetic, so T is
    // exactly symmetric.
    Geometry g;
    geometry(q1, q2, k, n, g);
    SmoothScratch sc;
    for (std::size_t i = 0; i < n; ++i) {
      smooth_entry(std::max(q1[i], q2[i]), std::min(q1[i], q2[i]), g.rho[i], g.sn[i], sc, &t[i], tdot ? &tdot[i] : nullptr);
    }
  }

  // One entry of the default rule, E[φ(u)φ(v)] and (if tdot) E[φ'(u)φ'(v)] with u = √q_p z_a,
  // v = c + s z_b (see the top of the file). Returns the number of evaluations of φ (each with
  // φ' when tdot is set).
  std::size_t smooth_entry(double qp, double qo, double rho, double sn, SmoothScratch& sc, double* t, double* tdot) const {
    const double sp = std::sqrt(qp), so = std::sqrt(qo);
    const double cu = so * rho, cs = so * sn;
    const bool trapezoid = qp <= kTrapezoidMaxQ;  // false for NaN
    std::size_t na = 0, nb = 0, evaluations = 0;
    // The trapezoid rule serves both integrals; the graded inner rule is built per outer node.
    const double* zb = sc.zb;
    const double* wb = sc.wb;
    if (trapezoid) {
      na = nb = trapezoid_rule(qp, sc.za, sc.wa);
      zb = sc.za;
      wb = sc.wa;
    } else {
      // max(1, s)/(√q_o |ρ|): inf (no such scale) for ρ = 0 or q_o = 0.
      const double inner_scale = (cs > 1.0 ? cs : 1.0) / std::abs(cu);
      na = graded_rule(0.0, 1.0 / sp, inner_scale, sc.za, sc.wa);
    }
    double* df_u = tdot ? sc.dfu : nullptr;
    double* df_v = tdot ? sc.df : nullptr;
#pragma omp simd
    for (std::size_t a = 0; a < na; ++a) sc.u[a] = sp * sc.za[a];
    activate_array(sc.u, sc.fu, df_u, na, sc.e);
    evaluations += na;
    double sum = 0, sum_dot = 0;
    for (std::size_t a = 0; a < na; ++a) {
      const double c = cu * sc.za[a];
      double inner = 0, inner_dot = 0;
      if (!(cs > 0)) {  // v = c: no inner integral
        sc.v[0] = c;
        activate_array(sc.v, sc.f, df_v, 1, sc.e);
        evaluations += 1;
        inner = sc.f[0];
        if (tdot) inner_dot = sc.df[0];
      } else {
        if (!trapezoid) nb = graded_rule(-c / cs, 1.0 / cs, 0.0, sc.zb, sc.wb);
#pragma omp simd
        for (std::size_t b = 0; b < nb; ++b) sc.v[b] = c + cs * zb[b];
        activate_array(sc.v, sc.f, df_v, nb, sc.e);
        evaluations += nb;
        const double* f = sc.f;
#pragma omp simd reduction(+ : inner)
        for (std::size_t b = 0; b < nb; ++b) inner += wb[b] * f[b];
        if (tdot) {
          const double* df = sc.df;
#pragma omp simd reduction(+ : inner_dot)
          for (std::size_t b = 0; b < nb; ++b) inner_dot += wb[b] * df[b];
        }
      }
      sum += sc.wa[a] * sc.fu[a] * inner;
      if (tdot) sum_dot += sc.wa[a] * sc.dfu[a] * inner_dot;
    }
    *t = sum;
    if (tdot) *tdot = sum_dot;
    return evaluations;
  }

 protected:
  // f[i] = φ(x[i]) and (if df) df[i] = φ'(x[i]) for i < n, one vectorized exp per entry, with
  // e (n entries) as scratch; f may not alias x.
  virtual void activate_array(const double* x, double* f, double* df, std::size_t n, double* e) const = 0;

 private:
  std::optional<GaussHermite> rule_;  // a quadrature_degree ≠ 0: its Gauss–Hermite rule
};

class Tanh final : public WithArrayLoop<Tanh, SmoothQuadrature> {
 public:
  using WithArrayLoop::WithArrayLoop;
  double value(double x) const override { return std::tanh(x); }
  double derivative(double x) const override {
    const double t = std::tanh(x);
    return 1.0 - t * t;
  }

 protected:
  void activate_array(const double* x, double* f, double* df, std::size_t n, double* e) const override {
    // tanh x = sign(x)(1 − E)/(1 + E), 1 − tanh² x = 4E/(1 + E)², E = e^{−2|x|} (never overflows).
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) e[i] = -2.0 * std::abs(x[i]);
    detail::exp_array(e, e, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double inv = 1.0 / (1.0 + e[i]);
      f[i] = std::copysign((1.0 - e[i]) * inv, x[i]);
      if (df) df[i] = 4.0 * e[i] * inv * inv;
    }
  }
};

class Softplus final : public WithArrayLoop<Softplus, SmoothQuadrature> {
 public:
  using WithArrayLoop::WithArrayLoop;
  double value(double x) const override { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
  double derivative(double x) const override { return sigmoid(x); }

 protected:
  void activate_array(const double* x, double* f, double* df, std::size_t n, double* e) const override {
    // log(1 + eˣ) = max(x, 0) + log1p(E); φ' = sigmoid x = 1/(1 + E) for x ≥ 0, E/(1 + E) for
    // x < 0; E = e^{−|x|}.
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) e[i] = -std::abs(x[i]);
    detail::exp_array(e, e, n);
    for (std::size_t i = 0; i < n; ++i) f[i] = std::max(x[i], 0.0) + std::log1p(e[i]);
    if (df) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        const double inv = 1.0 / (1.0 + e[i]);
        df[i] = x[i] >= 0 ? inv : e[i] * inv;
      }
    }
  }
};

class Silu final : public WithArrayLoop<Silu, SmoothQuadrature> {
 public:
  using WithArrayLoop::WithArrayLoop;
  double value(double x) const override { return x * sigmoid(x); }
  double derivative(double x) const override {
    const double s = sigmoid(x);
    return s * (1.0 + x * (1.0 - s));
  }

 protected:
  void activate_array(const double* x, double* f, double* df, std::size_t n, double* e) const override {
    // silu x = x σ(x); φ' = σ(x)(1 + x(1 − σ(x))), σ from E = e^{−|x|} as in Softplus.
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) e[i] = -std::abs(x[i]);
    detail::exp_array(e, e, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double inv = 1.0 / (1.0 + e[i]);
      const double sig = x[i] >= 0 ? inv : e[i] * inv;
      const double one_minus = x[i] >= 0 ? e[i] * inv : inv;
      f[i] = x[i] * sig;
      if (df) df[i] = sig * (1.0 + x[i] * one_minus);
    }
  }
};

template <class Rules>
std::unique_ptr<const ActivationRules> make_smooth(const ActivationLayer&, int quadrature_degree) {
  return std::make_unique<const Rules>(quadrature_degree);
}

}  // namespace

const ActivationEntry& tanh_entry() {
  static const ActivationEntry entry{{ActivationKind::Tanh, "Tanh", {}}, nullptr, make_smooth<Tanh>};
  return entry;
}

const ActivationEntry& softplus_entry() {
  static const ActivationEntry entry{{ActivationKind::Softplus, "Softplus", {}}, nullptr, make_smooth<Softplus>};
  return entry;
}

const ActivationEntry& silu_entry() {
  static const ActivationEntry entry{{ActivationKind::Silu, "Silu", {}}, nullptr, make_smooth<Silu>};
  return entry;
}

}  // namespace ntkit::activations

namespace ntkit::detail {
// The number of evaluations of φ the default rule of Tanh, Softplus and Silu spends on the
// entry (q1, q2, k) (for the tests' cost bound; the same code as DualActivation::apply).
std::size_t smooth_quadrature_evaluations(double q1, double q2, double k) {
  using namespace activations;
  Geometry g;
  geometry(&q1, &q2, &k, 1, g);
  SmoothScratch sc;
  double t = 0, tdot = 0;
  return Tanh(0).smooth_entry(std::max(q1, q2), std::min(q1, q2), g.rho[0], g.sn[0], sc, &t, &tdot);
}
}  // namespace ntkit::detail
