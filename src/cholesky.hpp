// One Cholesky factorization of a symmetric positive definite kernel matrix plus a shift,
// K + shift·I, reused to solve for many right-hand sides (private). Kernel ridge regression
// (kernel_ridge.cpp) and GP inference (predict.cpp) both solve through it.
#pragma once

#include <string>

#include "ntkit/types.hpp"

namespace ntkit::detail {

class Cholesky {
 public:
  /// Factors K + shift·I (K: n x n, symmetric; only its lower triangle is read). If that is
  /// not positive definite (a singular kernel, e.g. from duplicated inputs, and too small a
  /// shift) throws ntkit::Error "<who>: <what> is not positive definite (...); <fix>", so the
  /// message names the caller, the matrix and the caller's own remedy.
  Cholesky(MatrixView<double> k, double shift, const std::string& who, const std::string& what, const std::string& fix);

  /// (K + shift·I)⁻¹ R for R with n rows (any number of columns).
  RowMatrixD solve(MatrixView<double> r) const;

  Eigen::Index size() const { return l_.rows(); }

 private:
  RowMatrixD l_;  // the lower factor L, K + shift·I = L Lᵀ (row-major)
};

}  // namespace ntkit::detail
