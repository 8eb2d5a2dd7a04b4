// The data the demos run on: the shipped diabetes set, split and standardized.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit::cli {

/// data/diabetes.csv relative to the working directory, else in the source tree.
std::string default_data_path();

/// A train/test split with inputs standardized by the training split's mean and standard
/// deviation and targets centred and scaled by the training targets' mean and deviation.
struct Split {
  RowMatrixD x_train, x_test, y_train, y_test;
  double y_mean = 0, y_std = 1;
};

/// Splits `data` (last column = target) into a seeded random test set of `test_size` rows
/// and the rest.
Split split_and_standardize(const RowMatrixD& data, int test_size, std::uint64_t seed);

/// The entries of a matrix as a flat list (for JSON).
std::vector<double> to_vector(const RowMatrixD& m);

}  // namespace ntkit::cli
