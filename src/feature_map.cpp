#include "ntkit/feature_map.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "ntkit/error.hpp"

namespace ntkit {
namespace {

double log_factorial(int n) { return std::lgamma(static_cast<double>(n) + 1.0); }

}  // namespace

std::size_t polynomial_feature_count(int input_dim, int degree) {
  if (input_dim < 1 || degree < 0) throw Error("polynomial_feature_count: need d >= 1, p >= 0");
  // C(d + p, p) = Π_{k=1..p} (d + k) / k; every partial product is itself a binomial, so the
  // integer division is exact.
  unsigned long long count = 1;
  for (int k = 1; k <= degree; ++k) {
    const auto numerator = static_cast<unsigned long long>(input_dim + k);
    if (count > std::numeric_limits<unsigned long long>::max() / numerator)
      throw Error("polynomial_feature_count: C(d + p, p) overflows; use the kernel instead");
    count = count * numerator / static_cast<unsigned long long>(k);
  }
  return static_cast<std::size_t>(count);
}

PolynomialFeatureMap::PolynomialFeatureMap(int input_dim, int degree, double c, std::size_t max_features)
    : input_dim_(input_dim), degree_(degree), c_(c) {
  std::ostringstream msg;
  if (input_dim < 1) {
    msg << "polynomial feature map: input dimension must be >= 1, got " << input_dim;
  } else if (degree < 1 || degree > 64) {
    msg << "polynomial feature map: degree must be in [1, 64], got " << degree;
  } else if (!(c >= 0) || !std::isfinite(c)) {
    msg << "polynomial feature map: c must be finite and >= 0 (features are scaled by "
           "sqrt(c^(p-k))), got "
        << c << "; use the polynomial kernel for c < 0";
  }
  if (!msg.str().empty()) throw Error(msg.str());
  const std::size_t total = polynomial_feature_count(input_dim, degree);
  if (total > max_features) {
    msg << "polynomial feature map: d = " << input_dim << ", p = " << degree << " gives " << total
        << " features (more than the limit " << max_features << "); use the polynomial kernel instead of the explicit map";
    throw Error(msg.str());
  }

  // Enumerate monomials degree by degree. A monomial is a nondecreasing sequence of variable
  // indices; its children append a variable >= its last one, so each appears exactly once and
  // the order within a degree is lexicographic.
  parent_.reserve(total);
  variable_.reserve(total);
  parent_.push_back(-1);
  variable_.push_back(-1);
  std::vector<int> degree_of{0};
  std::size_t level_begin = 0, level_end = 1;
  for (int k = 1; k <= degree; ++k) {
    for (std::size_t m = level_begin; m < level_end; ++m) {
      for (int v = std::max(variable_[m], 0); v < input_dim; ++v) {
        parent_.push_back(static_cast<long>(m));
        variable_.push_back(v);
        degree_of.push_back(k);
      }
    }
    level_begin = level_end;
    level_end = parent_.size();
  }

  // scale² = p! / ((p - k)! Π α_i!) · c^(p - k): the multinomial coefficient of the term
  // c^(p-k) Π (x_i y_i)^α_i in (c + x·y)^p. With c = 0 only degree-p terms are nonzero.
  for (std::size_t m = 0; m < parent_.size(); ++m) {
    const int k = degree_of[m];
    if (c == 0 && k != degree) continue;
    double log_coef = log_factorial(degree) - log_factorial(degree - k);
    for (int a : exponents_of(m)) log_coef -= log_factorial(a);
    // The coefficient is an integer; round it to cancel lgamma's rounding (exact below 2^53).
    double coef = std::exp(log_coef);
    if (coef < 9.0e15) coef = std::round(coef);
    output_.push_back(m);
    scale_.push_back(std::sqrt(coef * std::pow(c, degree - k)));
  }
}

std::vector<int> PolynomialFeatureMap::exponents_of(std::size_t monomial) const {
  std::vector<int> alpha(static_cast<std::size_t>(input_dim_), 0);
  for (long m = static_cast<long>(monomial); m > 0; m = parent_[static_cast<std::size_t>(m)])
    ++alpha[static_cast<std::size_t>(variable_[static_cast<std::size_t>(m)])];
  return alpha;
}

std::vector<int> PolynomialFeatureMap::exponents(std::size_t feature) const {
  if (feature >= output_.size()) throw Error("PolynomialFeatureMap::exponents: feature index out of range");
  return exponents_of(output_[feature]);
}

RowMatrixD PolynomialFeatureMap::transform(MatrixView<double> x) const {
  if (x.cols() != input_dim_) {
    std::ostringstream msg;
    msg << "polynomial feature map: x has " << x.cols() << " columns but the map was built for d = " << input_dim_;
    throw Error(msg.str());
  }
  const Eigen::Index n = x.rows();
  const auto monomials = static_cast<Eigen::Index>(parent_.size());
  const auto features = static_cast<Eigen::Index>(output_.size());
  RowMatrixD phi(n, features);
  // One row of monomial values per thread, allocated here: an allocation inside the parallel
  // region could throw there, and an exception may not leave an OpenMP region.
  const bool parallel = n * monomials > 65536;
  RowMatrixD scratch(parallel ? omp_get_max_threads() : 1, monomials);
#pragma omp parallel if (parallel)
  {
    double* value = scratch.row(omp_get_thread_num()).data();
#pragma omp for schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
      value[0] = 1.0;
      for (Eigen::Index m = 1; m < monomials; ++m) value[m] = value[parent_[m]] * x(i, variable_[m]);
      for (Eigen::Index f = 0; f < features; ++f) phi(i, f) = scale_[f] * value[output_[f]];
    }
  }
  return phi;
}

}  // namespace ntkit
