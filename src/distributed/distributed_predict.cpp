#include "distributed_predict.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

#include "distributed_linear_algebra.hpp"
#include "mpi_session.hpp"
#include "ntkit/error.hpp"

namespace ntkit::distributed {
namespace {

const char* const kSingularFix = "use diag_reg > 0 (e.g. --diag-reg 1e-6) or a finite time";

DistributedMatrix scaled(DistributedMatrix a, double factor) {
  combine(factor, a, 0.0, a);
  return a;
}

void require_valid_kernel(const DistributedMatrix& k, const std::string& who, const std::string& what) {
  if (!all_finite(k)) throw AgreedError(who + ": " + what + " contains NaN or Inf");
}

// The regularization diag_reg adds to the diagonal: relative (· tr K / n) or absolute.
double diagonal_shift(const DistributedMatrix& k, const DynamicsOptions& options) {
  if (options.diag_reg == 0) return 0.0;
  return options.diag_reg_absolute ? options.diag_reg : options.diag_reg * trace(k) / static_cast<double>(k.rows());
}

// KernelDynamics over a distributed training kernel: the regularized, normalized kernel, its
// eigendecomposition, and (when t = inf needs it) its Cholesky factor.
class Dynamics {
 public:
  Dynamics(const DistributedMatrix& k, const RowMatrixD& targets, const DynamicsOptions& options)
      : options_(options), targets_(targets), kernel_(k) {
    const std::string who = "KernelDynamics";
    require_valid_kernel(k, who, "the training kernel");
    DistributedMatrix difference = transposed(k);
    combine(1.0, difference, -1.0, k);
    const double asymmetry = max_abs(difference);
    if (asymmetry > 1e-10 * max_abs(k)) {
      std::ostringstream msg;
      msg << who << ": the training kernel K(X, X) is not symmetric (largest |K - Kᵀ| is " << asymmetry
          << "); pass K(X, X), not a cross kernel";
      throw AgreedError(msg.str());
    }
    add_to_diagonal(kernel_, diagonal_shift(kernel_, options));
    if (options.normalization == LossNormalization::Mean) scale_ = 1.0 / static_cast<double>(targets.size());
    combine(scale_, kernel_, 0.0, kernel_);
    DistributedEigen e = eigendecompose(kernel_, who);
    check_eigendecomposition(e, who);
    // Rounding can make tiny eigenvalues negative. (A plain loop: GCC 12 warns inside Eigen's
    // AVX-512 max/min reductions here, a false "may be used uninitialized".)
    eigenvalues_ = e.values;
    for (double& lambda : eigenvalues_) lambda = std::max(lambda, 0.0);
    smallest_ = *std::min_element(eigenvalues_.begin(), eigenvalues_.end());
    largest_ = *std::max_element(eigenvalues_.begin(), eigenvalues_.end());
    vectors_ = std::move(e.vectors);
  }

  // A safety net over ScaLAPACK (whose pdsyevd once returned wrong eigenvectors silently, for
  // a workspace it had itself asked for): with a fixed vector r and w = V r, VᵀV r = r and
  // K w = V Λ r, in five matrix-vector products, O(n²) against the decomposition's O(n³).
  void check_eigendecomposition(const DistributedEigen& e, const std::string& who) const {
    const Eigen::Index n = kernel_.rows();
    RowMatrixD r(n, 1);
    for (Eigen::Index i = 0; i < n; ++i) r(i, 0) = std::cos(0.7 * static_cast<double>(i) + 0.3);
    const DistributedMatrix rd = DistributedMatrix::from_replicated(kernel_.grid(), r, kernel_.block());
    const DistributedMatrix w = product('N', e.vectors, 'N', rd);
    DistributedMatrix back = product('T', e.vectors, 'N', w);
    combine(1.0, back, -1.0, rd);
    DistributedMatrix lr = rd;
    scale_rows(lr, e.values);
    DistributedMatrix residual = product('N', kernel_, 'N', w);
    combine(1.0, residual, -1.0, product('N', e.vectors, 'N', lr));
    const double orthogonality = max_abs(back), scale = max_abs(kernel_) * max_abs(w) * static_cast<double>(n);
    const double eigen_residual = max_abs(residual);
    if (!(orthogonality <= 1e-8 * static_cast<double>(n)) || !(eigen_residual <= 1e-10 * std::max(scale, 1e-300))) {
      std::ostringstream msg;
      msg << who << ": ScaLAPACK's eigendecomposition failed its check (|VᵀV r - r| = " << orthogonality
          << ", |K V r - V Λ r| = " << eigen_residual << "); try another --block-size, and please report it";
      throw AgreedError(msg.str());
    }
  }

