// Squared-loss predictions at many times, infinite ensembles, GP inference and the largest
// stable learning rate (predict.hpp). The dynamics themselves live in kernel_dynamics.cpp.
#include "ntkit/predict.hpp"

#include "blas_api.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "blas.hpp"
#include "cholesky.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

std::string shape(Eigen::Index r, Eigen::Index c) { return std::to_string(r) + " x " + std::to_string(c); }

std::string lower(std::string_view name) {
  std::string n(name);
  for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return n;
}

void require_shape(MatrixView<double> m, Eigen::Index rows, Eigen::Index cols, const std::string& who,
                   const std::string& what) {
  if (m.rows() != rows || m.cols() != cols)
    throw Error(who + ": " + what + " is " + shape(m.rows(), m.cols()) + ", expected " + shape(rows, cols));
  if (!m.allFinite()) throw Error(who + ": " + what + " contains NaN or Inf");
}

// Rounding leaves a covariance a few ulps from symmetric; callers expect an exactly symmetric one.
RowMatrixD symmetrized(const RowMatrixD& c) { return (c + c.transpose()) / 2; }

// One Cholesky factorization of K + diag_reg (relative or absolute), reused for many solves.
detail::Cholesky regularized_cholesky(MatrixView<double> k, const DynamicsOptions& options, const std::string& who) {
  if (!(options.diag_reg >= 0) || !std::isfinite(options.diag_reg)) {
    std::ostringstream msg;
    msg << who << ": diag_reg must be a finite number >= 0, got " << options.diag_reg;
    throw Error(msg.str());
  }
  const auto n = static_cast<double>(k.rows());
  const double shift = options.diag_reg == 0       ? 0.0
                       : options.diag_reg_absolute ? options.diag_reg
                                                   : options.diag_reg * k.trace() / n;
  return detail::Cholesky(k, shift, who, "the training kernel", "use diag_reg > 0 (e.g. --diag-reg 1e-6)");
}

// Vᵀ without a copy: V's column-major storage read row-major (a transposing n x n copy, 128 MB
// at n = 4096, saved in both predict_mse and EnsemblePredictor::test).
Eigen::Map<const RowMatrixD> eigenvectors_transposed(const KernelDynamics& dyn) {
  const Eigen::MatrixXd& v = dyn.eigenvectors();
  return Eigen::Map<const RowMatrixD>(v.data(), v.cols(), v.rows());
}

}  // namespace

Trajectory predict_mse(MatrixView<double> k_train, MatrixView<double> k_test_train, MatrixView<double> targets,
                       const std::vector<double>& times, const DynamicsOptions& options, const RowMatrixD& f0_train,
                       const RowMatrixD& f0_test) {
  if (times.empty()) throw Error("predict_mse: give at least one time");
  return predict_mse(KernelDynamics(k_train, targets, options), k_test_train, times, f0_train, f0_test);
}

