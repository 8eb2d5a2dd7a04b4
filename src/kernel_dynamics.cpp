#include "ntkit/kernel_dynamics.hpp"

#include "blas_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "ntkit/error.hpp"
#include "blas.hpp"
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

// Heavy-ball momentum, per eigenvalue λ. With v(0) = 0, write the train residual component
// as a_s = 1 - λ g_s and the velocity as -λ p_s (a(0) = 1); then
//   p' = β p - ηλ g + η,   g' = g + p' = (1 - ηλ) g + β p + η,
// an affine map of (g, p) with no cancellation as λ → 0. Its s-th power by repeated squaring
// gives g_s = B^s[0][2] and the decay d_s = a_s = B^s[0][0] (the top-left 2 x 2 block is the
// linear map of (a, velocity)).
using Mat3 = std::array<double, 9>;

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k)
        c[static_cast<std::size_t>(3 * i + j)] += a[static_cast<std::size_t>(3 * i + k)] *
                                                  b[static_cast<std::size_t>(3 * k + j)];
  return c;
}

void momentum_factors(double lambda, double lr, double beta, std::uint64_t steps, double& decay, double& gain) {
  Mat3 power{1, 0, 0, 0, 1, 0, 0, 0, 1};
  Mat3 base{1 - lr * lambda, beta, lr, -lr * lambda, beta, lr, 0, 0, 1};
  for (std::uint64_t s = steps; s != 0; s >>= 1) {
    if (s & 1U) power = multiply(power, base);
    if (s > 1) base = multiply(base, base);
  }
  decay = power[0];
  gain = power[2];
}

// Gradient descent with η above the stable limit diverges; say so instead of returning Inf/NaN.
[[noreturn]] void throw_divergence(double lr, double time, double max_stable) {
  std::ostringstream msg;
  msg << "KernelDynamics: gradient descent with learning rate " << lr << " diverges";
  if (std::isfinite(time)) msg << " within " << time << " steps";
  msg << " (the largest stable rate is 2 (1 + momentum) / lambda_max = " << max_stable << "); use a smaller learning rate";
  throw Error(msg.str());
}

void check_time(double time, double lr) {
  if (!(time >= 0)) {
    std::ostringstream msg;
    msg << "KernelDynamics: time must be >= 0 (or inf), got " << time;
    throw Error(msg.str());
  }
  // 2^53: beyond it doubles are not all whole numbers, and (1 - ηλ)^s is 0 or diverged anyway.
  if (lr > 0 && std::isfinite(time) && (time != std::floor(time) || time > 9007199254740992.0)) {
    std::ostringstream msg;
    msg << "KernelDynamics: with a learning rate, times count gradient-descent steps and must be whole "
           "numbers <= 2^53, got "
        << time;
    throw Error(msg.str());
  }
}

}  // namespace

LossNormalization parse_loss_normalization(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (n == "sum") return LossNormalization::Sum;
  if (n == "mean") return LossNormalization::Mean;
  throw Error("unknown loss normalization '" + std::string(name) + "'; choose sum or mean");
}

KernelDynamics::KernelDynamics(MatrixView<double> k_train, MatrixView<double> targets, const DynamicsOptions& options)
    : options_(options), k_(k_train), targets_(targets) {
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
  } else if (!(options.learning_rate >= 0) || !std::isfinite(options.learning_rate)) {
    msg << who << ": learning rate must be a finite number > 0 (or 0 for gradient flow), got " << options.learning_rate;
  } else if (!(options.momentum >= 0 && options.momentum < 1)) {
    msg << who << ": momentum must be in [0, 1), got " << options.momentum;
  } else if (options.momentum > 0 && options.learning_rate == 0) {
    msg << who << ": momentum needs gradient descent; give a learning rate > 0";
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
  return top > 0 ? 2.0 * (1.0 + options_.momentum) / top : std::numeric_limits<double>::infinity();
}