  SpectralFactors factors(double time) const {
    try {
      return spectral_factors(eigenvalues_, time, options_.learning_rate, options_.momentum);
    } catch (const Error& e) {  // the eigenvalues are the same on every rank: so is the error
      throw AgreedError(e.what());
    }
  }
  // V diag(w) Vᵀ R.
  DistributedMatrix apply_spectral(const VectorD& w, const DistributedMatrix& r) const {
    DistributedMatrix c = product('T', vectors_, 'N', r);
    scale_rows(c, w);
    return product('N', vectors_, 'N', c);
  }
  // K⁻¹ R for the regularized, normalized K, by Cholesky.
  DistributedMatrix solve(const DistributedMatrix& r) const {
    if (!cholesky_)
      cholesky_ = std::make_unique<DistributedCholesky>(
          kernel_, "KernelDynamics",
          "the training kernel (t = inf needs a positive definite one; this one is singular, e.g. duplicated inputs)",
          kSingularFix);
    return cholesky_->solve(r);
  }
  double max_stable_learning_rate() const {
    const double top = largest_;
    return top > 0 ? 2.0 * (1.0 + options_.momentum) / top : std::numeric_limits<double>::infinity();
  }
  // t = inf exists only for a stable rate (gradient descent); the same on every rank.
  void check_infinite_time_is_stable() const {
    try {
      require_stable_at_infinity(largest_, options_.learning_rate, options_.momentum);
    } catch (const Error& e) {
      throw AgreedError(e.what());
    }
  }

  const VectorD& eigenvalues() const { return eigenvalues_; }
  double smallest() const { return smallest_; }
  double largest() const { return largest_; }
  const DistributedMatrix& vectors() const { return vectors_; }
  double scale() const { return scale_; }