Trajectory predict_mse(const KernelDynamics& dyn, MatrixView<double> k_test_train, const std::vector<double>& times,
                       const RowMatrixD& f0_train, const RowMatrixD& f0_test) {
  if (times.empty()) throw Error("predict_mse: give at least one time");
  for (const double t : times) {
    // −inf used to take the t = +inf path (std::isinf does not look at the sign).
    if (!(t >= 0)) {
      throw Error("predict_mse: times must be >= 0 (or inf), got " + std::to_string(t));
    }
  }
  const Eigen::Index n = dyn.targets().rows(), m = k_test_train.rows(), o = dyn.targets().cols();
  if (k_test_train.cols() != n)
    throw Error("predict_mse: K(X*, X) is " + shape(m, k_test_train.cols()) + " but K(X, X) is " + shape(n, n) +
                "; need one column per training point");
  const bool any_inf = std::any_of(times.begin(), times.end(), [](double t) { return std::isinf(t); });
  // t = inf through the eigenvalues already computed (gain 1/λ, decay 0: kernel regression) when
  // K is safely positive definite: λ_min > n ε λ_max. Otherwise through a Cholesky solve, which
  // says so when K is singular (a second factorization: 0.2-1.4 s at n = 4096).
  const VectorD& lambda = dyn.eigenvalues();
  const bool inverse_by_eigenvalues = any_inf && lambda.minCoeff() > static_cast<double>(n) *
                                                                         std::numeric_limits<double>::epsilon() *
                                                                         lambda.maxCoeff();
  // The checks of the initial outputs and, for t = inf, of a stable learning rate, through the
  // single-time path (t = inf also computes the Cholesky path's outputs when it is needed).
  Trajectory out;
  out.train.resize(times.size());
  out.test.resize(times.size());
  const double check_time = any_inf ? std::numeric_limits<double>::infinity() : 0.0;
  const RowMatrixD inf_train = dyn.train_at(check_time, f0_train);
  const RowMatrixD inf_test = dyn.test_at(inverse_by_eigenvalues ? 0.0 : check_time, k_test_train, f0_train, f0_test);
  const RowMatrixD f0 = f0_train.size() != 0 ? f0_train : RowMatrixD::Zero(n, o);
  const RowMatrixD f0t = f0_test.size() != 0 ? f0_test : RowMatrixD::Zero(m, o);

  // The times share the eigenbasis work: c = Vᵀ(f0 - Y) once, then for a chunk of times one
  // product Z = V [d_t ⊙ c | g_t ⊙ c]_t (n x 2·count·o) gives f(X) = Y + Z_d, and one more
  // f(X*) = f0* - s K_* Z_g. Forming K_* V instead (m·n² flops, 34 GFLOP at n = 4096,
  // m = 1024) costs more than both products together for up to hundreds of time-outputs.
  // Chunks keep the stacked coefficients to about n x 2048.
  const Eigen::Map<const RowMatrixD> vt = eigenvectors_transposed(dyn);  // Vᵀ, row-major
  const RowMatrixD c = vt * (f0 - dyn.targets());
  std::vector<std::size_t> spectral;  // the times computed in the eigenbasis below
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (std::isinf(times[i]) && !inverse_by_eigenvalues) {
      out.train[i] = inf_train;
      out.test[i] = inf_test;
    } else {
      spectral.push_back(i);
    }
  }
  const auto factors_at = [&](double t) {
    if (!std::isinf(t)) return dyn.factors(t);
    return SpectralFactors{VectorD::Zero(n), lambda.cwiseInverse()};
  };
  const std::size_t chunk = static_cast<std::size_t>(std::max<Eigen::Index>(1, 1024 / o));
  for (std::size_t first = 0; first < spectral.size(); first += chunk) {
    const std::size_t count = std::min(chunk, spectral.size() - first);
    const Eigen::Index width = static_cast<Eigen::Index>(count) * o;  // columns of Z_d (and of Z_g)
    // Rows: the coefficients (d_t ⊙ c)ᵀ of every time, then (g_t ⊙ c)ᵀ.
    RowMatrixD coefficients(2 * width, n);
    for (std::size_t j = 0; j < count; ++j) {
      const SpectralFactors f = factors_at(times[spectral[first + j]]);
      const auto row = static_cast<Eigen::Index>(j) * o;
      coefficients.middleRows(row, o) = (c.array().colwise() * f.decay.array()).transpose();
      coefficients.middleRows(width + row, o) = (c.array().colwise() * f.gain.array()).transpose();
    }
    RowMatrixD z(n, 2 * width), test_all;  // z = V · coefficientsᵀ
    detail::gemm_rowmajor<double>(true, true, n, 2 * width, n, 1.0, vt.data(), n, coefficients.data(), n, 0.0, z.data(),
                                  2 * width);
    if (m > 0) {
      test_all.resize(m, width);
      detail::gemm_rowmajor<double>(false, false, m, width, n, 1.0, k_test_train.data(), k_test_train.outerStride(),
                                    z.data() + width, 2 * width, 0.0, test_all.data(), width);
    }
    for (std::size_t j = 0; j < count; ++j) {
      const std::size_t i = spectral[first + j];
      const auto col = static_cast<Eigen::Index>(j) * o;
      // At t = inf training interpolates the targets: exactly Y.
      out.train[i] = std::isinf(times[i]) ? inf_train : RowMatrixD(dyn.targets() + z.middleCols(col, o));
      out.test[i] = m > 0 ? RowMatrixD(f0t - dyn.scale() * test_all.middleCols(col, o)) : RowMatrixD(0, o);
      if (!out.train[i].allFinite() || !out.test[i].allFinite())
        throw Error("predict_mse: the outputs overflowed at t = " + std::to_string(times[i]) +
                    "; the learning rate is above the stable limit 2 (1 + momentum) / lambda_max = " +
                    std::to_string(dyn.max_stable_learning_rate()));
    }
  }
  return out;
}

