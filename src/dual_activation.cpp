// Dual activations T(q1, q2, k) = E[φ(u)φ(v)] and Ṫ = E[φ'(u)φ'(v)] for
// (u, v) ~ N(0, [[q1, k], [k, q2]]) (SPEC §5), with neural-tangents' parameterization.
//
// Notation: r = √(q1 q2), ρ = k / r clipped to [−1, 1] (0 when r = 0), kc = ρ r (k clipped),
// s = √(q1 q2 − kc²) = r √((1 − ρ)(1 + ρ)), θ = atan2(s, kc) ∈ [0, π].
//
// Formulas (each checked against quadrature or Monte Carlo in tests/cpp/test_dual_activation.cpp):
//
// ABRelu(a, b) = a min(x, 0) + b max(x, 0) (Relu = (0, 1), LeakyRelu(α) = (α, 1), Abs = (−1, 1)).
//   From the arc-cosine kernels of order 0 and 1 (Cho & Saul 2009): P(u > 0, v > 0) =
//   (π − θ)/(2π) and E[u₊v₊] = (s + (π − θ) k)/(2π); expanding φ = b x₊ − a (−x)₊ gives
//   (neural-tangents ABRelu, arXiv:1711.09090 for the leaky case)
//     Ṫ = (a² + b²)/2 − (a − b)² θ/(2π),   T = (a − b)² s/(2π) + Ṫ k.
// Sign: T = 1 − 2θ/π (= (2/π) arcsin ρ), Ṫ = 0 (neural-tangents' Sign).
// RectifiedMonomial(n) = [x ≥ 0] xⁿ: T = rⁿ J_n(θ)/(2π) with Cho & Saul's (2009)
//   J_n(θ) = (−1)ⁿ sin^{2n+1}θ ((1/sin θ) ∂/∂θ)ⁿ ((π − θ)/sin θ). With x = cos θ, J_n =
//   (1 − x²)^{n+½} gⁿ⁽ⁿ⁾(x) for g = arccos(−x)/√(1 − x²), which solves (1 − x²)g' = 1 + xg;
//   differentiating that n times gives the three-term recurrence (our derivation)
//     J_{n+1} = (2n + 1) cos θ J_n + n² sin²θ J_{n−1},  J_0 = π − θ,  J_1 = sin θ + (π − θ) cos θ,
//   i.e. for U_n = rⁿ J_n: U_{n+1} = (2n + 1) k U_n + n² s² U_{n−1}, U_0 = π − θ,
//   U_1 = s + (π − θ) k — no powers of r, no division, general n. Ṫ = n² T_{n−1} (Price's
//   theorem: ∂T/∂k = E[φ'φ'], φ' = n [x ≥ 0] x^{n−1}); Ṫ = 0 for n = 0 (Step), as in
//   neural-tangents.
// Erf(a, b, c) = a erf(bx) + c (Sigmoid_like = Erf(½, 1/2.4020563531719796, ½)), Williams
//   (1997) with the scalings of neural-tangents' Erf: with D = (1 + 2b²q1)(1 + 2b²q2) − 4b⁴k²
//   = 1 + 2b²(q1 + q2) + 4b⁴s² (the second form has no cancellation),
//     T = a² (2/π) arcsin(2b²k / √(D + 4b⁴k²)) + c² = a² (2/π) atan2(2b²k, √D) + c²,
//     Ṫ = a² b² (4/π) / √D.
//   The cross term 2ac E[erf(bu)] vanishes because erf is odd.
// Gelu(x) = x Φ(x) (exact; neural-tangents' Gelu kernel, NNGP from arXiv:2002.08517, Ṫ by
//   neural-tangents): with Δ² = (1 + q1)(1 + q2) − k² = 1 + q1 + q2 + s², P = (1 + q1)(1 + q2),
//     T = k/4 + [(k² + q1q2Δ²)/(PΔ) + k atan2(k, Δ)]/(2π),
//     Ṫ = 1/4 + atan2(k, Δ)/(2π) + k/(2πΔ) (1/Δ² + (1 − q1q2)/P + 1).
// Sin(a, b, c) = a sin(bx + c) (neural-tangents' Sin; from sin α sin β = ½[cos(α − β) −
//   cos(α + β)] and E[cos(w + φ)] = e^{−Var w/2} cos φ for Gaussian w):
//     T = (a²/2) [e^{−b²(q1+q2−2k)/2} − cos(2c) e^{−b²(q1+q2+2k)/2}],
//     Ṫ = (a²b²/2) [e^{−b²(q1+q2−2k)/2} + cos(2c) e^{−b²(q1+q2+2k)/2}].
//   Cos(a, b, c) = Sin(a, b, c + π/2): cos(2c) → −cos(2c), applied exactly (no π/2 rounding).
//   Rbf(γ) = √2 sin(√(2γ) x + π/4): T = e^{γ(2k − q1 − q2)}, Ṫ = 2γ T (cos(2c) = 0 exactly).
// Exp(a, b) = a e^{bx}: T = a² e^{b²(q1 + q2 + 2k)/2}, Ṫ = b² T (Gaussian moment generating
//   function; neural-tangents' Exp). Computed as e^{x + 2 ln|a|} so a small |a| does not
//   overflow prematurely.
// Gaussian(a, b) = a e^{bx²}: E[e^{b(u² + v²)}] = det(I − 2bΣ)^{−½} and
//   E[uv e^{b(u² + v²)}] = k det(I − 2bΣ)^{−3/2} (Gaussian integral with precision Σ⁻¹ − 2bI);
//   with D = det(I − 2bΣ) = 1 − 2b(q1 + q2) + 4b²s²:  T = a²/√D,  Ṫ = 4a²b² k / D^{3/2}
//   (neural-tangents' Gaussian).
// Monomial(n) = xⁿ and Polynomial(coef) = Σ coef_i xⁱ: exact Hermite expansion. With
//   xⁱ = Σ_m a_{i,m} He_m(x), a_{m+2j,m} = (m + 2j)!/(m! j! 2ʲ), and E[He_m(z)He_m'(w)] =
//   δ_{mm'} m! ρᵐ for standard normals of correlation ρ, E[uⁱvʲ] becomes a polynomial in
//   k, q1, q2, and T = Σ_m P_m(q1) P_m(q2) kᵐ with P_m(q) = √(m!) Σ_j coef_{m+2j} a_{m+2j,m} qʲ
//   (the same expansion as neural-tangents' Polynomial, written without its division by
//   √(q1q2), so q = 0 is exact); Ṫ = ∂T/∂k (Price's theorem).
// Tanh, Softplus, Silu: no closed form; by default a 2-D trapezoid rule for small variances
//   and nested Gauss–Legendre rules graded towards the steep places for larger ones (cost and
//   memory bounded for every q; see smooth_entry), or Gauss–Hermite of a given degree, as
//   neural-tangents' ElementwiseNumerical; φ' in closed form (jax.nn definitions). Elu(α), Selu: the inner of the two integrals in closed
//   form (erfc), the outer by Gauss–Legendre split at the kink (apply_kinked, end of file).
//
// Numerics (SPEC §6): θ through atan2 (never arccos); ρ = 1 exactly for k = q1 = q2 because
// √(fl(q·q)) = q in binary floating point, so θ = 0 exactly; this file is compiled with
// -ffp-contract=off (CMake) so no fused multiply-add perturbs that.
#include "ntkit/dual_activation.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <limits>