RowMatrixD KernelDynamics::initial_outputs(const RowMatrixD& f0, Eigen::Index rows, const char* what) const {
  if (f0.size() == 0) return RowMatrixD::Zero(rows, targets_.cols());
  if (f0.rows() != rows || f0.cols() != targets_.cols()) {
    throw Error(std::string("KernelDynamics: ") + what + " is " + shape(f0.rows(), f0.cols()) + ", expected " +
                shape(rows, targets_.cols()));
  }
  if (!f0.allFinite()) throw Error(std::string("KernelDynamics: ") + what + " contains NaN or Inf");
  return f0;
}

void require_stable_at_infinity(double largest_eigenvalue, double learning_rate, double momentum) {
  if (learning_rate > 0 && learning_rate >= 2.0 * (1.0 + momentum) / largest_eigenvalue)
    throw_divergence(learning_rate, std::numeric_limits<double>::infinity(), 2.0 * (1.0 + momentum) / largest_eigenvalue);
}

SpectralFactors spectral_factors(const VectorD& eigenvalues, double time, double lr, double beta) {
  check_time(time, lr);
  if (!std::isfinite(time)) throw Error("KernelDynamics: factors need a finite time; t = inf is a solve");
  const Eigen::Index n = eigenvalues.size();
  SpectralFactors f{VectorD(n), VectorD(n)};
  for (Eigen::Index i = 0; i < n; ++i) {
    const double lambda = eigenvalues[i];
    if (lr == 0) {
      f.decay[i] = std::exp(-lambda * time);
      f.gain[i] = flow_gain(lambda, time);
    } else if (beta == 0) {
      const auto steps = static_cast<long>(time);
      f.decay[i] = descent_decay(lambda, lr, steps);
      f.gain[i] = descent_gain(lambda, lr, steps);
    } else {
      momentum_factors(lambda, lr, beta, static_cast<std::uint64_t>(time), f.decay[i], f.gain[i]);
    }
  }
  if (!f.decay.allFinite() || !f.gain.allFinite()) throw_divergence(lr, time, 2.0 * (1.0 + beta) / eigenvalues.maxCoeff());
  return f;
}

SpectralFactors KernelDynamics::factors_for(double time, double lr, double beta) const {
  return spectral_factors(eigenvalues_, time, lr, beta);
}

SpectralFactors KernelDynamics::factors(double time) const {
  return factors_for(time, options_.learning_rate, options_.momentum);
}

RowMatrixD KernelDynamics::apply_spectral(const VectorD& w, MatrixView<double> r) const {
  if (r.rows() != vectors_.rows() || w.size() != vectors_.cols())
    throw Error("KernelDynamics: apply_spectral needs " + std::to_string(vectors_.rows()) + " rows, got " +
                std::to_string(r.rows()));
  // V diag(w) Vᵀ R in two threaded BLAS products (R has up to n columns: an ensemble's n x n
  // training covariance is 4 n³ flops per time). V's column-major storage is Vᵀ row-major.
  const Eigen::Index n = vectors_.rows(), k = r.cols();
  if (k == 0) return RowMatrixD(n, 0);
  RowMatrixD coeff(n, k), out(n, k);
  detail::gemm_rowmajor<double>(false, false, n, k, n, 1.0, vectors_.data(), n, r.data(), r.outerStride(), 0.0, coeff.data(),
                                k);
  coeff = w.asDiagonal() * coeff;
  detail::gemm_rowmajor<double>(true, false, n, k, n, 1.0, vectors_.data(), n, coeff.data(), k, 0.0, out.data(), k);
  return out;
}

RowMatrixD KernelDynamics::solve(MatrixView<double> r) const {
  KernelRidge solver;
  try {
    solver.fit(k_, r, 0.0);
  } catch (const Error&) {
    throw Error(
        "KernelDynamics: t = inf needs a positive definite training kernel, and this one is "
        "singular (e.g. duplicated inputs); use diag_reg > 0 (e.g. --diag-reg 1e-6) or a finite time");
  }
  return solver.dual_coef();
}

