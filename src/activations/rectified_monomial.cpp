// RectifiedMonomial(n): φ(x) = [x ≥ 0] xⁿ; n = 0 is the step function ("Step" parses to it), whose
// φ' = 0 almost everywhere (as in neural-tangents).
//
// Dual (docs/mathematics.md §5): T = rⁿ J_n(θ)/(2π) with Cho & Saul's (2009)
//   J_n(θ) = (−1)ⁿ sin^{2n+1}θ ((1/sin θ) ∂/∂θ)ⁿ ((π − θ)/sin θ). With x = cos θ, J_n =
//   (1 − x²)^{n+½} gⁿ⁽ⁿ⁾(x) for g = arccos(−x)/√(1 − x²), which solves (1 − x²)g' = 1 + xg;
//   differentiating that n times gives the three-term recurrence (our derivation)
//     J_{n+1} = (2n + 1) cos θ J_n + n² sin²θ J_{n−1},  J_0 = π − θ,  J_1 = sin θ + (π − θ) cos θ,
//   i.e. for U_n = rⁿ J_n: U_{n+1} = (2n + 1) k U_n + n² s² U_{n−1}, U_0 = π − θ,
//   U_1 = s + (π − θ) k — no powers of r, no division, general n. Ṫ = n² T_{n−1} (Price's
//   theorem: ∂T/∂k = E[φ'φ'], φ' = n [x ≥ 0] x^{n−1}); Ṫ = 0 for n = 0 (Step), as in
//   neural-tangents. At a zero-norm side (docs/mathematics.md §6) Step gives T = ¼
//   (neural-tangents' own diagonal formula gives ½ there and its off-diagonal one NaN).
#include <algorithm>
#include <cmath>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// xⁿ for n ≥ 0 (0⁰ = 1, as jnp.power).
double power(double x, int n) { return n == 0 ? 1.0 : std::pow(x, n); }

class RectifiedMonomial final : public ActivationRules {
 public:
  explicit RectifiedMonomial(const ActivationLayer& layer) : degree_(layer.degree) {}

  double value(double x) const override { return x >= 0 ? power(x, degree_) : 0.0; }
  double derivative(double x) const override { return (degree_ == 0 || x < 0) ? 0.0 : degree_ * power(x, degree_ - 1); }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    Geometry g;
    geometry(q1, q2, k, n, g);
    const double* kc = g.kc;
    const double* s = g.s;
    double theta[kChunk];
    detail::atan2_array(g.sn, g.rho, theta, n);
    // U_0 = π − θ, U_1 = s + (π − θ) k, U_{m+1} = (2m + 1) k U_m + m² s² U_{m−1}.
    double prev[kChunk], cur[kChunk];
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      prev[i] = kPi - theta[i];
      cur[i] = s[i] + prev[i] * kc[i];
    }
    if (degree_ == 0) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) t[i] = prev[i] / k2Pi;  // exactly ½ at θ = 0
      if (tdot) std::fill_n(tdot, n, 0.0);
      return;
    }
    for (int m = 1; m < degree_; ++m) {
      const double odd = 2.0 * m + 1.0, sq = double(m) * double(m);
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        const double next = odd * kc[i] * cur[i] + sq * (s[i] * s[i]) * prev[i];
        prev[i] = cur[i];
        cur[i] = next;
      }
    }
    const double n2 = double(degree_) * double(degree_);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      t[i] = cur[i] / k2Pi;
      if (tdot) tdot[i] = n2 * (prev[i] / k2Pi);
    }
  }

 private:
  int degree_;
};

}  // namespace

const ActivationEntry& rectified_monomial_entry() {
  static const ActivationEntry entry{
      {ActivationKind::RectifiedMonomial, "RectifiedMonomial", {{"degree", F::Degree, kRequired}}},
      nullptr,
      make_rules_of<RectifiedMonomial>};
  return entry;
}

}  // namespace ntkit::activations