#include "ntkit/error.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "vector_math.hpp"

namespace ntkit {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double k2Pi = 2.0 * std::numbers::pi;
// Multiplying by fl(1/(2π)) instead of dividing by fl(2π) (a division costs as much as the rest
// of the ReLU formula): fl(π)·fl(1/(2π)) is exactly ½ (checked below), so θ/(2π) stays exactly
// 0, ¼ and ½ at θ = 0, π/2 and π; elsewhere the two differ by at most an ulp.
constexpr double kInv2Pi = 0.5 * std::numbers::inv_pi;
static_assert(std::numbers::pi * kInv2Pi == 0.5 && (std::numbers::pi / 2) * kInv2Pi == 0.25);
// The engine passes tiles of a few hundred entries; scratch lives on the stack in blocks of
// this size (≈ 2 KiB per array), so apply() is reentrant and allocation-free.
constexpr std::size_t kChunk = 256;

// jax.nn.selu's constants.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
// neural-tangents' Sigmoid_like = Erf(a=0.5, b=1/2.4020563531719796, c=0.5).
constexpr double kSigmoidLikeScale = 2.4020563531719796;

// Scratch arrays are left uninitialized: every entry is written before it is read, and zeroing
// them was 30% of the instructions of a deep ReLU kernel (callgrind). g++ 12 cannot see that
// for arrays filled by a loop and passed to the SLEEF helpers and reports maybe-uninitialized
// (false positives, checked case by case), so that one warning is off in this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
//
// Geometry of one block: kc = k clipped to [−r, r], s = √(q1q2 − kc²), and (for atan2)
// rho, sn = √((1 − ρ)(1 + ρ)). Branch-free so the loop vectorizes.
struct Geometry {
  double kc[kChunk], s[kChunk], rho[kChunk], sn[kChunk];
};

// std::min/std::max take references: inside `#pragma omp simd` GCC 12 then turns the locals
// into per-lane "simd arrays" and gives up vectorizing the loop (measured: geometry() ran
// scalar, 32 instructions per entry). These take values.
inline double clamp_value(double x, double lo, double hi) {
  const double y = x < lo ? lo : x;
  return hi < y ? hi : y;
}
inline double min_value(double a, double b) { return b < a ? b : a; }

// One entry of the geometry; `split` says whether q1 q2 may leave the normal range, so that r
// is √q1 √q2 there (two more square roots, only then).
template <bool split>
inline void geometry_entry(double q1, double q2, double k, Geometry& g, std::size_t i) {
  const double r2 = q1 * q2;
  double r_product = std::sqrt(r2);
  if constexpr (split) {
    // Tiny or huge norms: q1 q2 would underflow or overflow where √q1 √q2 does not.
    const bool in_range = (r2 >= DBL_MIN) & (r2 <= DBL_MAX);
    r_product = in_range ? r_product : std::sqrt(q1) * std::sqrt(q2);
  }
  // √(q·q) is q exactly; √q·√q (the split form) may be off by an ulp, which put a point
  // paired with itself at ρ one ulp below 1, sn at 1e-8, and moved kernels with an infinite
  // slope at ρ = 1 (Erf's at huge q) by 1e-8 on the diagonal.
  const double r = q1 == q2 ? q1 : r_product;
  const bool positive = r > 0;
  const double safe_r = positive ? r : 1.0;
  // Everything is evaluated unconditionally and then selected: GCC does not speculate a
  // conditional division (it could trap), and that branch alone blocked vectorization.
  const double ratio = clamp_value(k / safe_r, -1.0, 1.0);
  const double clipped = clamp_value(k, -r, r);
  const double rho = positive ? ratio : 0.0;
  const double sn = std::sqrt((1.0 - rho) * (1.0 + rho));
  g.rho[i] = rho;
  g.sn[i] = sn;
  g.kc[i] = positive ? clipped : 0.0;
  g.s[i] = r * sn;
}

void geometry(const double* q1, const double* q2, const double* k, std::size_t n, Geometry& g) {
  // Both candidate values are computed and one selected, so the loops have no branches and
  // vectorize (with the branches they did not: 38 instructions per entry by callgrind). A
  // chunk whose products q1 q2 are all in the normal range (almost every chunk) skips the
  // split square roots: the same values, a third fewer square roots.
  bool all_in_range = true;
#pragma omp simd reduction(& : all_in_range)
  for (std::size_t i = 0; i < n; ++i) {
    const double r2 = q1[i] * q2[i];
    all_in_range &= (r2 >= DBL_MIN) & (r2 <= DBL_MAX);
  }
  if (all_in_range) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) geometry_entry<false>(q1[i], q2[i], k[i], g, i);
  } else {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) geometry_entry<true>(q1[i], q2[i], k[i], g, i);
  }
}

