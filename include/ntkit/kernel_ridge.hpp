// Kernel ridge regression by Cholesky (LAPACK).
//
// fit:     (K + λI) α = Y         K = K(X, X) (n x n), Y (n x o)
// predict: f(X*) = K(X*, X) α
// λ = 0 is kernel interpolation (the t = ∞ limit of kernel gradient flow); it needs K
// positive definite. A matrix that is not gets a clear error suggesting λ > 0.
#pragma once

#include <cstdint>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

class KernelRidge {
 public:
  /// Throws ntkit::Error for shape mismatches, λ < 0, non-finite input, or K + λI not
  /// positive definite.
  void fit(MatrixView<double> kernel, MatrixView<double> targets, double lambda);
  /// K(X*, X) (m x n) → m x o. Throws if not fitted or the shape is wrong.
  RowMatrixD predict(MatrixView<double> cross_kernel) const;
  /// α, n x o.
  const RowMatrixD& dual_coef() const { return alpha_; }
  bool fitted() const { return alpha_.size() != 0; }

 private:
  RowMatrixD alpha_;
};

struct RidgeSelection {
  double lambda = 0;                       // the λ with the smallest mean validation error
  std::vector<double> lambdas;             // the candidates, as given
  std::vector<double> mean_squared_error;  // mean over folds of the validation MSE per λ
};

/// Chooses λ among `lambdas` by k-fold cross-validation on the precomputed K(X, X) and Y.
/// Folds come from a shuffle seeded by `seed`. Candidates for which K + λI is not positive
/// definite on some fold get an infinite error; if all fail, throws.
RidgeSelection select_ridge_lambda(MatrixView<double> kernel, MatrixView<double> targets, const std::vector<double>& lambdas,
                                   int folds, std::uint64_t seed);

}  // namespace ntkit
