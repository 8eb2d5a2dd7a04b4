// The "dual" of an elementwise activation φ: how one activation layer maps the kernel state of
// an infinitely wide network (docs/mathematics.md §5). For (u, v) ~ N(0, [[q1, k], [k, q2]]),
//
//   T(q1, q2, k) = E[φ(u) φ(v)],     Ṫ(q1, q2, k) = E[φ'(u) φ'(v)],
//
// and the recursion uses K ← T, Θ ← Θ·Ṫ, q ← T(q, q, q). Parameters and conventions follow
// neural-tangents (stax/elementwise.py); each family's formulas and their sources are in its
// file of src/activations/ (named below). Summary:
//
//   arc-cosine family   Relu, LeakyRelu, ABRelu, Abs (relu_family.cpp), Sign (sign.cpp),
//                       RectifiedMonomial(n) (Step = n = 0; rectified_monomial.cpp), through
//                       θ = atan2(√(q1q2 − k²), k)   (Cho & Saul 2009; neural-tangents)
//   arcsin family       Erf(a, b, c), Sigmoid_like (erf.cpp)  (Williams 1997)
//   Gaussian integrals  Gelu (gelu.cpp), Sin, Cos, Rbf (sinusoid.cpp), Exp (exp.cpp),
//                       Gaussian (gaussian.cpp)               (neural-tangents)
//   polynomials         Monomial(n), Polynomial(coef) (polynomial.cpp), Hermite(n)
//                       (hermite.cpp)                         (Hermite expansion, exact)
//   quadrature          Tanh, Softplus, Silu (smooth_quadrature.cpp; no closed form: a 2-D
//                       trapezoid rule for small variances, nested Gauss–Legendre rules graded
//                       towards the steep places above; ~1e-14, bounded cost for any q; or
//                       Gauss–Hermite of a given degree, as neural-tangents'
//                       ElementwiseNumerical)
//                       Elu, Selu (kinked_quadrature.cpp; inner integral in closed form,
//                       outer by Gauss–Legendre split at the kink, ~1e-15; or Gauss–Hermite)
//
// Conventions (docs/mathematics.md §6):
//  - Correlations are clipped to [−1, 1]; k is used clipped to [−√(q1q2), √(q1q2)].
//  - k = q1 = q2 > 0 (duplicated inputs) gives exactly θ = 0, ρ = 1.
//  - A zero-norm side (q1 q2 = 0) is treated as uncorrelated: ρ = 0, θ = π/2, as neural-tangents'
//    `_arctan2(..., fill_zero=π/2)` does. Values stay finite; the few that depend on the
//    convention (because φ or φ' jumps at 0) are: Relu-family Ṫ = (a² + b²)/2 − (a − b)²/4
//    (¼ for Relu), Sign T = 0, Step T = ¼ (neural-tangents' own diagonal formula gives ½ there
//    and its off-diagonal one NaN). apply_diagonal uses the same convention, so
//    apply_diagonal(q) == apply(q, q, q) bit for bit, also at q = 0.
//  - Sign and Step have Ṫ = 0 (φ' = 0 almost everywhere), as in neural-tangents.
//  - Exp and Gaussian(b > 0) grow without bound: Exp returns +inf once a² e^{b²(q1+q2+2k)/2}
//    exceeds double range (about b²(q1+q2+2k)/2 > 709); Gaussian with b > 0 returns T = +inf
//    (and Ṫ = ±inf by the sign of k) where the expectation diverges, i.e. unless
//    1 − 2b·max(q1, q2) > 0 and (1 − 2bq1)(1 − 2bq2) − 4b²k² > 0.
//  - Gelu(approximate=True) has the same kernel as the exact Gelu (neural-tangents: the flag
//    only affects finite-width networks). do_stabilize is accepted and changes nothing: the
//    ReLU-family formulas are computed without forming q1·q2 − k² products that could overflow.
//  - Monomial/Polynomial coefficients grow like (2n−1)!!; degrees above ~150 overflow to inf.
//
// Inputs must be finite with q1, q2 ≥ 0 (the kernel engine guarantees it; not checked per entry).
#pragma once

#include <cstddef>
#include <memory>

#include "ntkit/network.hpp"

namespace ntkit {

namespace activations {
class ActivationRules;  // src/activations/activation_rules.hpp
}

class DualActivation {
 public:
  /// quadrature_degree, for activations without a closed form: 0 (default) chooses the rule
  /// per entry from its variance (error ≤ 3e-14 of the entry's scale for the smooth Tanh,
  /// Softplus, Silu at any q; at most ~60 000 evaluations of φ per entry and no allocation,
  /// whatever q) and, for Elu and Selu, whose φ' jumps at 0, a rule split
  /// at the kink (~1e-15); 1–200 is a fixed Gauss–Hermite rule of that many points per axis
  /// (what neural-tangents' ElementwiseNumerical(deg) computes; degree 40 is off by 1e-7 at
  /// q = 1 and by up to 49% at q = 49 for Tanh, and by ~1e-2 in Ṫ for Elu and Selu). Throws
  /// ntkit::Error for an invalid layer (check_layer_arguments) or degree.
  explicit DualActivation(const ActivationLayer& layer, int quadrature_degree = 0);

  /// False for the quadrature fallback (Tanh, Softplus, Elu, Selu, Silu).
  bool has_closed_form() const;

  const ActivationLayer& layer() const { return layer_; }

  /// For i < n: t[i] = T(q1[i], q2[i], k[i]); tdot[i] = Ṫ(...) unless tdot == nullptr (NNGP
  /// only). Outputs may alias inputs (e.g. t == k for an in-place update). Thread-safe (const,
  /// no shared scratch). T(q1, q2, k) == T(q2, q1, k) exactly.
  void apply(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const;

  /// The diagonal: t[i] = T(q[i], q[i], q[i]) (the variance after the activation). Runs the
  /// very same arithmetic as apply, so the two agree exactly. t may alias q.
  void apply_diagonal(const double* q, double* t, std::size_t n) const;

 private:
  ActivationLayer layer_;
  // The family's rules (immutable, so copies of this object share them).
  std::shared_ptr<const activations::ActivationRules> rules_;
};

}  // namespace ntkit