EnsembleKind parse_ensemble_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "ntk") return EnsembleKind::Ntk;
  if (n == "nngp") return EnsembleKind::Nngp;
  throw Error("unknown ensemble kind '" + std::string(name) + "'; choose ntk (all layers trained) or nngp (last layer only)");
}

GpKind parse_gp_kind(std::string_view name) {
  const std::string n = lower(name);
  if (n == "nngp") return GpKind::Nngp;
  if (n == "ntk") return GpKind::Ntk;
  if (n == "ntkgp") return GpKind::NtkGp;
  throw Error("unknown GP kind '" + std::string(name) + "'; choose nngp, ntk or ntkgp");
}

EnsemblePredictor::EnsemblePredictor(EnsembleKind kind, MatrixView<double> nngp_train, MatrixView<double> ntk_train,
                                     MatrixView<double> targets, const DynamicsOptions& options)
    : kind_(kind), nngp_train_(nngp_train), dyn_(kind == EnsembleKind::Ntk ? ntk_train : nngp_train, targets, options) {
  const Eigen::Index n = targets.rows();
  require_shape(nngp_train, n, n, "EnsemblePredictor", "the NNGP K(X, X)");
}

RowMatrixD EnsemblePredictor::gain_apply(double time, MatrixView<double> r, bool plus_decay) const {
  // M_t for the unnormalized kernel Θ is scale · (V diag(g) Vᵀ) of the normalized one, whose
  // inverse at t = ∞ is scale · (scale Θ)⁻¹ = Θ⁻¹.
  if (std::isinf(time)) return dyn_.scale() * dyn_.solve(r);
  const SpectralFactors f = dyn_.factors(time);
  const VectorD w = plus_decay ? VectorD(f.gain.array() * (1.0 + f.decay.array())) : f.gain;
  return dyn_.scale() * dyn_.apply_spectral(w, r);
}