// ---- Activations without a closed form (quadrature) ------------------------------------------

// f[i] = φ(x[i]) and (if df) df[i] = φ'(x[i]), with jax.nn's definitions, one vectorized exp
// per entry; e = exp(−|x|) (or exp(min(x, 0))) never overflows. f may not alias x.
void activate_numerical(ActivationKind kind, double alpha, const double* x, double* f, double* df,
                        std::size_t n, double* e) {
  switch (kind) {
    case ActivationKind::Tanh: {
      // tanh x = sign(x)(1 − E)/(1 + E), 1 − tanh² x = 4E/(1 + E)², E = e^{−2|x|}.
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) e[i] = -2.0 * std::abs(x[i]);
      detail::exp_array(e, e, n);
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        const double inv = 1.0 / (1.0 + e[i]);
        f[i] = std::copysign((1.0 - e[i]) * inv, x[i]);
        if (df) df[i] = 4.0 * e[i] * inv * inv;
      }
      return;
    }
    case ActivationKind::Softplus:
    case ActivationKind::Silu: {
      // sigmoid x = 1/(1 + E) for x ≥ 0, E/(1 + E) for x < 0, E = e^{−|x|}.
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) e[i] = -std::abs(x[i]);
      detail::exp_array(e, e, n);
      if (kind == ActivationKind::Softplus) {
        // log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}); φ' = sigmoid.
        for (std::size_t i = 0; i < n; ++i) f[i] = std::max(x[i], 0.0) + std::log1p(e[i]);
        if (df) {
#pragma omp simd
          for (std::size_t i = 0; i < n; ++i) {
            const double inv = 1.0 / (1.0 + e[i]);
            df[i] = x[i] >= 0 ? inv : e[i] * inv;
          }
        }
      } else {
        // silu x = x σ(x); φ' = σ(x)(1 + x(1 − σ(x))).
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) {
          const double inv = 1.0 / (1.0 + e[i]);
          const double sig = x[i] >= 0 ? inv : e[i] * inv;
          const double one_minus = x[i] >= 0 ? e[i] * inv : inv;
          f[i] = x[i] * sig;
          if (df) df[i] = sig * (1.0 + x[i] * one_minus);
        }
      }
      return;
    }
    case ActivationKind::Elu:
    case ActivationKind::Selu: {
      // elu x = x for x > 0, α(eˣ − 1) otherwise; selu = scale · elu with jax's α.
      const double a = kind == ActivationKind::Selu ? kSeluAlpha : alpha;
      const double scale = kind == ActivationKind::Selu ? kSeluScale : 1.0;
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
      return;
    }
    default:
      break;  // closed-form kinds never reach the quadrature
  }
}

