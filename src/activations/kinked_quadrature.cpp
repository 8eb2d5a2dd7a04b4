// Activations whose φ' jumps at 0 and whose dual has no closed form, with jax.nn's definitions:
// Elu(α): φ(x) = x for x > 0, α(eˣ − 1) otherwise; Selu = λ·Elu(α_selu) with jax.nn.selu's
// fixed λ and α.
//
// Dual (docs/mathematics.md §5). By default the inner of the two integrals in closed form and the
// outer by Gauss–Legendre split at the kink (~1e-15; neither product rule converges at the kink:
// Gauss–Hermite leaves Ṫ off by ~1e-2); for a quadrature_degree ≠ 0 the Gauss–Hermite product
// rule of that degree (quadrature.hpp), as neural-tangents' ElementwiseNumerical.
//
// With u = √q_p z (p the point with the larger q) and v = c + s Z, c = √q_o ρ z, s = √q_o sn, the
// inner expectation over Z ~ N(0, 1) has a closed form (a = c/s; Φ, ϕ the standard normal CDF and
// density; completing the square in the exponential):
//   E[φ(v)]  = c Φ(a) + s ϕ(a) + α (N − Φ(−a)),   E[φ'(v)] = Φ(a) + α N,
//   N = E[e^v 1{v ≤ 0}] = e^{c + s²/2} Φ(−a − s) = ½ erfc(w) e^{c + s²/2},  w = (a + s)/√2.
// For w ≥ 26 erfc underflows; there N = ½ e^{−a²/2} erfcx(w) (since c + s²/2 − w² = −a²/2)
// with erfcx's asymptotic series. Below 26, c + s²/2 ≤ w² < 676 cannot overflow. For s = 0
// (ρ = ±1, or q_o = 0) the inner value is just φ(c).
// What is left, E_z[φ(u) E[φ(v) | z]] (and the same with φ'), is one-dimensional; its integrand
// is analytic on each side of z = 0 except for two steep places: the inner threshold a crosses
// [−8, 8] for |z| < 8 sn/|ρ| (nearly parallel pairs), and e^u falls on the scale 1/√q_p. So
// each half line [0, 10] (Gaussian weight e^{−50} beyond) is cut at those two places and every
// piece gets 32-point Gauss–Legendre. Measured against a long-double polar-coordinate
// integration split along the kink rays (EluAndSeluMatchPolarReference): ≤ 5.7e-14 relative,
// q from 1e-6 to 400, ρ from −1 to 1.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <optional>
#include <utility>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "activations/quadrature.hpp"
#include "vector_math.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// jax.nn.selu's constants.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

constexpr std::size_t kLegendrePoints = 32;
constexpr double kKinkReach = 10.0;

// erfcx(w) = e^{w²} erfc(w) for w ≥ 26: Σ_k (−1)^k (2k−1)!!/(2w²)^k / (w√π); the 9th term is
// below 1e-19 of the first there.
double erfcx_large(double w) {
  const double r = 1.0 / (2.0 * w * w);
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 8; ++k) {
    term *= -(2.0 * k - 1.0) * r;
    sum += term;
  }
  return sum / (w * std::sqrt(kPi));
}

// λ·Elu(α): Elu is (α, 1), Selu (α_selu, λ_selu).
class ScaledElu final : public ActivationRules {
 public:
  ScaledElu(double alpha, double scale, int quadrature_degree) : alpha_(alpha), scale_(scale) {
    if (quadrature_degree != 0) rule_ = gauss_hermite(quadrature_degree);  // throws for a bad degree
  }