std::vector<GaussianOutputs> EnsemblePredictor::test(const std::vector<double>& times, MatrixView<double> nngp_test_train,
                                                     MatrixView<double> ntk_test_train,
                                                     const RowMatrixD& nngp_test_test) const {
  const Eigen::Index n = nngp_train_.rows(), m = nngp_test_train.rows();
  const std::string who = "EnsemblePredictor";
  require_shape(nngp_test_train, m, n, who, "the NNGP K(X*, X)");
  if (kind_ == EnsembleKind::Ntk) require_shape(ntk_test_train, m, n, who, "the NTK Θ(X*, X)");
  const bool covariance = nngp_test_test.size() != 0;
  if (covariance) require_shape(nngp_test_test, m, m, who, "the NNGP K(X*, X*)");
  for (const double t : times)
    if (!(t >= 0)) throw Error(who + ": times must be >= 0 (or inf)");
  // The kernel that moves test outputs during training: Θ_* for 'ntk', K_* for 'nngp'.
  const MatrixView<double> drive = kind_ == EnsembleKind::Ntk ? ntk_test_train : nngp_test_train;
  const double s = dyn_.scale();
  // Everything that does not depend on t, once: the drive in the eigenbasis, P = drive·V
  // (m x n), and Vᵀ Y. Then per time the mean is s·P diag(g) VᵀY and the covariance costs
  // m²n ('nngp') or 2n²m + 2m²n ('ntk'), all in threaded BLAS.
  const Eigen::Map<const RowMatrixD> vt = eigenvectors_transposed(dyn_);
  const RowMatrixD v = vt.transpose();  // row-major V, for the products with Vᵀ on the right
  RowMatrixD p;
  detail::gemm_abt<double>(drive, vt, p);  // drive · V
  const RowMatrixD vty = vt * dyn_.targets();

  std::vector<GaussianOutputs> out;
  for (const double t : times) {
    GaussianOutputs g;
    const bool inf = std::isinf(t);
    const SpectralFactors f = inf ? SpectralFactors{} : dyn_.factors(t);
    g.mean = inf ? RowMatrixD(drive * gain_apply(t, dyn_.targets(), false))
                 : RowMatrixD(s * (p * (f.gain.asDiagonal() * vty)));
    if (covariance) {
      RowMatrixD product;
      if (kind_ == EnsembleKind::Nngp && !inf) {
        // K** - K_* M_t (I + E_t) K_*ᵀ = K** - s·P diag(g (1 + d)) Pᵀ.
        const VectorD w = s * f.gain.array() * (1.0 + f.decay.array());
        const RowMatrixD pw = p * w.asDiagonal();
        detail::gemm_abt<double>(pw, p, product);
        g.covariance = nngp_test_test - product;
      } else if (kind_ == EnsembleKind::Nngp) {
        const RowMatrixD b = gain_apply(t, nngp_test_train.transpose(), false);  // K⁻¹ K_*ᵀ
        g.covariance = nngp_test_test - nngp_test_train * b;
      } else {
        // Bᵀ = (M_t Θ_*ᵀ)ᵀ = s·P diag(g) Vᵀ (t = ∞: Θ⁻¹ Θ_*ᵀ by Cholesky).
        RowMatrixD bt;
        if (inf) {
          bt = gain_apply(t, drive.transpose(), false).transpose();
        } else {
          const RowMatrixD pg = p * (s * f.gain).asDiagonal();
          detail::gemm_abt<double>(pg, v, bt);
        }
        RowMatrixD btk, middle, cross;
        detail::gemm_abt<double>(bt, nngp_train_, btk);        // Bᵀ K (K symmetric)
        detail::gemm_abt<double>(btk, bt, middle);             // Θ_* M_t K M_t Θ_*ᵀ
        detail::gemm_abt<double>(bt, nngp_test_train, cross);  // Θ_* M_t K_*ᵀ
        g.covariance = nngp_test_test + middle - cross - cross.transpose();
      }
      g.covariance = symmetrized(g.covariance);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<GaussianOutputs> EnsemblePredictor::train(const std::vector<double>& times, bool covariance) const {
  const Eigen::Index n = nngp_train_.rows();
  std::vector<GaussianOutputs> out;
  for (const double t : times) {
    GaussianOutputs g;
    g.mean = dyn_.train_at(t);  // (I - E_t) Y: the mean over initializations starts at 0
    if (covariance) {
      if (std::isinf(t)) {
        g.covariance = RowMatrixD::Zero(n, n);  // training interpolates Y whatever f_0 was
      } else {
        const SpectralFactors f = dyn_.factors(t);
        if (kind_ == EnsembleKind::Ntk) {
          const RowMatrixD ek = dyn_.apply_spectral(f.decay, nngp_train_);  // E_t K
          g.covariance = dyn_.apply_spectral(f.decay, ek.transpose());      // E_t K E_t
        } else {
          // K E_t² with K the regularized training kernel, in unnormalized units.
          const VectorD w = dyn_.eigenvalues().array() * f.decay.array().square() / dyn_.scale();
          g.covariance = dyn_.apply_spectral(w, RowMatrixD::Identity(n, n));
        }
        g.covariance = symmetrized(g.covariance);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

GaussianOutputs gp_inference(GpKind kind, const KernelPair& train, const KernelPair& test_train, const KernelPair& test_test,
                             MatrixView<double> targets, const DynamicsOptions& options) {
  const std::string who = "gp_inference";
  const Eigen::Index n = targets.rows();
  if (n == 0 || targets.cols() == 0) throw Error(who + ": targets are empty");
  if (!targets.allFinite()) throw Error(who + ": targets contain NaN or Inf");
  // The kernel that is inverted and that drives the mean: the NNGP for 'nngp', the NTK otherwise.
  const bool ntk = kind != GpKind::Nngp;
  const RowMatrixD& k_train = ntk ? train.ntk : train.nngp;
  const RowMatrixD& k_test_train = ntk ? test_train.ntk : test_train.nngp;
  require_shape(k_train, n, n, who, ntk ? "the NTK Θ(X, X)" : "the NNGP K(X, X)");
  const Eigen::Index m = k_test_train.rows();
  require_shape(k_test_train, m, n, who, ntk ? "the NTK Θ(X*, X)" : "the NNGP K(X*, X)");
  const detail::Cholesky chol = regularized_cholesky(k_train, options, who);

  GaussianOutputs out;
  out.mean = k_test_train * chol.solve(targets);
  const RowMatrixD& prior_test = kind == GpKind::NtkGp ? test_test.ntk : test_test.nngp;
  if (prior_test.size() == 0) return out;
  require_shape(prior_test, m, m, who, kind == GpKind::NtkGp ? "the NTK Θ(X*, X*)" : "the NNGP K(X*, X*)");
  const RowMatrixD b = chol.solve(k_test_train.transpose());  // K⁻¹ K_*ᵀ (or Θ⁻¹ Θ_*ᵀ), n x m
  // The covariance's products are O(n²m) and O(nm²): threaded BLAS, not Eigen's single-threaded
  // products (at n = 4096, m = 1024 those took about half of the 3 s of the 'ntk' posterior).
  const auto product = [](bool ta, bool tb, const RowMatrixD& x, const RowMatrixD& y) {
    const Eigen::Index rows = ta ? x.cols() : x.rows(), cols = tb ? y.rows() : y.cols(), inner = ta ? x.rows() : x.cols();
    RowMatrixD z(rows, cols);
    detail::gemm_rowmajor<double>(ta, tb, rows, cols, inner, 1.0, x.data(), x.cols(), y.data(), y.cols(), 0.0, z.data(),
                                  cols);
    return z;
  };
  if (kind == GpKind::Ntk) {
    require_shape(train.nngp, n, n, who, "the NNGP K(X, X)");
    require_shape(test_train.nngp, m, n, who, "the NNGP K(X*, X)");
    const RowMatrixD cross = product(true, true, b, test_train.nngp);                         // Θ_* Θ⁻¹ K_*ᵀ
    const RowMatrixD middle = product(true, false, b, product(false, false, train.nngp, b));  // Θ_* Θ⁻¹ K Θ⁻¹ Θ_*ᵀ
    out.covariance = prior_test + middle - cross - cross.transpose();
  } else {
    out.covariance = prior_test - product(false, false, k_test_train, b);
  }
  out.covariance = symmetrized(out.covariance);
  return out;
}

double max_learning_rate(MatrixView<double> ntk_train, LossNormalization normalization, Eigen::Index y_size,
                         double momentum) {
  const Eigen::Index n = ntk_train.rows();
  require_shape(ntk_train, n, n, "max_learning_rate", "the NTK");
  if (n == 0) throw Error("max_learning_rate: the NTK is empty");
  if (!(momentum >= 0 && momentum < 1)) throw Error("max_learning_rate: momentum must be in [0, 1)");
  if (normalization == LossNormalization::Mean && y_size < 1)
    throw Error("max_learning_rate: 'mean' normalization needs y_size = Y.size >= 1");
  // Only the largest eigenvalue: LAPACK's MRRR solver for index n alone.
  RowMatrixD a = ntk_train;
  const auto ni = static_cast<lapack_int>(n);
  lapack_int found = 0;
  VectorD w(n);  // LAPACK uses all n entries as workspace; the first holds the answer
  double unused_z = 0;
  std::vector<lapack_int> support(2);
  const lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'N', 'I', 'L', ni, a.data(), ni, 0.0, 0.0, ni, ni, 0.0, &found,
                                         w.data(), &unused_z, 1, support.data());
  const double top = w[0];
  if (info != 0 || found != 1) throw Error("max_learning_rate: LAPACK dsyevr failed (info " + std::to_string(info) + ")");
  if (!(top > 0)) return std::numeric_limits<double>::infinity();
  const double factor = normalization == LossNormalization::Mean ? static_cast<double>(y_size) : 1.0;
  return 2.0 * (1.0 + momentum) * factor / top;
}

}  // namespace ntkit
