// Polynomials: Monomial(n): φ(x) = xⁿ; Polynomial(coef): φ(x) = coef[0] + coef[1] x + … + coef[n] xⁿ.
//
// Dual (docs/mathematics.md §5): exact Hermite expansion. With xⁱ = Σ_m a_{i,m} He_m(x),
// a_{m+2j,m} = (m + 2j)!/(m! j! 2ʲ), and E[He_m(z)He_m'(w)] = δ_{mm'} m! ρᵐ for standard normals of
// correlation ρ, E[uⁱvʲ] becomes a polynomial in k, q1, q2, and T = Σ_m P_m(q1) P_m(q2) kᵐ with
// P_m(q) = √(m!) Σ_j coef_{m+2j} a_{m+2j,m} qʲ (the same expansion as neural-tangents'
// Polynomial, written without its division by √(q1q2), so q = 0 is exact); Ṫ = ∂T/∂k (Price's
// theorem). The coefficients grow like (2n−1)!!; degrees above ~150 overflow to inf (hence
// kMaxDegree).
#include <algorithm>
#include <cmath>

#include "activations/catalogue.hpp"
#include "activations/pair_geometry.hpp"
#include "activations/polynomial_expansion.hpp"

namespace ntkit::activations {

HermiteExpansion polynomial_expansion(const std::vector<double>& coef) {
  // Row m holds the coefficients (in q) of P_m(q) = √(m!) Σ_j coef_{m+2j} a_{m+2j,m} qʲ.
  const std::size_t n = coef.size();
  HermiteExpansion expansion;
  std::vector<std::vector<double>>& table = expansion.rows;
  table.resize(n);
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
  return expansion;
}

void expansion_dual(const HermiteExpansion& expansion, const double* q1, const double* q2, const double* k, double* t,
                    double* tdot, std::size_t n) {
  Geometry g;
  geometry(q1, q2, k, n, g);
  const double* kc = g.kc;
  // The variable of P_m: q itself (shift 0: no subtraction, so no rounding) or q − shift.
  double shifted1[kChunk], shifted2[kChunk];
  const double* x1 = q1;
  const double* x2 = q2;
  if (expansion.shift != 0) {
    const double shift = expansion.shift;
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      shifted1[i] = q1[i] - shift;
      shifted2[i] = q2[i] - shift;
    }
    x1 = shifted1;
    x2 = shifted2;
  }
  // T = Σ_m P_m(q1) P_m(q2) kᵐ and Ṫ = Σ_m m P_m(q1) P_m(q2) k^{m−1}, Horner in k from the top.
  double acc[kChunk], dacc[kChunk], p1[kChunk], p2[kChunk];
  std::fill_n(acc, n, 0.0);
  std::fill_n(dacc, n, 0.0);
  for (std::size_t m = expansion.rows.size(); m-- > 0;) {
    const std::vector<double>& row = expansion.rows[m];
    std::fill_n(p1, n, 0.0);
    std::fill_n(p2, n, 0.0);
    for (std::size_t j = row.size(); j-- > 0;) {
      const double cj = row[j];
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) {
        p1[i] = p1[i] * x1[i] + cj;
        p2[i] = p2[i] * x2[i] + cj;
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
}

namespace {

using F = ActivationField;

// xⁿ for n ≥ 0 (0⁰ = 1, as jnp.power).
double power(double x, int n) { return n == 0 ? 1.0 : std::pow(x, n); }

std::vector<double> monomial_coefficients(int degree) {
  std::vector<double> coef(static_cast<std::size_t>(degree) + 1, 0.0);
  coef.back() = 1.0;
  return coef;
}

class Monomial final : public ActivationRules {
 public:
  explicit Monomial(const ActivationLayer& l)
      : degree_(l.degree), expansion_(polynomial_expansion(monomial_coefficients(l.degree))) {}

  double value(double x) const override { return power(x, degree_); }
  double derivative(double x) const override { return degree_ == 0 ? 0.0 : degree_ * power(x, degree_ - 1); }
  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    expansion_dual(expansion_, q1, q2, k, t, tdot, n);
  }

 private:
  int degree_;
  HermiteExpansion expansion_;
};

class Polynomial final : public ActivationRules {
 public:
  explicit Polynomial(const ActivationLayer& l) : coef_(l.coef), expansion_(polynomial_expansion(l.coef)) {}

  double value(double x) const override {
    double acc = 0;
    for (auto it = coef_.rbegin(); it != coef_.rend(); ++it) acc = acc * x + *it;
    return acc;
  }
  double derivative(double x) const override {
    double acc = 0;
    for (std::size_t i = coef_.size(); i-- > 1;) acc = acc * x + static_cast<double>(i) * coef_[i];
    return acc;
  }
  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    expansion_dual(expansion_, q1, q2, k, t, tdot, n);
  }

 private:
  std::vector<double> coef_;
  HermiteExpansion expansion_;
};

}  // namespace

const ActivationEntry& monomial_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Monomial, "Monomial", {{"degree", F::Degree, kRequired}}}, nullptr, make_rules_of<Monomial>};
  return entry;
}

// The coef checks (non-empty, at most kMaxDegree + 1, finite) are the table's generic ones.
const ActivationEntry& polynomial_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Polynomial, "Polynomial", {{"coef", F::Coef, kRequired}}}, nullptr, make_rules_of<Polynomial>};
  return entry;
}

}  // namespace ntkit::activations
