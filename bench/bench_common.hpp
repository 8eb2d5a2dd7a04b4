// Helpers shared by the benchmark programs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit::bench {

/// The median of a sample (the upper one for an even count); ratios are of medians.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// rows x cols of independent N(0, scale²) entries from a fixed seed.
inline RowMatrixD random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  RowMatrixD x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = scale * normal(rng);
  return x;
}

}  // namespace ntkit::bench
