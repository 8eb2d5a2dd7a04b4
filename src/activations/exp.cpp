// Exp(a, b): φ(x) = a e^{bx}.
//
// Dual (docs/mathematics.md §5; the Gaussian moment generating function, neural-tangents' Exp):
//   T = a² e^{b²(q1 + q2 + 2k)/2},  Ṫ = b² T,
// computed as e^{x + 2 ln|a|} so that a small |a| does not overflow prematurely. T grows without
// bound: it is +inf once a² e^{b²(q1+q2+2k)/2} exceeds double range (about b²(q1+q2+2k)/2 > 709;
// docs/mathematics.md §6).
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

class Exp final : public ActivationRules {
 public:
  explicit Exp(const ActivationLayer& l)
      : a_(l.a), b_(l.b), log_a2_(2.0 * std::log(std::abs(l.a))), b2_(l.b * l.b), log_b2_(2.0 * std::log(std::abs(l.b))) {}

  double value(double x) const override { return a_ * std::exp(b_ * x); }
  double derivative(double x) const override { return a_ * b_ * std::exp(b_ * x); }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    // T = e^{b²(q1+q2+2k)/2 + ln a²}, Ṫ = e^{… + ln a² + ln b²}.
    const double log_a2 = log_a2_, b2 = b2_, log_b2 = log_b2_;
    double e1[kChunk], e2[kChunk];
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      // Capped so that a = 0 (ln a² = −inf) gives 0, not inf − inf, when the exponent overflows.
      const double x = std::min(0.5 * b2 * (q1[i] + q2[i] + 2.0 * kc[i]), DBL_MAX);
      e1[i] = x + log_a2;
      e2[i] = x + log_a2 + log_b2;
    }
    detail::exp_array(e1, t, n);
    if (tdot) detail::exp_array(e2, tdot, n);
  }

 private:
  double a_, b_;
  double log_a2_;  // ln a² (−inf for a = 0: T = 0)
  double b2_;      // b²
  double log_b2_;  // ln b²
};

}  // namespace

const ActivationEntry& exp_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Exp, "Exp", {{"a", F::A, 1.0}, {"b", F::B, 1.0}}}, nullptr, make_rules_of<Exp>};
  return entry;
}

}  // namespace ntkit::activations
