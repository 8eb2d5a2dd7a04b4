// ntkit ridge: kernel ridge regression with a classic kernel; writes test predictions.
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/kernel_ridge.hpp"

namespace ntkit::cli {
namespace {

struct RidgeCommand {
  KernelOptions kernel;
  std::vector<std::string> train;  // X.npy Y.npy
  std::string test, test_targets, output;
  double lambda = 0.0;
  int cv = 0;
  std::uint64_t seed = 0;
};

void run(const RidgeCommand& cmd) {
  check_output_path(cmd.output);
  const RowMatrixD x = load_matrix(cmd.train.at(0));
  const RowMatrixD y = load_matrix(cmd.train.at(1));
  if (y.rows() != x.rows()) {
    throw Error(cmd.train[1] + ": has " + std::to_string(y.rows()) + " rows but " + cmd.train[0] + " has " +
                std::to_string(x.rows()) + "; need one target row per training example");
  }
  const RowMatrixD xt = load_matrix(cmd.test);
  if (xt.cols() != x.cols()) {
    throw Error(cmd.test + ": has " + std::to_string(xt.cols()) + " columns but " + cmd.train[0] + " has " +
                std::to_string(x.cols()) + "; both need the same number of features");
  }
  RowMatrixD yt;
  if (!cmd.test_targets.empty()) {
    yt = load_matrix(cmd.test_targets);
    if (yt.rows() != xt.rows() || yt.cols() != y.cols()) {
      throw Error(cmd.test_targets + ": is " + std::to_string(yt.rows()) + " x " + std::to_string(yt.cols()) + ", expected " +
                  std::to_string(xt.rows()) + " x " + std::to_string(y.cols()) +
                  " (one row per test point, one column per output)");
    }
  }
  if (!(cmd.lambda >= 0) || !std::isfinite(cmd.lambda)) {
    std::ostringstream msg;
    msg << "--lambda: must be a finite number >= 0, got " << cmd.lambda;
    throw Error(msg.str());
  }
  if (cmd.cv != 0 && (cmd.cv < 2 || cmd.cv > x.rows())) {
    throw Error("--cv: the number of folds must be in [2, " + std::to_string(x.rows()) +
                "] (2 to the number of training examples), got " + std::to_string(cmd.cv));
  }

  const KernelSpec spec = make_kernel_spec(cmd.kernel, x.cols());
  const RowMatrixD k = kernel_matrix<double>(spec, x);
  const RowMatrixD k_test = kernel_matrix<double>(spec, xt, x);

  double lambda = cmd.lambda;
  if (cmd.cv > 0) {
    // Candidates relative to the kernel's scale: 1e-8 … 10 times the mean of diag(K).
    const double scale = k.diagonal().mean();
    std::vector<double> grid;
    for (int e = -8; e <= 1; ++e) grid.push_back(scale * std::pow(10.0, e));
    const RidgeSelection sel = select_ridge_lambda(k, y, grid, cmd.cv, cmd.seed);
    lambda = sel.lambda;
    std::cerr << "ntkit ridge: " << cmd.cv << "-fold cross-validation chose lambda = " << lambda << "\n";
  }
  KernelRidge model;
  model.fit(k, y, lambda);
  const RowMatrixD pred = model.predict(k_test);
  if (yt.size() != 0) {
    const double mse = (pred - yt).squaredNorm() / static_cast<double>(yt.size());
    const double var = (yt.rowwise() - yt.colwise().mean()).squaredNorm() / static_cast<double>(yt.size());
    std::cout << "kernel " << spec.describe() << ", lambda " << lambda << ": test RMSE " << std::sqrt(mse) << ", R^2 "
              << (var > 0 ? 1.0 - mse / var : 0.0) << "\n";
  }
  write_matrix(cmd.output, pred);
}

}  // namespace

void register_ridge_command(CLI::App& app) {
  auto cmd = std::make_shared<RidgeCommand>();
  CLI::App* sub = app.add_subcommand("ridge", "Kernel ridge regression: fit (K + λI)α = Y by Cholesky, write K(X*, X)α");
  add_kernel_options(*sub, cmd->kernel);
  sub->add_option("--train", cmd->train, "training inputs X (n x d) and targets Y (n or n x o)")->expected(2)->required();
  sub->add_option("--test", cmd->test, "test inputs X* (m x d)")->required();
  sub->add_option("--test-targets", cmd->test_targets, "test targets, to print the test error");
  sub->add_option("--lambda", cmd->lambda, "ridge λ >= 0 (0: kernel interpolation)")->capture_default_str();
  sub->add_option("--cv", cmd->cv, "choose λ by this many folds of cross-validation instead");
  sub->add_option("--seed", cmd->seed, "seed of the cross-validation shuffle")->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "predictions file (m x o): .npy, .csv or .txt")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