// Hermite-expansion table of Polynomial(coef): row m holds the coefficients (in q) of
// P_m(q) = √(m!) Σ_j coef_{m+2j} a_{m+2j,m} qʲ, a_{m+2j,m} = (m + 2j)!/(m! j! 2ʲ).
std::vector<std::vector<double>> hermite_table(const std::vector<double>& coef) {
  const std::size_t n = coef.size();
  std::vector<std::vector<double>> table(n);
  double sqrt_factorial = 1.0;  // √(m!)
  for (std::size_t m = 0; m < n; ++m) {
    if (m > 0) sqrt_factorial *= std::sqrt(static_cast<double>(m));
    double a = 1.0;  // a_{m,m} = 1; a_{m+2j,m} = a_{m+2j−2,m} (m + 2j)(m + 2j − 1)/(2j)
    for (std::size_t j = 0; m + 2 * j < n; ++j) {
      if (j > 0) {
        const auto i = static_cast<double>(m + 2 * j);
        a *= i * (i - 1.0) / (2.0 * static_cast<double>(j));
      }
      table[m].push_back(sqrt_factorial * a * coef[m + 2 * j]);
    }
  }
  // Trailing zero rows (e.g. Monomial's odd/even gaps) cost nothing worth trimming.
  return table;
}

}  // namespace

DualActivation::DualActivation(const ActivationLayer& layer, int quadrature_degree)
    : layer_(layer) {
  check_layer_arguments(Layer{layer});
  const double a = layer.a, b = layer.b, c = layer.c;
  switch (layer.kind) {
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu:
    case ActivationKind::ABRelu:
    case ActivationKind::Abs: {
      double lo = 0, hi = 1;  // slopes for x < 0 and x > 0
      if (layer.kind == ActivationKind::LeakyRelu) lo = layer.alpha;
      if (layer.kind == ActivationKind::ABRelu) lo = a, hi = b;
      if (layer.kind == ActivationKind::Abs) lo = -1;
      family_ = Family::ABRelu;
      c0_ = (lo - hi) * (lo - hi);      // (a − b)²
      c1_ = 0.5 * (lo * lo + hi * hi);  // (a² + b²)/2
      break;
    }
    case ActivationKind::Sign:
      family_ = Family::Sign;
      break;
    case ActivationKind::RectifiedMonomial:
      family_ = Family::RectifiedMonomial;
      degree_ = layer.degree;
      break;
    case ActivationKind::Erf:
    case ActivationKind::Sigmoid_like: {
      const bool sigmoid = layer.kind == ActivationKind::Sigmoid_like;
      const double ea = sigmoid ? 0.5 : a, eb = sigmoid ? 1.0 / kSigmoidLikeScale : b;
      const double ec = sigmoid ? 0.5 : c;
      family_ = Family::Erf;
      c0_ = ea * ea;  // a²
      c1_ = eb * eb;  // b²
      c2_ = ec * ec;  // c²
      break;
    }
    case ActivationKind::Gelu:
      family_ = Family::Gelu;
      break;
    case ActivationKind::Sin:
    case ActivationKind::Cos:
      family_ = Family::Sin;
      c0_ = 0.5 * a * a;                                             // a²/2
      c1_ = b * b;                                                   // b²
      c2_ = (layer.kind == ActivationKind::Cos ? -1.0 : 1.0) * std::cos(2.0 * c);  // cos 2c
      break;
    case ActivationKind::Rbf:
      family_ = Family::Sin;
      c0_ = 1.0;                // (√2)²/2
      c1_ = 2.0 * layer.gamma;  // (√(2γ))²
      c2_ = 0.0;                // cos(π/2), exactly
      break;
    case ActivationKind::Exp:
      family_ = Family::Exp;
      c0_ = 2.0 * std::log(std::abs(a));  // ln a² (−inf for a = 0: T = 0)
      c1_ = b * b;
      c2_ = 2.0 * std::log(std::abs(b));  // ln b²
      break;
    case ActivationKind::Gaussian:
      family_ = Family::Gaussian;
      c0_ = a * a;
      c1_ = b;
      c2_ = 4.0 * a * a * b * b;
      break;
    case ActivationKind::Monomial:
    case ActivationKind::Polynomial: {
      family_ = Family::Polynomial;
      std::vector<double> coef = layer.coef;
      if (layer.kind == ActivationKind::Monomial) {
        coef.assign(static_cast<std::size_t>(layer.degree) + 1, 0.0);
        coef.back() = 1.0;
      }
      hermite_ = hermite_table(coef);
      break;
    }
    case ActivationKind::Tanh:
    case ActivationKind::Softplus:
    case ActivationKind::Elu:
    case ActivationKind::Selu:
    case ActivationKind::Silu: {
      family_ = Family::Quadrature;
      // 0: the adaptive trapezoid rule, built per entry, for the smooth φ; for Elu and Selu,
      // whose φ' jumps at 0 (where neither product rule converges: Ṫ off by ~1e-2), a
      // one-dimensional rule split at the kink over a closed-form inner integral.
      if (quadrature_degree != 0) {
        GaussHermite rule = gauss_hermite(quadrature_degree);  // throws for a bad degree
        nodes_ = std::move(rule.nodes);
        weights_ = std::move(rule.weights);
      }
      c0_ = layer.alpha;  // Elu's α
      // Elu and Selu by default: the rule split at the kink (apply_kinked).
      kinked_ = quadrature_degree == 0 &&
                (layer.kind == ActivationKind::Elu || layer.kind == ActivationKind::Selu);
      c1_ = layer.kind == ActivationKind::Selu ? kSeluAlpha : layer.alpha;  // α of the ELU
      c2_ = layer.kind == ActivationKind::Selu ? kSeluScale : 1.0;          // the outer scale
      break;
    }
  }
}

