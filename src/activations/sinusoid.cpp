// Sinusoids: Sin(a, b, c): φ(x) = a sin(bx + c); Cos(a, b, c): φ(x) = a cos(bx + c);
// Rbf(γ): φ(x) = √2 sin(√(2γ) x + π/4) (neural-tangents' random Fourier feature, γ = 1/(2l²) ≥ 0).
//
// Dual (docs/mathematics.md §5; neural-tangents' Sin), from sin α sin β = ½[cos(α − β) −
// cos(α + β)] and E[cos(w + φ)] = e^{−Var w/2} cos φ for Gaussian w:
//   T = (a²/2) [e^{−b²(q1+q2−2k)/2} − cos(2c) e^{−b²(q1+q2+2k)/2}],
//   Ṫ = (a²b²/2) [e^{−b²(q1+q2−2k)/2} + cos(2c) e^{−b²(q1+q2+2k)/2}].
// Cos(a, b, c) = Sin(a, b, c + π/2): cos(2c) → −cos(2c), applied exactly (no π/2 rounding).
// Rbf(γ): T = e^{γ(2k − q1 − q2)}, Ṫ = 2γ T (cos(2c) = 0 exactly).
#include <cmath>
#include <memory>
#include <numbers>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "layer_text.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// The dual of every sinusoid, in a²/2, b² and cos(2c).
class SinusoidDual : public ActivationRules {
 public:
  SinusoidDual(double half_a2, double b2, double cos2c) : half_a2_(half_a2), b2_(b2), cos2c_(cos2c) {}

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const final {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    // s1 = e^{−b²(q1+q2−2k)/2}, s2 = e^{−b²(q1+q2+2k)/2}: both exponents ≤ 0 (|kc| ≤ r ≤
    // (q1 + q2)/2), so nothing overflows.
    const double half_a2 = half_a2_, b2 = b2_, cos2c = cos2c_;
    double e1[kChunk], e2[kChunk];
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double sum = q1[i] + q2[i];
      e1[i] = -0.5 * b2 * (sum - 2.0 * kc[i]);
      e2[i] = -0.5 * b2 * (sum + 2.0 * kc[i]);
    }
    detail::exp_array(e1, e1, n);
    detail::exp_array(e2, e2, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const double s2 = cos2c * e2[i];
      t[i] = half_a2 * (e1[i] - s2);
      if (tdot) tdot[i] = half_a2 * b2 * (e1[i] + s2);
    }
  }

 private:
  double half_a2_, b2_, cos2c_;
};

// a sin(bx + c), for Sin and Rbf.
class SineRules final : public SinusoidDual {
 public:
  SineRules(double a, double b, double c, double half_a2, double b2, double cos2c)
      : SinusoidDual(half_a2, b2, cos2c), a_(a), b_(b), c_(c) {}
  double value(double x) const override { return a_ * std::sin(b_ * x + c_); }
  double derivative(double x) const override { return a_ * b_ * std::cos(b_ * x + c_); }

 private:
  double a_, b_, c_;
};

// a cos(bx + c)
class Cos final : public SinusoidDual {
 public:
  explicit Cos(const ActivationLayer& l)
      : SinusoidDual(0.5 * l.a * l.a, l.b * l.b, -std::cos(2.0 * l.c)), a_(l.a), b_(l.b), c_(l.c) {}
  double value(double x) const override { return a_ * std::cos(b_ * x + c_); }
  double derivative(double x) const override { return -a_ * b_ * std::sin(b_ * x + c_); }

 private:
  double a_, b_, c_;
};

std::unique_ptr<const ActivationRules> make_sin(const ActivationLayer& l, int) {
  return std::make_unique<const SineRules>(l.a, l.b, l.c, 0.5 * l.a * l.a, l.b * l.b, std::cos(2.0 * l.c));
}

// √2 sin(√(2γ) x + π/4): a²/2 = 1, b² = 2γ, cos(2c) = cos(π/2) = 0, exactly.
std::unique_ptr<const ActivationRules> make_rbf(const ActivationLayer& l, int) {
  return std::make_unique<const SineRules>(std::numbers::sqrt2, std::sqrt(2.0 * l.gamma), 0.25 * std::numbers::pi, 1.0,
                                           2.0 * l.gamma, 0.0);
}

void check_rbf(const ActivationLayer& layer, std::string* bad) {
  if (layer.gamma < 0) {
    detail::bad_argument("Rbf", "gamma", "≥ 0 (gamma = 1 / (2 l²))", detail::format_number(layer.gamma), bad);
  }
}

}  // namespace

const ActivationEntry& sin_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Sin, "Sin", {{"a", F::A, 1.0}, {"b", F::B, 1.0}, {"c", F::C, 0.0}}}, nullptr, make_sin};
  return entry;
}

const ActivationEntry& cos_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Cos, "Cos", {{"a", F::A, 1.0}, {"b", F::B, 1.0}, {"c", F::C, 0.0}}}, nullptr, make_rules_of<Cos>};
  return entry;
}

const ActivationEntry& rbf_entry() {
  static const ActivationEntry entry{{ActivationKind::Rbf, "Rbf", {{"gamma", F::Gamma, 1.0}}}, check_rbf, make_rbf};
  return entry;
}

}  // namespace ntkit::activations
