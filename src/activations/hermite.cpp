// Hermite(n): φ(x) = He_n(x)/√(n!), the probabilists' Hermite polynomial normalized to unit norm
// under the standard Gaussian, as neural-tangents' stax.Hermite (0 ≤ n ≤ kMaxDegree).
//
// φ by the normalized three-term recurrence h_0 = 1, h_1 = x,
// h_{j+1} = (x h_j − √j h_{j−1})/√(j + 1) (no factorials, no overflow); φ' = √n h_{n−1}, from
// He_n' = n He_{n−1}.
//
// Dual (docs/mathematics.md §5), exact for any variance. The scaling identity
// He_n(√q z) = Σ_j q^{(n−2j)/2} (q − 1)ʲ n!/(j! (n − 2j)! 2ʲ) He_{n−2j}(z) and
// E[He_m(z)He_m'(w)] = δ_{mm'} m! ρᵐ give
//   T = Σ_j b_j ((q1 − 1)(q2 − 1))ʲ k^{n−2j},  b_j = C(n, 2j) C(2j, j) / 4ʲ,   Ṫ = ∂T/∂k.
// This is the Polynomial family's expansion (polynomial_expansion.hpp) with P_{n−2j}(q) =
// √b_j (q − 1)ʲ, i.e. in powers of q − 1 instead of q. The Polynomial family's own rows, from
// He_n's monomial coefficients in powers of q, are the same polynomials, but at q = 1 they cancel
// terms of up to 3e3 (n = 20) and 4e13 (n = 64) to leave P_m(1) = 0 (errors up to ~1e-3 at
// n = 64); these rows have no cancellation, and give exactly kⁿ at unit variance.
// neural-tangents' kernel, T = kⁿ and Ṫ = n k^{n−1}, assumes unit-variance inputs
// (q1 = q2 = 1, where every term but j = 0 vanishes and this gives exactly kⁿ); ours is the
// exact expectation for any variance.
#include <cmath>
#include <vector>

#include "activations/catalogue.hpp"
#include "activations/polynomial_expansion.hpp"

namespace ntkit::activations {
namespace {

using F = ActivationField;

// Rows of T's expansion in powers of q − 1: row m = n − 2j is √b_j (q − 1)ʲ.
HermiteExpansion hermite_expansion(int degree) {
  const auto n = static_cast<std::size_t>(degree);
  HermiteExpansion expansion;
  expansion.shift = 1.0;
  expansion.rows.resize(n + 1);
  double b = 1.0;  // b_0 = 1; b_{j+1} = b_j (n − 2j)(n − 2j − 1) / (4 (j + 1)²)
  for (std::size_t j = 0; 2 * j <= n; ++j) {
    if (j > 0) {
      const auto m = static_cast<double>(n - 2 * j);  // n − 2(j − 1) − 2
      const auto jj = static_cast<double>(j);
      b *= (m + 2.0) * (m + 1.0) / (4.0 * jj * jj);
    }
    std::vector<double>& row = expansion.rows[n - 2 * j];
    row.assign(j + 1, 0.0);
    row[j] = std::sqrt(b);
  }
  return expansion;
}

class Hermite final : public ActivationRules {
 public:
  explicit Hermite(const ActivationLayer& l) : degree_(l.degree), expansion_(hermite_expansion(l.degree)) {
    roots_.resize(static_cast<std::size_t>(degree_) + 1);
    for (std::size_t j = 0; j < roots_.size(); ++j) roots_[j] = std::sqrt(static_cast<double>(j));
  }

  double value(double x) const override { return normalized(degree_, x); }
  double derivative(double x) const override {
    return degree_ == 0 ? 0.0 : roots_[static_cast<std::size_t>(degree_)] * normalized(degree_ - 1, x);
  }
  void dual(const double* q1, const double* q2, const double* k, double* t, double* tdot, std::size_t n) const override {
    expansion_dual(expansion_, q1, q2, k, t, tdot, n);
  }

 private:
  // h_m(x) = He_m(x)/√(m!) for m ≤ degree_.
  double normalized(int m, double x) const {
    if (m == 0) return 1.0;
    double previous = 1.0, current = x;
    for (std::size_t j = 1; j < static_cast<std::size_t>(m); ++j) {
      const double next = (x * current - roots_[j] * previous) / roots_[j + 1];
      previous = current;
      current = next;
    }
    return current;
  }

  int degree_;
  std::vector<double> roots_;  // √j for j ≤ degree
  HermiteExpansion expansion_;
};

}  // namespace

const ActivationEntry& hermite_entry() {
  static const ActivationEntry entry{
      {ActivationKind::Hermite, "Hermite", {{"degree", F::Degree, kRequired}}}, nullptr, make_rules_of<Hermite>};
  return entry;
}

}  // namespace ntkit::activations
