// The explicit polynomial feature map (docs/mathematics.md §1).
//
// φ_{c,p}: R^d → R^D with ⟨φ(x), φ(y)⟩ = (c + x·y)^p exactly. One coordinate per monomial
// x^α of degree |α| = k <= p, scaled by sqrt(p! / ((p - k)! α_1! ... α_d!) · c^(p - k)),
// which is the multinomial expansion of (c + Σ_i x_i y_i)^p. Coordinates are ordered by
// degree, then lexicographically by the variables' indices (x1, x2, ..., x1², x1x2, ...).
// D = C(d + p, p); with c = 0 only the degree-p monomials are kept, D = C(d + p - 1, p).
// The explicit route exists to show the kernel trick and for small d; use the kernel for
// anything else.
#pragma once

#include <cstddef>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

class PolynomialFeatureMap {
 public:
  /// Throws ntkit::Error if d < 1, p < 1, c < 0 or c not finite, or D > max_features.
  PolynomialFeatureMap(int input_dim, int degree, double c, std::size_t max_features = std::size_t{1} << 24);

  int input_dim() const { return input_dim_; }
  int degree() const { return degree_; }
  double c() const { return c_; }
  /// D, the number of features.
  std::size_t output_dim() const { return output_.size(); }

  /// φ of every row: X (n x d) → Φ (n x D). Throws if X does not have d columns.
  RowMatrixD transform(MatrixView<double> x) const;

  /// The exponent vector α of feature f (length d).
  std::vector<int> exponents(std::size_t feature) const;

 private:
  std::vector<int> exponents_of(std::size_t monomial) const;

  int input_dim_;
  int degree_;
  double c_;
  // Every monomial of degree <= p, in output order. Monomial m = monomial parent_[m] times
  // x[variable_[m]] (the constant has parent -1), which builds a row's monomials with one
  // multiplication each.
  std::vector<long> parent_;
  std::vector<int> variable_;
  // The monomials that are features (all of them, or those of degree p when c = 0) and their
  // scales.
  std::vector<std::size_t> output_;
  std::vector<double> scale_;
};

/// C(d + p, p), the number of monomials of degree <= p in d variables; throws on overflow.
std::size_t polynomial_feature_count(int input_dim, int degree);

}  // namespace ntkit