bool DualActivation::has_closed_form() const { return family_ != Family::Quadrature; }

void DualActivation::apply(const double* q1, const double* q2, const double* k, double* t,
                           double* tdot, std::size_t n) const {
  if (family_ == Family::Quadrature) {
    apply_quadrature(q1, q2, k, t, tdot, n);
    return;
  }
  // Inputs are copied block by block, so outputs may alias them.
  double lq1[kChunk], lq2[kChunk], lk[kChunk];
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    std::copy_n(q1 + start, len, lq1);
    std::copy_n(q2 + start, len, lq2);
    std::copy_n(k + start, len, lk);
    apply_chunk(lq1, lq2, lk, t + start, tdot ? tdot + start : nullptr, len);
  }
}

void DualActivation::apply_diagonal(const double* q, double* t, std::size_t n) const {
  // Same code path as apply(q, q, q), so the diagonal is exactly the kernel's own diagonal
  // (its cost, O(n), is negligible next to the O(n²) off-diagonal entries).
  double lq[kChunk];
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    std::copy_n(q + start, len, lq);
    if (family_ == Family::Quadrature)
      apply_quadrature(lq, lq, lq, t + start, nullptr, len);
    else
      apply_chunk(lq, lq, lq, t + start, nullptr, len);
  }
}