  double value(double x) const override { return scale_ * (x > 0 ? x : alpha_ * std::expm1(x)); }
  double derivative(double x) const override { return scale_ * (x > 0 ? 1.0 : alpha_ * std::exp(x)); }
  bool has_closed_form() const override { return false; }

  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    if (rule_) {
      const auto activate = [this](const double* x, double* f, double* df, std::size_t m, double* e) {
        activate_array(x, f, df, m, e);
      };
      gauss_hermite_dual(activate, *rule_, q1, q2, k, t, tdot, n);
    } else {
      split_at_kink(q1, q2, k, t, tdot, n);
    }
  }

 private:
  // f[i] = φ(x[i]) and (if df) df[i] = φ'(x[i]) for i < n, with e (n entries) as scratch; f
  // may not alias x.
  void activate_array(const double* x, double* f, double* df, std::size_t n, double* e) const {
    const double a = alpha_, scale = scale_;
    // expm1, not exp − 1: for tiny |x| (tiny variances) exp(x) − 1 keeps no digits of x.
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) e[i] = min_value(x[i], 0.0);
    if (df) {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) df[i] = e[i];
      detail::exp_array(df, df, n);
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) df[i] = scale * (x[i] > 0 ? 1.0 : a * df[i]);
    }
    detail::expm1_array(e, e, n);
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) f[i] = scale * (x[i] > 0 ? x[i] : a * e[i]);
  }

  // The default rule (see the top of the file).
  void split_at_kink(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const {
    constexpr std::size_t kMaxNodes = 2 * 3 * kLegendrePoints;  // two halves, ≤ 3 pieces each
    const auto& rule = legendre_rule<kLegendrePoints>();
    const double alpha = alpha_;
    const double inv_sqrt2 = 1.0 / std::numbers::sqrt2, inv_sqrt_2pi = 1.0 / std::sqrt(k2Pi);
    double z[kMaxNodes], w[kMaxNodes], x[kMaxNodes], fu[kMaxNodes], dfu[kMaxNodes], e[kMaxNodes];
    double c[kMaxNodes], a[kMaxNodes], wv[kMaxNodes], e1[kMaxNodes], e2[kMaxNodes], e3[kMaxNodes], pdf[kMaxNodes],
        big[kMaxNodes], inner[kMaxNodes], inner_dot[kMaxNodes];
    Geometry g;
    geometry(q1, q2, k, n, g);
    for (std::size_t i = 0; i < n; ++i) {
      const double qp = std::max(q1[i], q2[i]), qo = std::min(q1[i], q2[i]);
      const double sp = std::sqrt(qp), so = std::sqrt(qo), rho = g.rho[i], sn = g.sn[i];
      const double cu = so * rho, cs = so * sn;
      // Pieces of [0, kKinkReach]: cut where the inner threshold and e^u turn (see above).
      double cuts[4] = {0, kKinkReach, kKinkReach, kKinkReach};
      std::size_t ncuts = 1;
      if (8.0 * sn < kKinkReach * std::abs(rho) && sn > 0) cuts[ncuts++] = 8.0 * sn / std::abs(rho);
      if (36.0 < kKinkReach * sp) cuts[ncuts++] = 36.0 / sp;
      if (ncuts == 3 && cuts[2] < cuts[1]) std::swap(cuts[1], cuts[2]);
      cuts[ncuts] = kKinkReach;
      std::size_t m = 0;  // nodes: z > 0 first, then the mirrored z < 0
      for (std::size_t p = 0; p < ncuts; ++p) {
        const double lo = cuts[p], width = cuts[p + 1] - lo;
        if (!(width > 0)) continue;
        for (std::size_t j = 0; j < kLegendrePoints; ++j, ++m) {
          z[m] = lo + width * rule.nodes[j];
          w[m] = width * rule.weights[j] * inv_sqrt_2pi * std::exp(-0.5 * z[m] * z[m]);
        }
      }
      for (std::size_t j = 0; j < m; ++j) {
        z[m + j] = -z[j];
        w[m + j] = w[j];
      }
      m *= 2;
#pragma omp simd
      for (std::size_t j = 0; j < m; ++j) x[j] = sp * z[j];
      activate_array(x, fu, tdot ? dfu : nullptr, m, e);  // includes Selu's λ
#pragma omp simd
      for (std::size_t j = 0; j < m; ++j) c[j] = cu * z[j];
      if (cs > 0) {
#pragma omp simd
        for (std::size_t j = 0; j < m; ++j) {
          a[j] = c[j] / cs;
          wv[j] = (a[j] + cs) * inv_sqrt2;  // w
          // Φ(a) and Φ(−a) each from its own erfc: 1 − Φ would lose the small tail.
          e1[j] = -a[j] * inv_sqrt2;       // erfc → 2Φ(a)
          e2[j] = a[j] * inv_sqrt2;        // erfc → 2Φ(−a)
          e3[j] = min_value(wv[j], 26.0);  // erfc → 2Φ(−a − s), where it is used
          pdf[j] = -0.5 * a[j] * a[j];
          // e^{c + s²/2} where it is used (w < 26, so the argument is < 676); e^{−1000} elsewhere.
          big[j] = wv[j] < 26.0 ? c[j] + 0.5 * cs * cs : -1000.0;
        }
        detail::erfc_array(e1, e1, m);
        detail::erfc_array(e2, e2, m);
        detail::erfc_array(e3, e3, m);
        detail::exp_array(pdf, pdf, m);  // e^{−a²/2}
        detail::exp_array(big, big, m);
        for (std::size_t j = 0; j < m; ++j) {
          const double nj = wv[j] < 26.0 ? 0.5 * e3[j] * big[j] : 0.5 * pdf[j] * erfcx_large(wv[j]);
          inner[j] = scale_ * (0.5 * c[j] * e1[j] + cs * inv_sqrt_2pi * pdf[j] + alpha * (nj - 0.5 * e2[j]));
          inner_dot[j] = scale_ * (0.5 * e1[j] + alpha * nj);
        }
      } else {
        activate_array(c, inner, tdot ? inner_dot : nullptr, m, e);
      }
      double sum = 0, sum_dot = 0;
      for (std::size_t j = 0; j < m; ++j) {
        sum += w[j] * fu[j] * inner[j];
        if (tdot) sum_dot += w[j] * dfu[j] * inner_dot[j];
      }
      t[i] = sum;
      if (tdot) tdot[i] = sum_dot;
    }
  }

  double alpha_;                      // the Elu's α
  double scale_;                      // λ (1 for Elu)
  std::optional<GaussHermite> rule_;  // a quadrature_degree ≠ 0: its Gauss–Hermite rule
};

std::unique_ptr<const ActivationRules> make_elu(const ActivationLayer& layer, int quadrature_degree) {
  return std::make_unique<const ScaledElu>(layer.alpha, 1.0, quadrature_degree);
}

std::unique_ptr<const ActivationRules> make_selu(const ActivationLayer&, int quadrature_degree) {
  return std::make_unique<const ScaledElu>(kSeluAlpha, kSeluScale, quadrature_degree);
}

}  // namespace

const ActivationEntry& elu_entry() {
  static const ActivationEntry entry{{ActivationKind::Elu, "Elu", {{"alpha", F::Alpha, 1.0}}}, nullptr, make_elu};
  return entry;
}

const ActivationEntry& selu_entry() {
  static const ActivationEntry entry{{ActivationKind::Selu, "Selu", {}}, nullptr, make_selu};
  return entry;
}

}  // namespace ntkit::activations
