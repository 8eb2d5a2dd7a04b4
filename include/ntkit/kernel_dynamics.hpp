// Predictions of training from a kernel alone (SPEC §4): gradient flow and gradient descent
// on the squared loss, in function space.
//
// With the regularized, normalized training kernel K = VΛVᵀ (one eigendecomposition, reused
// for every time) and u = f(X) - Y:
//   gradient flow    u(t) = e^(-Kt) u(0)
//                    f_t(X*) = f_0(X*) + K(X*, X) K⁻¹ (I - e^(-Kt)) (Y - f_0(X))
//   gradient descent u(s) = (I - ηK)^s u(0)                         (s steps of rate η)
//                    f_s(X*) = f_0(X*) + K(X*, X) K⁻¹ (I - (I - ηK)^s) (Y - f_0(X))
//   t = ∞            f_∞(X*) = f_0(X*) + K(X*, X) K⁻¹ (Y - f_0(X))  (Cholesky), f_∞(X) = Y
// K⁻¹(I - e^(-Kt)) is applied through the eigenvalues as (1 - e^(-λt))/λ, whose λ → 0 limit is
// t, so singular kernels are fine at finite t. Eigenvalues below zero from rounding are
// clipped at 0.
// Loss normalization: 'sum' is L = ½ Σ (f - y)² (the lecture's); 'mean' is
// L = ½ Σ (f - y)² / Y.size (neural-tangents' gradient_descent_mse), which divides K by Y.size.
// diag_reg adds diag_reg · (tr K / n) · I (relative, the default) or diag_reg · I (absolute)
// to K(X, X) before anything else.
#pragma once

#include <string_view>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

enum class LossNormalization { Sum, Mean };
LossNormalization parse_loss_normalization(std::string_view name);  // "sum" | "mean"

struct DynamicsOptions {
  LossNormalization normalization = LossNormalization::Sum;
  double diag_reg = 0.0;
  bool diag_reg_absolute = false;
};

class KernelDynamics {
 public:
  /// k_train: K(X, X) (n x n, symmetric); targets: Y (n x o).
  KernelDynamics(MatrixView<double> k_train, MatrixView<double> targets, const DynamicsOptions& options = {});

  /// f_t(X) under gradient flow, n x o; t >= 0 or +infinity. f0_train: f_0(X) (n x o, or
  /// empty for zero).
  RowMatrixD train_at_time(double t, const RowMatrixD& f0_train = {}) const;
  /// f_t(X*) under gradient flow, m x o; k_test_train: K(X*, X) (m x n); f0_test: f_0(X*).
  RowMatrixD test_at_time(double t, MatrixView<double> k_test_train, const RowMatrixD& f0_train = {},
                          const RowMatrixD& f0_test = {}) const;

  /// f(X) after `steps` steps of gradient descent with learning rate η.
  RowMatrixD train_after_steps(long steps, double learning_rate, const RowMatrixD& f0_train = {}) const;
  /// f(X*) after `steps` steps of gradient descent with learning rate η.
  RowMatrixD test_after_steps(long steps, double learning_rate, MatrixView<double> k_test_train,
                              const RowMatrixD& f0_train = {}, const RowMatrixD& f0_test = {}) const;

  /// Eigenvalues of the (regularized, normalized) training kernel, ascending.
  const VectorD& eigenvalues() const { return eigenvalues_; }
  /// The largest stable gradient-descent learning rate, 2 / λ_max.
  double max_stable_learning_rate() const;

 private:
  // f(X) = Y + V diag(decay) Vᵀ (f0(X) - Y), decay(λ) = e^(-λt) or (1 - ηλ)^s.
  RowMatrixD spectral_train(const RowMatrixD& f0_train, const VectorD& decay) const;
  // f(X*) = f0(X*) + scale · K(X*, X) V diag(gain) Vᵀ (Y - f0(X)), gain(λ) = (1 - decay(λ)) / λ.
  RowMatrixD spectral_test(MatrixView<double> k_test_train, const RowMatrixD& f0_train,
                           const RowMatrixD& f0_test, const VectorD& gain) const;
  RowMatrixD initial_outputs(const RowMatrixD& f0, Eigen::Index rows, const char* what) const;

  RowMatrixD k_;           // regularized, normalized K(X, X)
  RowMatrixD targets_;
  Eigen::MatrixXd vectors_;  // V, column-major (from LAPACK)
  VectorD eigenvalues_;    // Λ, clipped at 0
  double scale_ = 1.0;     // 1 or 1 / Y.size: the factor applied to every kernel
};

}  // namespace ntkit
