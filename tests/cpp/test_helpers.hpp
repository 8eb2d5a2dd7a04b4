// Small helpers shared by the C++ tests.
#pragma once

#include <cstdint>
#include <random>

#include "ntkit/types.hpp"

namespace ntkit::test {

/// n x d matrix of independent N(0, scale²) entries from a fixed seed.
inline RowMatrixD gaussian_matrix(Eigen::Index n, Eigen::Index d, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  RowMatrixD x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  return x;
}

/// max |a - b| / max(max |b|, tiny).
inline double max_relative_error(const RowMatrixD& a, const RowMatrixD& b) {
  const double scale = std::max(b.cwiseAbs().maxCoeff(), 1e-300);
  return (a - b).cwiseAbs().maxCoeff() / scale;
}

}  // namespace ntkit::test
