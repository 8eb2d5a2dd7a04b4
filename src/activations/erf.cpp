// The erf family: Erf(a, b, c): φ(x) = a erf(bx) + c, and Sigmoid_like = Erf(½, 1/2.4020563531719796, ½)
// (neural-tangents' constants).
//
// Dual (docs/mathematics.md §5): Williams (1997) with the scalings of neural-tangents' Erf: with
// D = (1 + 2b²q1)(1 + 2b²q2) − 4b⁴k² = 1 + 2b²(q1 + q2) + 4b⁴s² (the second form has no
// cancellation),
//   T = a² (2/π) arcsin(2b²k / √(D + 4b⁴k²)) + c² = a² (2/π) atan2(2b²k, √D) + c²,
//   Ṫ = a² b² (4/π) / √D.
// The cross term 2ac E[erf(bu)] vanishes because erf is odd.
#include <cmath>
#include <numbers>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// neural-tangents' Sigmoid_like = Erf(a=0.5, b=1/2.4020563531719796, c=0.5).
constexpr double kSigmoidLikeScale = 2.4020563531719796;
constexpr double kInvSqrtPi = std::numbers::inv_sqrtpi;

class ErfRules : public WithArrayLoop<ErfRules> {
 public:
  ErfRules(double a, double b, double c) : a_(a), b_(b), c_(c), a2_(a * a), b2_(b * b), c2_(c * c) {}

  double value(double x) const final { return a_ * std::erf(b_ * x) + c_; }
  double derivative(double x) const final { return a_ * b_ * 2.0 * kInvSqrtPi * std::exp(-(b_ * x) * (b_ * x)); }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const final {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    const double* s = g.s;
    // D = 1 + 2b²(q1 + q2) + 4b⁴ s²; T = a² (2/π) atan2(2b²k, √D) + c²; Ṫ = a²b² (4/π)/√D.
    // Both arguments of atan2 are divided by m = 1 + b²(q1 + q2) ≥ 1 (atan2 does not change):
    // then b²s/m ≤ ½ (s ≤ (q1 + q2)/2), where (b²s)² itself overflowed for inputs of scale
    // 1e150 and T came out 0 off the diagonal. root = √D / m.
    const double a2 = a2_, b2 = b2_, c2 = c2_;
    double y[kChunk], root[kChunk], m[kChunk], theta[kChunk];
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double sum = b2 * (q1[i] + q2[i]);
      m[i] = 1.0 + sum;
      const double inv_m = 1.0 / m[i];
      const double bs = b2 * s[i] * inv_m;
      root[i] = std::sqrt((1.0 + 2.0 * sum) * inv_m * inv_m + 4.0 * (bs * bs));
      y[i] = 2.0 * b2 * kc[i] * inv_m;
    }
    detail::atan2_array(y, root, theta, n);
    const double tf = 2.0 * std::numbers::inv_pi * a2, df = 4.0 * std::numbers::inv_pi * a2 * b2;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      t[i] = tf * theta[i] + c2;
      if (tdot) tdot[i] = df / root[i] / m[i];
    }
  }

 private:
  double a_, b_, c_;     // the formula's (a, b, c)
  double a2_, b2_, c2_;  // their squares
};

class Erf final : public ErfRules {
 public:
  explicit Erf(const ActivationLayer& layer) : ErfRules(layer.a, layer.b, layer.c) {}
};

class SigmoidLike final : public ErfRules {
 public:
  explicit SigmoidLike(const ActivationLayer&) : ErfRules(0.5, 1.0 / kSigmoidLikeScale, 0.5) {}
};

}  // namespace

const ActivationEntry& erf_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Erf, "Erf", {{"a", F::A, 1.0}, {"b", F::B, 1.0}, {"c", F::C, 0.0}}}, nullptr, make_rules_of<Erf>};
  return entry;
}

const ActivationEntry& sigmoid_like_entry() {
  static const ActivationEntry entry{{ActivationKind::Sigmoid_like, "Sigmoid_like", {}}, nullptr, make_rules_of<SigmoidLike>};
  return entry;
}

}  // namespace ntkit::activations