// One block (len ≤ kChunk) of a closed form; inputs do not alias outputs here. One switch per
// block, then straight loops over entries.
void DualActivation::apply_chunk(const double* q1, const double* q2, const double* k, double* t,
                                 double* tdot, std::size_t n) const {
  Geometry g;
  geometry(q1, q2, k, n, g);
  const double* kc = g.kc;
  const double* s = g.s;
  double theta[kChunk];

  switch (family_) {
    case Family::ABRelu: {
      detail::atan2_array(g.sn, g.rho, theta, n);
      // θ/(2π) is exactly 0, ¼, ½ at θ = 0, π/2, π (kInv2Pi above), so duplicates,
      // orthogonal/zero-norm pairs and ρ = −1 give exact values (Relu: Ṫ = ½, ¼, 0).
      const double sq = c0_, half_sum = c1_;
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        const double d = half_sum - sq * (theta[i] * kInv2Pi);
        t[i] = sq * (s[i] * kInv2Pi) + d * kc[i];
        if (tdot) tdot[i] = d;
      }
      return;
    }
    case Family::Sign: {
      detail::atan2_array(g.sn, g.rho, theta, n);
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) t[i] = 1.0 - 2.0 * theta[i] / kPi;
      if (tdot) std::fill_n(tdot, n, 0.0);
      return;
    }
    case Family::RectifiedMonomial: {
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
      return;
    }
    case Family::Erf: {
      // D = 1 + 2b²(q1 + q2) + 4b⁴ s²; T = a² (2/π) atan2(2b²k, √D) + c²; Ṫ = a²b² (4/π)/√D.
      // Both arguments of atan2 are divided by m = 1 + b²(q1 + q2) ≥ 1 (atan2 does not change):
      // then b²s/m ≤ ½ (s ≤ (q1 + q2)/2), where (b²s)² itself overflowed for inputs of scale
      // 1e150 and T came out 0 off the diagonal. root = √D / m.
      const double a2 = c0_, b2 = c1_, c2 = c2_;
      double y[kChunk], root[kChunk], m[kChunk];
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
      return;
    }
    case Family::Gelu: {
      double delta[kChunk];
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
        if (tdot)
          tdot[i] = 0.25 + theta[i] * kInv2Pi +
                    kk / dl * kInv2Pi * (1.0 / d2 + (i1 * i2 - r12) + 1.0);
      }
      return;
    }
    case Family::Sin: {
      // s1 = e^{−b²(q1+q2−2k)/2}, s2 = e^{−b²(q1+q2+2k)/2}: both exponents ≤ 0 (|kc| ≤ r ≤
      // (q1 + q2)/2), so nothing overflows.
      const double half_a2 = c0_, b2 = c1_, cos2c = c2_;
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
      return;
    }
    case Family::Exp: {
      // T = e^{b²(q1+q2+2k)/2 + ln a²}, Ṫ = e^{… + ln a² + ln b²}.
      const double log_a2 = c0_, b2 = c1_, log_b2 = c2_;
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
      return;
    }
    case Family::Gaussian: {
      // D = 1 − 2b(q1 + q2) + 4b²s²; finite iff 1 − 2b max(q1, q2) > 0 and D > 0.
      const double a2 = c0_, b = c1_, f = c2_;
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
      return;
    }
    case Family::Polynomial: {
      // T = Σ_m P_m(q1) P_m(q2) kᵐ and Ṫ = Σ_m m P_m(q1) P_m(q2) k^{m−1}, Horner in k from the top.
      double acc[kChunk], dacc[kChunk], p1[kChunk], p2[kChunk];
      std::fill_n(acc, n, 0.0);
      std::fill_n(dacc, n, 0.0);
      for (std::size_t m = hermite_.size(); m-- > 0;) {
        const std::vector<double>& row = hermite_[m];
        std::fill_n(p1, n, 0.0);
        std::fill_n(p2, n, 0.0);
        for (std::size_t j = row.size(); j-- > 0;) {
          const double cj = row[j];
#pragma omp simd
          for (std::size_t i = 0; i < n; ++i) {
            p1[i] = p1[i] * q1[i] + cj;
            p2[i] = p2[i] * q2[i] + cj;
          }
        }
        const double dm = static_cast<double>(m);
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) {
          const double cm = p1[i] * p2[i];
          if (m > 0) dacc[i] = dacc[i] * kc[i] + dm * cm;
          acc[i] = acc[i] * kc[i] + cm;
        }
      }
      std::copy_n(acc, n, t);
      if (tdot) std::copy_n(dacc, n, tdot);
      return;
    }
    case Family::Quadrature:
      break;  // handled by apply_quadrature
  }
}

// ---- Tanh, Softplus, Silu: the default rule ------------------------------------------------------
//
// The integrand φ(√q_p z_a) φ(c + s z_b) (u = √q_p z_a with p the point with the larger q,
// c = √q_o ρ z_a, s = √q_o sn) varies fast only where an argument of φ crosses 0: φ(√q z) has
// its nearest complex singularities π/(2√q) off the real axis for tanh (twice that for softplus
// and silu) and is, up to e^{−32} or less, linear or constant beyond |√q z| = 32. Two rules:
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
// lives in fixed-size arrays on the stack, nothing is allocated, nothing can throw. For q → ∞ the ladder just starts lower (ℓ = 1e−150 at q = 1e300) and tanh's T
// tends to the sign kernel (2/π) arcsin ρ. Measured against an independent long-double
// tanh-sinh integration (DefaultQuadratureMatchesDoubleExponentialReference): see there.
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

// Gauss–Legendre nodes on [0, 1] by Newton's method on the three-term recurrence, in long
// double so the rounded nodes and weights are correct to the last bit of a double.
template <std::size_t N>
struct LegendreRule {
  double nodes[N], weights[N];
};

