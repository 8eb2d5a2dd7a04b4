// Small helpers shared by the C++ tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ntkit/error.hpp"
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

/// Runs `action`, which must throw ntkit::Error, and returns the message (empty, and a test
/// failure, if it did not throw).
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ntkit::Error, but nothing was thrown";
  return "";
}

/// A fresh directory per test, removed afterwards.
class ScratchDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ntkit_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write_raw(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }

  /// Every entry below the directory, hidden ones included, sorted ("sub/" for directories).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      std::string name = std::filesystem::relative(entry.path(), dir_).string();
      if (entry.is_directory()) name += "/";
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::filesystem::path dir_;
};

}  // namespace ntkit::test

/// Expects `statement` to throw ntkit::Error whose message contains `phrase`.
#define EXPECT_ERROR_CONTAINS(statement, phrase)                                                                             \
  do {                                                                                                                       \
    const std::string message_ = ::ntkit::test::error_of([&] { (void)(statement); });                                        \
    EXPECT_NE(message_.find(phrase), std::string::npos) << "message: " << message_ << "\nexpected to contain: " << (phrase); \
  } while (0)
