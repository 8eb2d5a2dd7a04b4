#include "ntkit/kernel_dynamics.hpp"

#include <lapacke.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "ntkit/error.hpp"
#include "ntkit/kernel_ridge.hpp"

namespace ntkit {
namespace {

std::string shape(Eigen::Index r, Eigen::Index c) { return std::to_string(r) + " x " + std::to_string(c); }

// (1 - e^(-λt)) / λ without cancellation, and its λ → 0 limit t.
double flow_gain(double lambda, double t) {
  if (lambda <= 0) return t;
  return -std::expm1(-lambda * t) / lambda;
}

// (1 - ηλ)^s: through log1p for 0 <= ηλ < 1, so tiny ηλ keeps its digits; pow otherwise
// (the base is negative or zero there).
double descent_decay(double lambda, double lr, long steps) {
  const double x = lr * lambda, s = static_cast<double>(steps);
  if (x < 1.0) return std::exp(s * std::log1p(-x));
  return std::pow(1.0 - x, s);
}

// (1 - (1 - ηλ)^s) / λ without cancellation, and its λ → 0 limit ηs.
double descent_gain(double lambda, double lr, long steps) {
  if (lambda <= 0) return lr * static_cast<double>(steps);
  const double x = lr * lambda;
  if (x < 1.0) return -std::expm1(static_cast<double>(steps) * std::log1p(-x)) / lambda;
  return (1.0 - descent_decay(lambda, lr, steps)) / lambda;
}

// Gradient descent with η above 2 / λ_max diverges; say so instead of returning Inf/NaN.
void require_finite_result(const RowMatrixD& out, double lr, long steps, double max_stable) {
  if (out.allFinite()) return;
  std::ostringstream msg;
  msg << "KernelDynamics: gradient descent with learning rate " << lr << " diverges within " << steps
      << " steps (the largest stable rate is 2 / lambda_max = " << max_stable
      << "); use a smaller learning rate";
  throw Error(msg.str());
}

}  // namespace

LossNormalization parse_loss_normalization(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (n == "sum") return LossNormalization::Sum;
  if (n == "mean") return LossNormalization::Mean;
  throw Error("unknown loss normalization '" + std::string(name) + "'; choose sum or mean");
}

KernelDynamics::KernelDynamics(MatrixView<double> k_train, MatrixView<double> targets,
                               const DynamicsOptions& options)
    : k_(k_train), targets_(targets) {
  const Eigen::Index n = k_.rows();
  const char* who = "KernelDynamics";
  std::ostringstream msg;
  if (k_.cols() != n || n == 0) {
    msg << who << ": the training kernel must be square and non-empty, got " << shape(k_.rows(), k_.cols());
  } else if (targets_.rows() != n || targets_.cols() == 0) {
    msg << who << ": kernel is " << shape(n, n) << " but targets are " << shape(targets_.rows(), targets_.cols())
        << "; need one target row per training point";
  } else if (!k_.allFinite()) {
    msg << who << ": the training kernel contains NaN or Inf";
  } else if (!targets_.allFinite()) {
    msg << who << ": targets contain NaN or Inf";
  } else if ((k_ - k_.transpose()).cwiseAbs().maxCoeff() > 1e-10 * k_.cwiseAbs().maxCoeff()) {
    msg << who << ": the training kernel K(X, X) is not symmetric (largest |K - Kᵀ| is "
        << (k_ - k_.transpose()).cwiseAbs().maxCoeff() << "); pass K(X, X), not a cross kernel";
  } else if (!(options.diag_reg >= 0) || !std::isfinite(options.diag_reg)) {
    msg << who << ": diag_reg must be a finite number >= 0, got " << options.diag_reg;
  }
  if (!msg.str().empty()) throw Error(msg.str());

  if (options.diag_reg > 0) {
    const double add = options.diag_reg_absolute ? options.diag_reg : options.diag_reg * k_.trace() / static_cast<double>(n);
    k_.diagonal().array() += add;
  }
  if (options.normalization == LossNormalization::Mean) scale_ = 1.0 / static_cast<double>(targets_.size());
  k_ *= scale_;

  // Symmetric eigendecomposition by LAPACK (divide and conquer). K is symmetric, so its
  // row-major storage is its column-major storage.
  vectors_ = Eigen::Map<const Eigen::MatrixXd>(k_.data(), n, n);
  eigenvalues_.resize(n);
  const auto ni = static_cast<lapack_int>(n);
  const lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', ni, vectors_.data(), ni, eigenvalues_.data());
  if (info != 0) throw Error(std::string(who) + ": LAPACK dsyevd failed to converge (info " + std::to_string(info) + ")");
  eigenvalues_ = eigenvalues_.cwiseMax(0.0);  // rounding can make tiny eigenvalues negative
}

double KernelDynamics::max_stable_learning_rate() const {
  const double top = eigenvalues_.maxCoeff();
  return top > 0 ? 2.0 / top : std::numeric_limits<double>::infinity();
}

RowMatrixD KernelDynamics::initial_outputs(const RowMatrixD& f0, Eigen::Index rows, const char* what) const {
  if (f0.size() == 0) return RowMatrixD::Zero(rows, targets_.cols());
  if (f0.rows() != rows || f0.cols() != targets_.cols()) {
    throw Error(std::string("KernelDynamics: ") + what + " is " + shape(f0.rows(), f0.cols()) + ", expected " +
                shape(rows, targets_.cols()));
  }
  return f0;
}

RowMatrixD KernelDynamics::spectral_train(const RowMatrixD& f0_train, const VectorD& decay) const {
  const RowMatrixD f0 = initial_outputs(f0_train, targets_.rows(), "f0_train");
  const Eigen::MatrixXd coeff = vectors_.transpose() * Eigen::MatrixXd(f0 - targets_);
  return targets_ + RowMatrixD(vectors_ * (decay.asDiagonal() * coeff));
}

RowMatrixD KernelDynamics::spectral_test(MatrixView<double> k_test_train, const RowMatrixD& f0_train,
                                         const RowMatrixD& f0_test, const VectorD& gain) const {
  if (k_test_train.cols() != targets_.rows()) {
    throw Error("KernelDynamics: K(X*, X) has " + std::to_string(k_test_train.cols()) +
                " columns, expected one per training point (" + std::to_string(targets_.rows()) + ")");
  }
  if (!k_test_train.allFinite()) throw Error("KernelDynamics: K(X*, X) contains NaN or Inf");
  const RowMatrixD f0 = initial_outputs(f0_train, targets_.rows(), "f0_train");
  const RowMatrixD f0s = initial_outputs(f0_test, k_test_train.rows(), "f0_test");
  const Eigen::MatrixXd coeff = gain.asDiagonal() * (vectors_.transpose() * Eigen::MatrixXd(targets_ - f0));
  return f0s + scale_ * RowMatrixD(k_test_train * (vectors_ * coeff));
}

RowMatrixD KernelDynamics::train_at_time(double t, const RowMatrixD& f0_train) const {
  if (!(t >= 0)) throw Error("KernelDynamics: time must be >= 0 (or inf), got " + std::to_string(t));
  if (std::isinf(t)) {
    (void)initial_outputs(f0_train, targets_.rows(), "f0_train");
    return targets_;  // the flow interpolates the training targets
  }
  const VectorD decay = (-eigenvalues_.array() * t).exp();
  return spectral_train(f0_train, decay);
}

RowMatrixD KernelDynamics::test_at_time(double t, MatrixView<double> k_test_train, const RowMatrixD& f0_train,
                                        const RowMatrixD& f0_test) const {
  if (!(t >= 0)) throw Error("KernelDynamics: time must be >= 0 (or inf), got " + std::to_string(t));
  if (std::isinf(t)) {
    // Kernel regression: solve K α = Y - f0 by Cholesky, which says clearly when K is singular.
    const RowMatrixD f0 = initial_outputs(f0_train, targets_.rows(), "f0_train");
    const RowMatrixD f0s = initial_outputs(f0_test, k_test_train.rows(), "f0_test");
    KernelRidge solver;
    try {
      solver.fit(k_, targets_ - f0, 0.0);
    } catch (const Error&) {
      throw Error("KernelDynamics: t = inf needs a positive definite training kernel, and this one is "
                  "singular (e.g. duplicated inputs); use diag_reg > 0 (e.g. --diag-reg 1e-6) or a finite time");
    }
    return f0s + scale_ * solver.predict(k_test_train);
  }
  VectorD gain(eigenvalues_.size());
  for (Eigen::Index i = 0; i < gain.size(); ++i) gain[i] = flow_gain(eigenvalues_[i], t);
  return spectral_test(k_test_train, f0_train, f0_test, gain);
}

RowMatrixD KernelDynamics::train_after_steps(long steps, double learning_rate, const RowMatrixD& f0_train) const {
  if (steps < 0) throw Error("KernelDynamics: steps must be >= 0");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw Error("KernelDynamics: learning rate must be a finite number > 0");
  VectorD decay(eigenvalues_.size());
  for (Eigen::Index i = 0; i < decay.size(); ++i) decay[i] = descent_decay(eigenvalues_[i], learning_rate, steps);
  RowMatrixD out = spectral_train(f0_train, decay);
  require_finite_result(out, learning_rate, steps, max_stable_learning_rate());
  return out;
}

RowMatrixD KernelDynamics::test_after_steps(long steps, double learning_rate, MatrixView<double> k_test_train,
                                            const RowMatrixD& f0_train, const RowMatrixD& f0_test) const {
  if (steps < 0) throw Error("KernelDynamics: steps must be >= 0");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw Error("KernelDynamics: learning rate must be a finite number > 0");
  VectorD gain(eigenvalues_.size());
  for (Eigen::Index i = 0; i < gain.size(); ++i) gain[i] = descent_gain(eigenvalues_[i], learning_rate, steps);
  RowMatrixD out = spectral_test(k_test_train, f0_train, f0_test, gain);
  require_finite_result(out, learning_rate, steps, max_stable_learning_rate());
  return out;
}

}  // namespace ntkit