 private:
  DynamicsOptions options_;
  RowMatrixD targets_;
  DistributedMatrix kernel_, vectors_;
  VectorD eigenvalues_;
  double smallest_ = 0, largest_ = 0;
  double scale_ = 1.0;
  mutable std::unique_ptr<DistributedCholesky> cholesky_;
};

RowMatrixD zeros_if_empty(const RowMatrixD& m, Eigen::Index rows, Eigen::Index cols) {
  return m.size() != 0 ? m : RowMatrixD::Zero(rows, cols);
}

// predict_mse (predict.cpp), step for step.
PredictOutputs plain(const DistributedKernels& kernels, const PredictRequest& request) {
  const DistributedMatrix& k_train = request.ntk ? kernels.train_ntk : kernels.train_nngp;
  const DistributedMatrix& k_test = request.ntk ? kernels.test_ntk : kernels.test_nngp;
  const ProcessGrid& grid = k_train.grid();
  const int block = k_train.block();
  require_valid_kernel(k_test, "predict_mse", "K(X*, X)");
  const Dynamics dyn(k_train, request.targets, request.options);
  const RowMatrixD& y = request.targets;
  const std::vector<double>& times = request.times;
  const Eigen::Index n = y.rows(), m = k_test.rows(), o = y.cols();
  const RowMatrixD f0 = zeros_if_empty(request.f0_train, n, o), f0t = zeros_if_empty(request.f0_test, m, o);
  const bool any_inf = std::any_of(times.begin(), times.end(), [](double t) { return std::isinf(t); });
  const VectorD& lambda = dyn.eigenvalues();
  const bool inverse_by_eigenvalues = any_inf && dyn.smallest() > static_cast<double>(n) *
                                                                      std::numeric_limits<double>::epsilon() * dyn.largest();
  PredictOutputs out;
  out.max_stable_learning_rate = dyn.max_stable_learning_rate();
  if (any_inf) dyn.check_infinite_time_is_stable();
  RowMatrixD inf_test;
  if (any_inf && !inverse_by_eigenvalues) {
    const DistributedMatrix moved = dyn.solve(DistributedMatrix::from_replicated(grid, y - f0, block));
    inf_test = f0t + dyn.scale() * product('N', k_test, 'N', moved).replicate();
  }
  const RowMatrixD c = product('T', dyn.vectors(), 'N', DistributedMatrix::from_replicated(grid, f0 - y, block)).replicate();
  // Every time computed in the eigenbasis at once: Z = V [d_t ⊙ c]_t and V [g_t ⊙ c]_t.
  std::vector<std::size_t> spectral;
  for (std::size_t i = 0; i < times.size(); ++i)
    if (!(std::isinf(times[i]) && !inverse_by_eigenvalues)) spectral.push_back(i);
  const auto width = static_cast<Eigen::Index>(spectral.size()) * o;
  RowMatrixD decay_coefficients(n, width), gain_coefficients(n, width);
  for (std::size_t j = 0; j < spectral.size(); ++j) {
    const double t = times[spectral[j]];
    const SpectralFactors f = std::isinf(t) ? SpectralFactors{VectorD::Zero(n), lambda.cwiseInverse()} : dyn.factors(t);
    const auto col = static_cast<Eigen::Index>(j) * o;
    decay_coefficients.middleCols(col, o) = c.array().colwise() * f.decay.array();
    gain_coefficients.middleCols(col, o) = c.array().colwise() * f.gain.array();
  }
  RowMatrixD z_decay, test_all;
  if (width > 0) {
    z_decay =
        product('N', dyn.vectors(), 'N', DistributedMatrix::from_replicated(grid, decay_coefficients, block)).replicate();
    const DistributedMatrix z_gain = product('N', dyn.vectors(), 'N',
                                             DistributedMatrix::from_replicated(grid, gain_coefficients, block));
    test_all = product('N', k_test, 'N', z_gain).replicate();
  }
  out.train.resize(times.size());
  out.test.resize(times.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (next < spectral.size() && spectral[next] == i) {
      const auto col = static_cast<Eigen::Index>(next++) * o;
      out.train[i] = std::isinf(times[i]) ? y : RowMatrixD(y + z_decay.middleCols(col, o));
      out.test[i] = f0t - dyn.scale() * test_all.middleCols(col, o);
    } else {
      out.train[i] = y;
      out.test[i] = inf_test;
    }
    if (!out.train[i].allFinite() || !out.test[i].allFinite())
      throw AgreedError("predict_mse: the outputs overflowed at t = " + std::to_string(times[i]) +
                        "; the learning rate is above the stable limit 2 (1 + momentum) / lambda_max = " +
                        std::to_string(dyn.max_stable_learning_rate()));
  }
  return out;
}

// EnsemblePredictor (predict.cpp): test() and train(times, covariance = true).
PredictOutputs ensemble(const DistributedKernels& kernels, const PredictRequest& request) {
  const bool ntk = request.ntk;
  const DistributedMatrix& k = kernels.train_nngp;
  const ProcessGrid& grid = k.grid();
  const int block = k.block();
  const std::string who = "EnsemblePredictor";
  require_valid_kernel(k, who, "the NNGP K(X, X)");
  require_valid_kernel(kernels.test_nngp, who, "the NNGP K(X*, X)");
  if (ntk) require_valid_kernel(kernels.test_ntk, who, "the NTK Θ(X*, X)");
  require_valid_kernel(kernels.test_test_nngp, who, "the NNGP K(X*, X*)");
  const Dynamics dyn(ntk ? kernels.train_ntk : k, request.targets, request.options);
  const RowMatrixD& y = request.targets;
  const Eigen::Index n = y.rows();
  const double s = dyn.scale();
  const DistributedMatrix& drive = ntk ? kernels.test_ntk : kernels.test_nngp;
  const DistributedMatrix& k_star = kernels.test_nngp;
  const DistributedMatrix y_distributed = DistributedMatrix::from_replicated(grid, y, block);
  const DistributedMatrix p = product('N', drive, 'N', dyn.vectors());  // drive · V
  const RowMatrixD vty = product('T', dyn.vectors(), 'N', y_distributed).replicate();
  PredictOutputs out;
  out.max_stable_learning_rate = dyn.max_stable_learning_rate();
  for (const double t : request.times) {
    const bool inf = std::isinf(t);
    if (inf) dyn.check_infinite_time_is_stable();
    const SpectralFactors f = inf ? SpectralFactors{} : dyn.factors(t);
    // Test points: the mean and the covariance.
    RowMatrixD mean;
    if (inf) {
      mean = product('N', drive, 'N', scaled(dyn.solve(y_distributed), s)).replicate();
    } else {
      const RowMatrixD weighted = s * (f.gain.asDiagonal() * vty);
      mean = product('N', p, 'N', DistributedMatrix::from_replicated(grid, weighted, block)).replicate();
    }
    DistributedMatrix cov = kernels.test_test_nngp;
    if (!ntk && !inf) {
      DistributedMatrix pw = p;
      scale_columns(pw, VectorD(s * f.gain.array() * (1.0 + f.decay.array())));
      gemm('N', 'T', -1.0, pw, p, 1.0, cov);
    } else if (!ntk) {
      const DistributedMatrix b = scaled(dyn.solve(transposed(k_star)), s);  // K⁻¹ K_*ᵀ
      gemm('N', 'N', -1.0, k_star, b, 1.0, cov);
    } else {
      DistributedMatrix bt;  // Bᵀ = Θ_* M_t
      if (inf) {
        bt = transposed(scaled(dyn.solve(transposed(drive)), s));
      } else {
        DistributedMatrix pg = p;
        scale_columns(pg, VectorD(s * f.gain));
        bt = product('N', pg, 'T', dyn.vectors());
      }
      const DistributedMatrix btk = product('N', bt, 'N', k);  // Bᵀ K
      gemm('N', 'T', 1.0, btk, bt, 1.0, cov);                  // + Θ_* M_t K M_t Θ_*ᵀ
      const DistributedMatrix cross = product('N', bt, 'T', k_star);
      combine(1.0, cov, -1.0, cross);
      combine(1.0, cov, -1.0, transposed(cross));
    }
    symmetrize(cov);
    out.test.push_back(std::move(mean));
    out.test_cov.push_back(cov.gather_to_root());
    // Training points: (I - E_t) Y and its covariance.
    if (inf) {
      out.train.push_back(y);
      out.train_cov.push_back(rank() == 0 ? RowMatrixD(RowMatrixD::Zero(n, n)) : RowMatrixD());
      continue;
    }
    out.train.push_back(y - dyn.apply_spectral(f.decay, y_distributed).replicate());
    DistributedMatrix train_cov;
    if (ntk) {
      const DistributedMatrix ek = dyn.apply_spectral(f.decay, k);  // E_t K
      train_cov = dyn.apply_spectral(f.decay, transposed(ek));      // E_t K E_t
    } else {
      const VectorD w = dyn.eigenvalues().array() * f.decay.array().square() / s;  // K E_t², unnormalized
      DistributedMatrix vw = dyn.vectors();
      scale_columns(vw, w);
      train_cov = product('N', vw, 'T', dyn.vectors());
    }
    symmetrize(train_cov);
    out.train_cov.push_back(train_cov.gather_to_root());
  }
  return out;
}

// gp_inference (predict.cpp): the posterior at t = inf on test points.
RowMatrixD gp_posterior(bool ntk_gp, bool ntk, const DistributedMatrix& k_train, const DistributedMatrix& k_test_train,
                        const DistributedMatrix& prior_test, const DistributedMatrix* nngp_train,
                        const DistributedMatrix* nngp_test_train, const RowMatrixD& y, const DynamicsOptions& options,
                        RowMatrixD& covariance) {
  const std::string who = "gp_inference";
  require_valid_kernel(k_train, who, "the training kernel");
  require_valid_kernel(k_test_train, who, "the test kernel");
  require_valid_kernel(prior_test, who, "the test-test kernel");
  DistributedMatrix regularized = k_train;
  add_to_diagonal(regularized, diagonal_shift(k_train, options));
  const DistributedCholesky chol(std::move(regularized), who, "the training kernel",
                                 "use diag_reg > 0 (e.g. --diag-reg 1e-6)");
  const ProcessGrid& grid = k_train.grid();
  const DistributedMatrix alpha = chol.solve(DistributedMatrix::from_replicated(grid, y, k_train.block()));
  RowMatrixD mean = product('N', k_test_train, 'N', alpha).replicate();
  const DistributedMatrix b = chol.solve(transposed(k_test_train));  // K⁻¹ K_*ᵀ, n x m
  DistributedMatrix cov = prior_test;
  if (ntk && !ntk_gp) {
    const DistributedMatrix cross = product('T', b, 'T', *nngp_test_train);  // Θ_* Θ⁻¹ K_*ᵀ
    const DistributedMatrix kb = product('N', *nngp_train, 'N', b);
    gemm('T', 'N', 1.0, b, kb, 1.0, cov);  // + Θ_* Θ⁻¹ K Θ⁻¹ Θ_*ᵀ
    combine(1.0, cov, -1.0, cross);
    combine(1.0, cov, -1.0, transposed(cross));
  } else {
    gemm('N', 'N', -1.0, k_test_train, b, 1.0, cov);
  }
  symmetrize(cov);
  covariance = cov.gather_to_root();
  return mean;
}

}  // namespace

PredictOutputs predict(const DistributedKernels& kernels, const PredictRequest& request) {
  switch (request.mode) {
    case PredictMode::Plain: return plain(kernels, request);
    case PredictMode::Ensemble: return ensemble(kernels, request);
    case PredictMode::GpInfinity: {
      const bool ntk = request.ntk;
      PredictOutputs out;
      out.max_stable_learning_rate = std::numeric_limits<double>::infinity();
      RowMatrixD cov;
      const RowMatrixD mean = gp_posterior(false, ntk, ntk ? kernels.train_ntk : kernels.train_nngp,
                                           ntk ? kernels.test_ntk : kernels.test_nngp, kernels.test_test_nngp,
                                           &kernels.train_nngp, &kernels.test_nngp, request.targets, request.options, cov);
      const Eigen::Index n = request.targets.rows();
      for (std::size_t i = 0; i < request.times.size(); ++i) {
        out.train.push_back(request.targets);
        out.train_cov.push_back(rank() == 0 ? RowMatrixD(RowMatrixD::Zero(n, n)) : RowMatrixD());
        out.test.push_back(mean);
        out.test_cov.push_back(cov);
      }
      return out;
    }
    case PredictMode::NtkGp: {
      PredictOutputs out;
      out.max_stable_learning_rate = std::numeric_limits<double>::infinity();
      RowMatrixD test_cov, train_cov;
      const RowMatrixD test_mean = gp_posterior(true, true, kernels.train_ntk, kernels.test_ntk, kernels.test_test_ntk,
                                                nullptr, nullptr, request.targets, request.options, test_cov);
      // Training points: the same posterior with X* = X (Θ_* = Θ_** = Θ, unregularized).
      const RowMatrixD train_mean = gp_posterior(true, true, kernels.train_ntk, kernels.train_ntk, kernels.train_ntk, nullptr,
                                                 nullptr, request.targets, request.options, train_cov);
      for (std::size_t i = 0; i < request.times.size(); ++i) {
        out.train.push_back(train_mean);
        out.train_cov.push_back(train_cov);
        out.test.push_back(test_mean);
        out.test_cov.push_back(test_cov);
      }
      return out;
    }
  }
  throw Error("internal: unknown prediction mode");
}

}  // namespace ntkit::distributed
