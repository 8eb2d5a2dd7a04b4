// Gelu: φ(x) = x Φ(x), or with approximate=True jax.nn.gelu's ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
// for finite networks only.
//
// Dual (docs/mathematics.md §5), of the exact Gelu (neural-tangents' Gelu kernel, NNGP from
// arXiv:2002.08517, Ṫ by neural-tangents): with Δ² = (1 + q1)(1 + q2) − k² = 1 + q1 + q2 + s²,
// P = (1 + q1)(1 + q2),
//   T = k/4 + [(k² + q1q2Δ²)/(PΔ) + k atan2(k, Δ)]/(2π),
//   Ṫ = 1/4 + atan2(k, Δ)/(2π) + k/(2πΔ) (1/Δ² + (1 − q1q2)/P + 1).
// approximate=True has the same kernel as the exact Gelu (neural-tangents: the flag only
// affects finite-width networks).
#include <cmath>
#include <numbers>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

constexpr double kInvSqrtPi = std::numbers::inv_sqrtpi;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
// jax.nn.gelu(approximate=True): √(2/π).
constexpr double kGeluC = 0.79788456080286535587989211986876;
constexpr double kGeluCubic = 0.044715;

class Gelu final : public ActivationRules {
 public:
  explicit Gelu(const ActivationLayer& layer) : approximate_(layer.approximate) {}

  double value(double x) const override {
    if (approximate_) return 0.5 * x * (1.0 + std::tanh(kGeluC * (x + kGeluCubic * x * x * x)));
    return 0.5 * x * std::erfc(-x * kInvSqrt2);  // x Φ(x), accurate for x ≪ 0 too
  }

  double derivative(double x) const override {
    if (approximate_) {
      const double t = std::tanh(kGeluC * (x + kGeluCubic * x * x * x));
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kGeluC * (1.0 + 3.0 * kGeluCubic * x * x);
    }
    // Φ(x) + x φ_N(x)
    return 0.5 * std::erfc(-x * kInvSqrt2) + x * std::exp(-0.5 * x * x) * kInvSqrt2 * kInvSqrtPi;
  }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    const double* s = g.s;
    double delta[kChunk], theta[kChunk];
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      // δ = √(1 + q1 + q2 + s²) as m √(1/m + (s/m)²), m = 1 + q1 + q2 (s ≤ m/2): s² overflowed
      // for s > 1.3e154 and δ became inf.
      const double m = 1.0 + q1[i] + q2[i], sm = s[i] / m;
      delta[i] = m * std::sqrt(1.0 / m + sm * sm);
    }
    detail::atan2_array(kc, delta, theta, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      // Written with x/(1 + x) ratios so that no q1·q2 product overflows for huge q.
      const double kk = kc[i], dl = delta[i], d2 = dl * dl;
      const double i1 = 1.0 / (1.0 + q1[i]), i2 = 1.0 / (1.0 + q2[i]);
      const double r12 = (q1[i] * i1) * (q2[i] * i2);  // q1q2/P
      t[i] = 0.25 * kk + ((kk * i1) * (kk * i2) / dl + r12 * dl + kk * theta[i]) * kInv2Pi;
      if (tdot) tdot[i] = 0.25 + theta[i] * kInv2Pi + kk / dl * kInv2Pi * (1.0 / d2 + (i1 * i2 - r12) + 1.0);
    }
  }

 private:
  bool approximate_;
};

}  // namespace

const ActivationEntry& gelu_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Gelu, "Gelu", {{"approximate", F::Approximate, 0.0}}}, nullptr, make_rules_of<Gelu>};
  return entry;
}

}  // namespace ntkit::activations