RowMatrixD KernelDynamics::train_with(double time, double lr, double beta, const RowMatrixD& f0_train) const {
  check_time(time, lr);
  const RowMatrixD f0 = initial_outputs(f0_train, targets_.rows(), "f0_train");
  if (std::isinf(time)) {
    // The limit exists only for a stable rate; then training interpolates the targets.
    require_stable_at_infinity(eigenvalues_.maxCoeff(), lr, beta);
    return targets_;
  }
  const SpectralFactors f = factors_for(time, lr, beta);
  RowMatrixD out = targets_ + apply_spectral(f.decay, f0 - targets_);
  if (!out.allFinite()) throw_divergence(lr, time, 2.0 * (1.0 + beta) / eigenvalues_.maxCoeff());
  return out;
}

RowMatrixD KernelDynamics::test_with(double time, double lr, double beta, MatrixView<double> k_test_train,
                                     const RowMatrixD& f0_train, const RowMatrixD& f0_test) const {
  check_time(time, lr);
  if (k_test_train.cols() != targets_.rows()) {
    throw Error("KernelDynamics: K(X*, X) has " + std::to_string(k_test_train.cols()) +
                " columns, expected one per training point (" + std::to_string(targets_.rows()) + ")");
  }
  if (!k_test_train.allFinite()) throw Error("KernelDynamics: K(X*, X) contains NaN or Inf");
  const RowMatrixD f0 = initial_outputs(f0_train, targets_.rows(), "f0_train");
  const RowMatrixD f0s = initial_outputs(f0_test, k_test_train.rows(), "f0_test");
  RowMatrixD moved;  // M_t (Y - f0) in the normalized kernel's units
  if (std::isinf(time)) {
    require_stable_at_infinity(eigenvalues_.maxCoeff(), lr, beta);
    moved = solve(targets_ - f0);  // kernel regression
  } else {
    moved = apply_spectral(factors_for(time, lr, beta).gain, targets_ - f0);
  }
  RowMatrixD out = f0s + scale_ * RowMatrixD(k_test_train * moved);
  if (!out.allFinite()) throw_divergence(lr, time, 2.0 * (1.0 + beta) / eigenvalues_.maxCoeff());
  return out;
}

RowMatrixD KernelDynamics::train_at(double time, const RowMatrixD& f0_train) const {
  return train_with(time, options_.learning_rate, options_.momentum, f0_train);
}

RowMatrixD KernelDynamics::test_at(double time, MatrixView<double> k_test_train, const RowMatrixD& f0_train,
                                   const RowMatrixD& f0_test) const {
  return test_with(time, options_.learning_rate, options_.momentum, k_test_train, f0_train, f0_test);
}

RowMatrixD KernelDynamics::train_at_time(double t, const RowMatrixD& f0_train) const {
  return train_with(t, 0.0, 0.0, f0_train);
}

RowMatrixD KernelDynamics::test_at_time(double t, MatrixView<double> k_test_train, const RowMatrixD& f0_train,
                                        const RowMatrixD& f0_test) const {
  return test_with(t, 0.0, 0.0, k_test_train, f0_train, f0_test);
}

RowMatrixD KernelDynamics::train_after_steps(long steps, double learning_rate, const RowMatrixD& f0_train) const {
  if (steps < 0) throw Error("KernelDynamics: steps must be >= 0");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw Error("KernelDynamics: learning rate must be a finite number > 0");
  return train_with(static_cast<double>(steps), learning_rate, 0.0, f0_train);
}

RowMatrixD KernelDynamics::test_after_steps(long steps, double learning_rate, MatrixView<double> k_test_train,
                                            const RowMatrixD& f0_train, const RowMatrixD& f0_test) const {
  if (steps < 0) throw Error("KernelDynamics: steps must be >= 0");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw Error("KernelDynamics: learning rate must be a finite number > 0");
  return test_with(static_cast<double>(steps), learning_rate, 0.0, k_test_train, f0_train, f0_test);
}

}  // namespace ntkit
