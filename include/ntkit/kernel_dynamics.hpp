// Predictions of training from a kernel alone (docs/mathematics.md §4): gradient flow, gradient descent and
// gradient descent with momentum on the squared loss, in function space. The building block of
// predict.hpp (several times at once, infinite ensembles, GP inference).
//
// With the regularized, normalized training kernel K = VΛVᵀ (one eigendecomposition, reused
// for every time) and u = f(X) - Y, every schedule is a function of K:
//   u(t)    = E_t u(0),                      E_t = V diag(d(λ)) Vᵀ
//   f_t(X*) = f_0(X*) + K(X*, X) M_t (Y - f_0(X)),   M_t = K⁻¹(I - E_t) = V diag(g(λ)) Vᵀ
// with, per eigenvalue λ (g(λ) = (1 - d(λ)) / λ, whose λ → 0 limit is finite, so singular
// kernels are fine at finite times):
//   gradient flow              d = e^(-λt)
//   gradient descent, rate η   d = (1 - ηλ)^s                     (t = s steps)
//   with momentum β            heavy ball v ← βv - η∇L, w ← w + v, v(0) = 0: d and g from the
//                              s-th power of a 3 x 3 matrix (see kernel_dynamics.cpp)
//   t = ∞                      d = 0: f_∞(X) = Y, f_∞(X*) = f_0(X*) + K(X*, X) K⁻¹ (Y - f_0(X))
//                              by Cholesky (a clear error when K is singular)
// The test-point formula holds for momentum too: every update of the linearized model lies in
// the span of the training gradients, so f(X*) - f_0(X*) = K(X*, X) W and u - u(0) = K W.
// Eigenvalues below zero from rounding are clipped at 0.
// Loss normalization: 'sum' is L = ½ Σ (f - y)² (the lecture's); 'mean' is
// L = ½ Σ (f - y)² / Y.size (neural-tangents' gradient_descent_mse), which divides K by Y.size.
// diag_reg adds diag_reg · (tr K / n) · I (relative, the default, neural-tangents') or
// diag_reg · I (absolute) to K(X, X) before anything else.
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
  /// 0: gradient flow, times are continuous. > 0: gradient descent with this rate, times count
  /// steps (whole numbers).
  double learning_rate = 0.0;
  /// Heavy-ball momentum β in [0, 1) for gradient descent (needs learning_rate > 0).
  double momentum = 0.0;
};

/// The per-eigenvalue factors of one time (eigenvalues of the normalized kernel, ascending):
/// decay d(λ) and gain g(λ) = (1 - d(λ)) / λ, so that E_t = V diag(d) Vᵀ, M_t = V diag(g) Vᵀ.
struct SpectralFactors {
  VectorD decay, gain;
};

/// d and g of every eigenvalue (of the regularized, normalized kernel, clipped at 0) at a
/// finite `time`: gradient flow (learning_rate 0), gradient descent, or with momentum. Throws
/// for an invalid time and when the outputs diverge (a rate above the stable limit). What
/// KernelDynamics::factors computes; for callers that hold the eigenvalues alone (the
/// distributed predictions of the tool).
SpectralFactors spectral_factors(const VectorD& eigenvalues, double time, double learning_rate, double momentum);

/// t = ∞ exists only where training converges: throws the divergence error (naming the largest
/// stable rate 2 (1 + β) / λ_max) when gradient descent with `learning_rate` > 0 and `momentum`
/// β is unstable for a kernel whose largest eigenvalue is `largest_eigenvalue`. Gradient flow
/// (learning_rate 0) always converges.
void require_stable_at_infinity(double largest_eigenvalue, double learning_rate, double momentum);

class KernelDynamics {
 public:
  /// k_train: K(X, X) (n x n, symmetric); targets: Y (n x o). Throws ntkit::Error for bad
  /// shapes, NaN/Inf, a non-symmetric kernel or invalid options.
  KernelDynamics(MatrixView<double> k_train, MatrixView<double> targets, const DynamicsOptions& options = {});

  /// f(X) at `time` (continuous t for gradient flow, steps for gradient descent; +infinity
  /// allowed), n x o. f0_train: f_0(X) (n x o, or empty for zero).
  RowMatrixD train_at(double time, const RowMatrixD& f0_train = {}) const;
  /// f(X*) at `time`, m x o; k_test_train: K(X*, X) (m x n, un-normalized, as given);
  /// f0_test: f_0(X*) (m x o, or empty for zero).
  RowMatrixD test_at(double time, MatrixView<double> k_test_train, const RowMatrixD& f0_train = {},
                     const RowMatrixD& f0_test = {}) const;

  /// Gradient flow regardless of the learning rate in the options (the two-layer commands).
  RowMatrixD train_at_time(double t, const RowMatrixD& f0_train = {}) const;
  RowMatrixD test_at_time(double t, MatrixView<double> k_test_train, const RowMatrixD& f0_train = {},
                          const RowMatrixD& f0_test = {}) const;
  /// f(X) / f(X*) after `steps` steps of plain gradient descent with learning rate η.
  RowMatrixD train_after_steps(long steps, double learning_rate, const RowMatrixD& f0_train = {}) const;
  RowMatrixD test_after_steps(long steps, double learning_rate, MatrixView<double> k_test_train,
                              const RowMatrixD& f0_train = {}, const RowMatrixD& f0_test = {}) const;

  /// d and g at a finite `time` under the options' schedule. Throws for an invalid time.
  SpectralFactors factors(double time) const;
  /// V diag(w) Vᵀ R for R (n x c): a function of the training kernel applied to R.
  RowMatrixD apply_spectral(const VectorD& w, MatrixView<double> r) const;
  /// K⁻¹ R for the regularized, normalized K by Cholesky; a singular K is a clear error that
  /// suggests diag_reg.
  RowMatrixD solve(MatrixView<double> r) const;

  /// Eigenvalues of the (regularized, normalized) training kernel, ascending.
  const VectorD& eigenvalues() const { return eigenvalues_; }
  /// Their eigenvectors V (n x n, one per column).
  const Eigen::MatrixXd& eigenvectors() const { return vectors_; }
  /// The regularized, normalized training kernel.
  const RowMatrixD& kernel() const { return k_; }
  /// 1 ('sum') or 1 / Y.size ('mean'): the factor applied to every kernel.
  double scale() const { return scale_; }
  const RowMatrixD& targets() const { return targets_; }
  const DynamicsOptions& options() const { return options_; }
  /// The largest stable gradient-descent learning rate, 2 (1 + β) / λ_max (β: momentum).
  double max_stable_learning_rate() const;

 private:
  RowMatrixD initial_outputs(const RowMatrixD& f0, Eigen::Index rows, const char* what) const;
  SpectralFactors factors_for(double time, double learning_rate, double momentum) const;
  RowMatrixD train_with(double time, double learning_rate, double momentum, const RowMatrixD& f0_train) const;
  RowMatrixD test_with(double time, double learning_rate, double momentum, MatrixView<double> k_test_train,
                       const RowMatrixD& f0_train, const RowMatrixD& f0_test) const;

  DynamicsOptions options_;
  RowMatrixD k_;  // regularized, normalized K(X, X)
  RowMatrixD targets_;
  Eigen::MatrixXd vectors_;  // V, column-major (from LAPACK)
  VectorD eigenvalues_;      // Λ, clipped at 0
  double scale_ = 1.0;       // 1 or 1 / Y.size: the factor applied to every kernel
};

}  // namespace ntkit
