// Gaussian(a, b): φ(x) = a e^{bx²}.
//
// Dual (docs/mathematics.md §5; neural-tangents' Gaussian): E[e^{b(u² + v²)}] = det(I − 2bΣ)^{−½}
// and E[uv e^{b(u² + v²)}] = k det(I − 2bΣ)^{−3/2} (Gaussian integral with precision Σ⁻¹ − 2bI);
// with D = det(I − 2bΣ) = 1 − 2b(q1 + q2) + 4b²s²:  T = a²/√D,  Ṫ = 4a²b² k / D^{3/2}.
// For b > 0 the expectation diverges unless 1 − 2b·max(q1, q2) > 0 and
// (1 − 2bq1)(1 − 2bq2) − 4b²k² > 0; there T = +inf and Ṫ = ±inf by the sign of k
// (docs/mathematics.md §6).
#include <algorithm>
#include <cmath>
#include <limits>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

class Gaussian final : public ActivationRules {
 public:
  explicit Gaussian(const ActivationLayer& l) : a_(l.a), b_(l.b), a2_(l.a * l.a), f_(4.0 * l.a * l.a * l.b * l.b) {}

  double value(double x) const override { return a_ * std::exp(b_ * x * x); }
  double derivative(double x) const override { return 2.0 * a_ * b_ * x * std::exp(b_ * x * x); }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    const double* s = g.s;
    // D = 1 − 2b(q1 + q2) + 4b²s²; finite iff 1 − 2b max(q1, q2) > 0 and D > 0.
    const double a2 = a2_, b = b_, f = f_;
    constexpr double inf = std::numeric_limits<double>::infinity();
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double bs = b * s[i];
      const double d = 1.0 - 2.0 * b * (q1[i] + q2[i]) + 4.0 * (bs * bs);
      const bool finite = (1.0 - 2.0 * b * std::max(q1[i], q2[i]) > 0) && d > 0;
      const double root = std::sqrt(finite ? d : 1.0);
      const double tt = a2 / root;
      const double td = f * kc[i] / (d * root);
      const double td_inf = f == 0 ? 0.0 : (kc[i] < 0 ? -inf : inf);
      t[i] = finite ? tt : (a2 == 0 ? 0.0 : inf);
      if (tdot) tdot[i] = finite ? td : td_inf;
    }
  }

 private:
  double a_, b_;
  double a2_;  // a²
  double f_;   // 4a²b²
};

}  // namespace

const ActivationEntry& gaussian_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Gaussian, "Gaussian", {{"a", F::A, 1.0}, {"b", F::B, -1.0}}}, nullptr, make_rules_of<Gaussian>};
  return entry;
}

}  // namespace ntkit::activations
