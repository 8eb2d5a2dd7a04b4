// A linear model in feature space and the same model in the dual (docs/mathematics.md §1).
//
// Primal: f(x) = wᵀφ(x), trained by gradient descent on L(w) = ½ Σ_j ‖f(x_j) - y_j‖²:
//   w ← w - η Φᵀ(Φw - Y).
// Dual: write w = w0 + Φᵀα. Then f(x) = f0(x) + k(x, X) α with f0(x) = w0ᵀφ(x), and the same
// step is α ← α - η (f(X) - Y), which needs only the kernel matrix K = ΦΦᵀ. Started from
// α = 0, the two give the same predictions at every step (up to rounding): the kernel trick
// applied to training.
// Targets and outputs are matrices with one column per output (n x o).
#pragma once

#include "ntkit/types.hpp"

namespace ntkit {

class FeatureSpaceRegression {
 public:
  /// features: Φ (n x D); targets: Y (n x o). Weights start at w0 (D x o), zero if empty.
  FeatureSpaceRegression(RowMatrixD features, RowMatrixD targets, RowMatrixD initial_weights = {});

  /// One full-batch gradient-descent step with learning rate η > 0.
  void step(double learning_rate);
  /// Outputs Φ* w for features Φ* (m x D) → m x o.
  RowMatrixD predict(MatrixView<double> features) const;
  /// Outputs on the training points, n x o.
  RowMatrixD train_outputs() const;
  /// ½ Σ ‖f(x_j) - y_j‖².
  double loss() const;
  const RowMatrixD& weights() const { return weights_; }

 private:
  RowMatrixD features_, targets_, weights_;
};

class DualKernelRegression {
 public:
  /// kernel: K(X, X) (n x n); targets: Y (n x o); initial_train_outputs: f0(X) (n x o), zero if
  /// empty. Coefficients α (n x o) start at 0.
  DualKernelRegression(RowMatrixD kernel, RowMatrixD targets, RowMatrixD initial_train_outputs = {});

  /// One full-batch gradient-descent step: α ← α - η (f(X) - Y).
  void step(double learning_rate);
  /// Outputs f0(X*) + K(X*, X) α for the cross kernel K(X*, X) (m x n) → m x o;
  /// initial_outputs f0(X*) is m x o, or empty for zero.
  RowMatrixD predict(MatrixView<double> cross_kernel, const RowMatrixD& initial_outputs = {}) const;
  RowMatrixD train_outputs() const;
  double loss() const;
  const RowMatrixD& coefficients() const { return coefficients_; }

 private:
  RowMatrixD kernel_, targets_, initial_train_outputs_, coefficients_;
};

}  // namespace ntkit