template <std::size_t N>
LegendreRule<N> make_legendre_rule() {
  LegendreRule<N> rule{};
  const int n = static_cast<int>(N);
  for (int i = 0; i < n; ++i) {
    long double x = std::cos(std::numbers::pi_v<long double> * (i + 0.75L) / (n + 0.5L)), dp = 1;
    for (int iter = 0; iter < 100; ++iter) {
      long double p0 = 1, p1 = x;
      for (int j = 2; j <= n; ++j) {
        const long double p2 = ((2 * j - 1) * x * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1);
      const long double step = p1 / dp;
      x -= step;
      if (std::abs(step) < 1e-19L) break;
    }
    rule.nodes[i] = static_cast<double>((1 - x) / 2);  // mapped from [−1, 1] to [0, 1]
    rule.weights[i] = static_cast<double>(1 / ((1 - x * x) * dp * dp));  // 2/((1−x²)P'²) · ½
  }
  return rule;
}

template <std::size_t N>
const LegendreRule<N>& legendre_rule() {
  static const LegendreRule<N> rule = make_legendre_rule<N>();
  return rule;
}

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

// Scratch of one entry of the default smooth rule, on the caller's stack (≈ 50 KiB).
struct SmoothScratch {
  double za[kMaxGradedNodes], wa[kMaxGradedNodes], u[kMaxGradedNodes], fu[kMaxGradedNodes],
      dfu[kMaxGradedNodes], zb[kMaxGradedNodes], wb[kMaxGradedNodes], v[kMaxGradedNodes],
      f[kMaxGradedNodes], df[kMaxGradedNodes], e[kMaxGradedNodes];
};
static_assert(kMaxTrapezoidNodes <= kMaxGradedNodes);

// One entry, E[φ(u)φ(v)] and (if tdot) E[φ'(u)φ'(v)] with u = √q_p z_a, v = c + s z_b (see
// above). Returns the number of evaluations of φ (each with φ' when tdot is set).
std::size_t smooth_entry(ActivationKind kind, double qp, double qo, double rho, double sn,
                         SmoothScratch& sc, double* t, double* tdot) {
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
  activate_numerical(kind, 0.0, sc.u, sc.fu, df_u, na, sc.e);
  evaluations += na;
  double sum = 0, sum_dot = 0;
  for (std::size_t a = 0; a < na; ++a) {
    const double c = cu * sc.za[a];
    double inner = 0, inner_dot = 0;
    if (!(cs > 0)) {  // v = c: no inner integral
      sc.v[0] = c;
      activate_numerical(kind, 0.0, sc.v, sc.f, df_v, 1, sc.e);
      evaluations += 1;
      inner = sc.f[0];
      if (tdot) inner_dot = sc.df[0];
    } else {
      if (!trapezoid) nb = graded_rule(-c / cs, 1.0 / cs, 0.0, sc.zb, sc.wb);
#pragma omp simd
      for (std::size_t b = 0; b < nb; ++b) sc.v[b] = c + cs * zb[b];
      activate_numerical(kind, 0.0, sc.v, sc.f, df_v, nb, sc.e);
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

}  // namespace

namespace detail {
// The number of evaluations of φ the default rule of Tanh, Softplus and Silu spends on the
// entry (q1, q2, k) (for the tests' cost bound; the same code as apply).
std::size_t smooth_quadrature_evaluations(double q1, double q2, double k) {
  Geometry g;
  geometry(&q1, &q2, &k, 1, g);
  SmoothScratch sc;
  double t = 0, tdot = 0;
  return smooth_entry(ActivationKind::Tanh, std::max(q1, q2), std::min(q1, q2), g.rho[0], g.sn[0],
                      sc, &t, &tdot);
}
}  // namespace detail

// E[φ(u)φ(v)] and E[φ'(u)φ'(v)], u = √q_p z_a, v = √q_o (ρ z_a + sn z_b), where p is the point
// with the larger q: swapping q1 and q2 then runs the very same arithmetic, so T is exactly
// symmetric. The rule: smooth_entry above by default, or the Gauss–Hermite product rule of the
// degree asked for (neural-tangents' ElementwiseNumerical; N² evaluations per entry).
void DualActivation::apply_quadrature(const double* q1, const double* q2, const double* k,
                                      double* t, double* tdot, std::size_t n) const {
  if (kinked_) {
    apply_kinked(q1, q2, k, t, tdot, n);
    return;
  }
  Geometry g;
  if (nodes_.empty()) {
    SmoothScratch sc;
    for (std::size_t start = 0; start < n; start += kChunk) {
      const std::size_t len = std::min(kChunk, n - start);
      geometry(q1 + start, q2 + start, k + start, len, g);
      for (std::size_t i = 0; i < len; ++i) {
        const double a1 = q1[start + i], a2 = q2[start + i];
        double ti = 0, di = 0;
        smooth_entry(layer_.kind, std::max(a1, a2), std::min(a1, a2), g.rho[i], g.sn[i], sc, &ti,
                     tdot ? &di : nullptr);
        // Written after all reads of entry i (outputs may alias the inputs).
        t[start + i] = ti;
        if (tdot) tdot[start + i] = di;
      }
    }
    return;
  }
  const std::size_t nq = nodes_.size();
  const double* z = nodes_.data();
  const double* w = weights_.data();
  std::vector<double> v(nq * nq), f(nq * nq), e(nq * nq), df(tdot ? nq * nq : 0);
  std::vector<double> u(nq), fu(nq), dfu(nq);
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    geometry(q1 + start, q2 + start, k + start, len, g);
    for (std::size_t i = 0; i < len; ++i) {
      const double a1 = q1[start + i], a2 = q2[start + i];
      const double sp = std::sqrt(std::max(a1, a2)), so = std::sqrt(std::min(a1, a2));
      const double cu = so * g.rho[i], cs = so * g.sn[i];
      for (std::size_t a = 0; a < nq; ++a) u[a] = sp * z[a];
      activate_numerical(layer_.kind, c0_, u.data(), fu.data(), tdot ? dfu.data() : nullptr, nq,
                         e.data());
      for (std::size_t a = 0; a < nq; ++a) {
        const double base = cu * z[a];
#pragma omp simd
        for (std::size_t b = 0; b < nq; ++b) v[a * nq + b] = base + cs * z[b];
      }
      activate_numerical(layer_.kind, c0_, v.data(), f.data(), tdot ? df.data() : nullptr,
                         nq * nq, e.data());
      double sum = 0, sum_dot = 0;
      for (std::size_t a = 0; a < nq; ++a) {
        const double* fa = f.data() + a * nq;
        double inner = 0;
#pragma omp simd reduction(+ : inner)
        for (std::size_t b = 0; b < nq; ++b) inner += w[b] * fa[b];
        sum += w[a] * fu[a] * inner;
        if (tdot) {
          const double* da = df.data() + a * nq;
          double inner_dot = 0;
#pragma omp simd reduction(+ : inner_dot)
          for (std::size_t b = 0; b < nq; ++b) inner_dot += w[b] * da[b];
          sum_dot += w[a] * dfu[a] * inner_dot;
        }
      }
      // Written after all reads of entry i (outputs may alias the inputs).
      t[start + i] = sum;
      if (tdot) tdot[start + i] = sum_dot;
    }
  }
}

// ---- Elu and Selu: φ' jumps at 0 ---------------------------------------------------------------
//
// ELU(α): φ(x) = x for x > 0, α(eˣ − 1) otherwise; Selu = λ·ELU(α_selu). With u = √q_p z (p the
// point with the larger q, as above) and v = c + s Z, c = √q_o ρ z, s = √q_o sn, the inner
// expectation over Z ~ N(0, 1) has a closed form (a = c/s; Φ, ϕ the standard normal CDF and
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
namespace {

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

}  // namespace

void DualActivation::apply_kinked(const double* q1, const double* q2, const double* k, double* t,
                                  double* tdot, std::size_t n) const {
  constexpr std::size_t kMaxNodes = 2 * 3 * kLegendrePoints;  // two halves, at most 3 pieces each
  const auto& rule = legendre_rule<kLegendrePoints>();
  const double alpha = c1_;  // the ELU's α; c2_ = Selu's λ (1 for Elu)
  const double inv_sqrt2 = 1.0 / std::numbers::sqrt2, inv_sqrt_2pi = 1.0 / std::sqrt(k2Pi);
  double z[kMaxNodes], w[kMaxNodes], x[kMaxNodes], fu[kMaxNodes], dfu[kMaxNodes], e[kMaxNodes];
  double c[kMaxNodes], a[kMaxNodes], wv[kMaxNodes], e1[kMaxNodes], e2[kMaxNodes], e3[kMaxNodes],
      pdf[kMaxNodes], big[kMaxNodes], inner[kMaxNodes], inner_dot[kMaxNodes];
  Geometry g;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    geometry(q1 + start, q2 + start, k + start, len, g);
    for (std::size_t i = 0; i < len; ++i) {
      const double qp = std::max(q1[start + i], q2[start + i]), qo = std::min(q1[start + i], q2[start + i]);
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
      activate_numerical(layer_.kind, c0_, x, fu, tdot ? dfu : nullptr, m, e);  // includes Selu's λ
#pragma omp simd
      for (std::size_t j = 0; j < m; ++j) c[j] = cu * z[j];
      if (cs > 0) {
#pragma omp simd
        for (std::size_t j = 0; j < m; ++j) {
          a[j] = c[j] / cs;
          wv[j] = (a[j] + cs) * inv_sqrt2;  // w
          // Φ(a) and Φ(−a) each from its own erfc: 1 − Φ would lose the small tail.
          e1[j] = -a[j] * inv_sqrt2;        // erfc → 2Φ(a)
          e2[j] = a[j] * inv_sqrt2;         // erfc → 2Φ(−a)
          e3[j] = min_value(wv[j], 26.0);   // erfc → 2Φ(−a − s), where it is used
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
          inner[j] = c2_ * (0.5 * c[j] * e1[j] + cs * inv_sqrt_2pi * pdf[j] + alpha * (nj - 0.5 * e2[j]));
          inner_dot[j] = c2_ * (0.5 * e1[j] + alpha * nj);
        }
      } else {
        activate_numerical(layer_.kind, c0_, c, inner, tdot ? inner_dot : nullptr, m, e);
      }
      double sum = 0, sum_dot = 0;
      for (std::size_t j = 0; j < m; ++j) {
        sum += w[j] * fu[j] * inner[j];
        if (tdot) sum_dot += w[j] * dfu[j] * inner_dot[j];
      }
      // Written after all reads of entry i (outputs may alias the inputs).
      t[start + i] = sum;
      if (tdot) tdot[start + i] = sum_dot;
    }
  }
}

}  // namespace ntkit
