#include "ntkit/kernel_ridge.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "cholesky.hpp"
#include "ntkit/error.hpp"

namespace ntkit {

void KernelRidge::fit(MatrixView<double> kernel, MatrixView<double> targets, double lambda) {
  const Eigen::Index n = kernel.rows();
  std::ostringstream msg;
  if (kernel.cols() != n) {
    msg << "kernel_ridge: the kernel must be square K(X, X), got " << kernel.rows() << " x " << kernel.cols();
  } else if (n == 0) {
    msg << "kernel_ridge: no training examples";
  } else if (targets.rows() != n) {
    msg << "kernel_ridge: kernel is " << n << " x " << n << " but targets have " << targets.rows()
        << " rows; need one target row per training example";
  } else if (targets.cols() == 0) {
    msg << "kernel_ridge: targets have no columns";
  } else if (!(lambda >= 0) || !std::isfinite(lambda)) {
    msg << "kernel_ridge: lambda must be a finite number >= 0, got " << lambda;
  } else if (!kernel.allFinite()) {
    msg << "kernel_ridge: the kernel matrix contains NaN or Inf";
  } else if (!targets.allFinite()) {
    msg << "kernel_ridge: the targets contain NaN or Inf";
  } else if ((kernel - kernel.transpose()).cwiseAbs().maxCoeff() > 1e-10 * kernel.cwiseAbs().maxCoeff()) {
    msg << "kernel_ridge: the kernel K(X, X) is not symmetric (largest |K - Kᵀ| is "
        << (kernel - kernel.transpose()).cwiseAbs().maxCoeff() << "); pass K(X, X), not a cross kernel";
  }
  if (!msg.str().empty()) throw Error(msg.str());

  std::ostringstream fix;
  fix << "use a ridge lambda > " << lambda
      << ", such as 1e-6 times the mean of diag(K) = " << 1e-6 * kernel.diagonal().mean();
  alpha_ = detail::Cholesky(kernel, lambda, "kernel_ridge", "K + lambda*I", fix.str()).solve(targets);
}

RowMatrixD KernelRidge::predict(MatrixView<double> cross_kernel) const {
  if (!fitted()) throw Error("kernel_ridge: predict called before fit");
  if (cross_kernel.cols() != alpha_.rows()) {
    std::ostringstream msg;
    msg << "kernel_ridge: cross kernel K(X*, X) has " << cross_kernel.cols()
        << " columns, expected one per training example (" << alpha_.rows() << ")";
    throw Error(msg.str());
  }
  return cross_kernel * alpha_;
}

RidgeSelection select_ridge_lambda(MatrixView<double> kernel, MatrixView<double> targets, const std::vector<double>& lambdas,
                                   int folds, std::uint64_t seed) {
  const Eigen::Index n = kernel.rows();
  if (lambdas.empty()) throw Error("select_ridge_lambda: no candidate lambdas given");
  if (folds < 2 || folds > n) {
    throw Error("select_ridge_lambda: folds must be in [2, n] = [2, " + std::to_string(n) + "], got " +
                std::to_string(folds));
  }
  if (kernel.cols() != n || targets.rows() != n)
    throw Error("select_ridge_lambda: need a square kernel and one target row per example");
  if (targets.cols() == 0) throw Error("select_ridge_lambda: targets have no columns");
  if (!kernel.allFinite()) throw Error("select_ridge_lambda: the kernel matrix contains NaN or Inf");
  if (!targets.allFinite()) throw Error("select_ridge_lambda: the targets contain NaN or Inf");
  for (double lambda : lambdas) {
    if (!(lambda >= 0) || !std::isfinite(lambda)) {
      std::ostringstream msg;
      msg << "select_ridge_lambda: every candidate lambda must be finite and >= 0, got " << lambda;
      throw Error(msg.str());
    }
  }

  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);

  RidgeSelection result;
  result.lambdas = lambdas;
  result.mean_squared_error.assign(lambdas.size(), 0.0);
  for (int f = 0; f < folds; ++f) {
    std::vector<Eigen::Index> train, valid;
    for (Eigen::Index i = 0; i < n; ++i) (i % folds == f ? valid : train).push_back(order[static_cast<std::size_t>(i)]);
    const RowMatrixD k_train = kernel(train, train);
    const RowMatrixD k_valid = kernel(valid, train);
    const RowMatrixD y_train = targets(train, Eigen::all);
    const RowMatrixD y_valid = targets(valid, Eigen::all);
    for (std::size_t c = 0; c < lambdas.size(); ++c) {
      double& err = result.mean_squared_error[c];
      if (std::isinf(err)) continue;
      try {
        KernelRidge model;
        model.fit(k_train, y_train, lambdas[c]);
        err += (model.predict(k_valid) - y_valid).squaredNorm() / static_cast<double>(y_valid.size()) / folds;
      } catch (const Error&) {  // inputs were validated above: this is Cholesky failing
        err = std::numeric_limits<double>::infinity();
      }
    }
  }
  const auto best = std::min_element(result.mean_squared_error.begin(), result.mean_squared_error.end());
  if (std::isinf(*best)) {
    throw Error(
        "select_ridge_lambda: K + lambda*I is not positive definite for every candidate "
        "lambda; add larger values");
  }
  result.lambda = lambdas[static_cast<std::size_t>(best - result.mean_squared_error.begin())];
  return result;
}

}  // namespace ntkit
