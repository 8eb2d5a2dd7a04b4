// ntkit classic-demo: classic kernel methods end to end on the diabetes data shipped in data/.
//
// 1. Kernel ridge regression with every classic kernel (λ by 5-fold cross-validation), test
//    error on a held-out split.
// 2. The kernel trick applied to training: gradient descent on w in the explicit polynomial
//    feature space and gradient descent on the dual coefficients with K = ΦΦᵀ, step by step,
//    with the largest gap between their predictions.
// Writes DIR/report.json and DIR/*.npy; scripts/plot_demo.py turns them into PNG plots.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Eigenvalues>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "demo_data.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/feature_map.hpp"
#include "ntkit/kernel_ridge.hpp"
#include "ntkit/linear_model.hpp"

namespace ntkit::cli {
namespace {

using json = nlohmann::json;

struct DemoCommand {
  std::string out = "demo-out/classic";
  std::string data;
  std::uint64_t seed = 0;
  int test_size = 100;
  int steps = 2000;
  int record_every = 10;
};

json ridge_with_every_kernel(const Split& s, OutputSet& outputs, const std::string& out_dir, std::uint64_t seed) {
  std::vector<KernelSpec> specs;
  const double d = static_cast<double>(s.x_train.cols());
  specs.push_back({KernelKind::Linear});
  specs.push_back({KernelKind::Polynomial, 2, 1.0});
  specs.push_back({KernelKind::Polynomial, 3, 1.0});
  specs.push_back({KernelKind::Rbf, 2, 1.0, 1.0 / d});
  specs.push_back({KernelKind::Rbf, 2, 1.0, 0.1 / d});
  for (int order = 0; order <= 2; ++order) specs.push_back({KernelKind::ArcCos, 2, 1.0, 1.0, order});

  json results = json::array();
  const double y_var = s.y_test.squaredNorm() / static_cast<double>(s.y_test.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const KernelSpec& spec = specs[i];
    std::cerr << "[ridge " << i + 1 << "/" << specs.size() << "] " << spec.describe() << "\n";
    const RowMatrixD k = kernel_matrix<double>(spec, s.x_train);
    const RowMatrixD k_test = kernel_matrix<double>(spec, s.x_test, s.x_train);
    const double scale = k.diagonal().mean();
    std::vector<double> grid;
    for (int e = -8; e <= 1; ++e) grid.push_back(scale * std::pow(10.0, e));
    const RidgeSelection sel = select_ridge_lambda(k, s.y_train, grid, 5, seed);
    KernelRidge model;
    model.fit(k, s.y_train, sel.lambda);
    const RowMatrixD pred = model.predict(k_test);
    const double mse = (pred - s.y_test).squaredNorm() / static_cast<double>(s.y_test.size());
    results.push_back({{"kernel", spec.describe()},
                       {"lambda", sel.lambda},
                       {"cv_lambdas", sel.lambdas},
                       {"cv_mse", sel.mean_squared_error},
                       {"test_rmse", std::sqrt(mse) * s.y_std},
                       {"test_r2", 1.0 - mse / y_var},
                       {"test_predictions", to_vector(RowMatrixD(pred.array() * s.y_std + s.y_mean))}});
    if (spec.kind == KernelKind::Rbf && i == 3) {
      outputs.add_matrix(out_dir + "/kernel_rbf_train.npy", k);
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k, Eigen::EigenvaluesOnly);
      const Eigen::VectorXd ev = eig.eigenvalues().reverse();
      outputs.add_matrix(out_dir + "/kernel_rbf_eigenvalues.npy", RowMatrixD(ev), DType::Float64, true);
    }
  }
  return results;
}

json primal_versus_dual(const Split& s, int steps, int record_every) {
  const PolynomialFeatureMap map(static_cast<int>(s.x_train.cols()), 2, 1.0);
  const RowMatrixD phi = map.transform(s.x_train);
  const RowMatrixD phi_test = map.transform(s.x_test);
  const KernelSpec poly{KernelKind::Polynomial, 2, 1.0};
  const RowMatrixD k = kernel_matrix<double>(poly, s.x_train);
  const RowMatrixD k_test = kernel_matrix<double>(poly, s.x_test, s.x_train);
  // The largest stable step of gradient descent on ½‖f - y‖² is 2 / λ_max(K); take half of it.
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k, Eigen::EigenvaluesOnly);
  const double lambda_max = eig.eigenvalues().maxCoeff();
  const double lr = 1.0 / lambda_max;
  std::cerr << "[gradient descent] polynomial(degree=2, c=1): " << map.output_dim() << " explicit features, " << steps
            << " steps, learning rate " << lr << "\n";

  FeatureSpaceRegression primal(phi, s.y_train);
  DualKernelRegression dual(k, s.y_train);
  json rec = {{"features", map.output_dim()},      {"learning_rate", lr},
              {"lambda_max", lambda_max},          {"steps", json::array()},
              {"loss_primal", json::array()},      {"loss_dual", json::array()},
              {"test_rmse", json::array()},        {"max_abs_diff_train", json::array()},
              {"max_abs_diff_test", json::array()}};
  double worst = 0;
  for (int t = 0; t <= steps; ++t) {
    const double diff_train = (primal.train_outputs() - dual.train_outputs()).cwiseAbs().maxCoeff();
    const RowMatrixD pred_primal = primal.predict(phi_test);
    const double diff_test = (pred_primal - dual.predict(k_test)).cwiseAbs().maxCoeff();
    worst = std::max({worst, diff_train, diff_test});
    if (t % record_every == 0 || t == steps) {
      rec["steps"].push_back(t);
      rec["loss_primal"].push_back(primal.loss());
      rec["loss_dual"].push_back(dual.loss());
      rec["test_rmse"].push_back(std::sqrt((pred_primal - s.y_test).squaredNorm() / static_cast<double>(s.y_test.size())) *
                                 s.y_std);
      rec["max_abs_diff_train"].push_back(diff_train);
      rec["max_abs_diff_test"].push_back(diff_test);
    }
    if (t < steps) {
      primal.step(lr);
      dual.step(lr);
    }
  }
  rec["max_abs_diff"] = worst;
  return rec;
}

void run(const DemoCommand& cmd) {
  if (cmd.steps < 1) throw Error("--steps: must be >= 1");
  if (cmd.record_every < 1) throw Error("--record-every: must be >= 1");
  const std::string data_path = cmd.data.empty() ? default_data_path() : cmd.data;
  const RowMatrixD data = read_matrix(data_path);
  check_output_directory(cmd.out, "--out");
  OutputSet outputs;  // every file or none; the directory is created by the commit
  outputs.create_directory(cmd.out);
  std::cerr << "ntkit demo: classic kernel methods on " << data_path << " (" << data.rows() << " examples, "
            << data.cols() - 1 << " features; the last column is the target)\n";
  const Split s = split_and_standardize(data, cmd.test_size, cmd.seed);

  json report;
  report["data"] = {
      {"path", data_path}, {"train", s.x_train.rows()}, {"test", s.x_test.rows()}, {"features", s.x_train.cols()}};
  report["test_targets"] = to_vector(RowMatrixD(s.y_test.array() * s.y_std + s.y_mean));
  report["ridge"] = ridge_with_every_kernel(s, outputs, cmd.out, cmd.seed);
  report["primal_vs_dual"] = primal_versus_dual(s, cmd.steps, cmd.record_every);
  outputs.add_file(cmd.out + "/report.json", report.dump(2) + "\n");
  outputs.commit();

  std::cout << "\nKernel ridge regression on the held-out " << s.x_test.rows()
            << " patients (target: disease progression; predicting the mean gives RMSE "
            << std::sqrt(s.y_test.squaredNorm() / static_cast<double>(s.y_test.size())) * s.y_std << "):\n";
  std::cout << std::left << std::setw(34) << "  kernel" << std::setw(12) << "lambda" << std::setw(12) << "test RMSE"
            << "test R^2\n";
  for (const auto& r : report["ridge"]) {
    std::cout << "  " << std::setw(32) << r["kernel"].get<std::string>() << std::setw(12) << std::setprecision(3)
              << r["lambda"].get<double>() << std::setw(12) << std::setprecision(4) << r["test_rmse"].get<double>()
              << std::setprecision(3) << r["test_r2"].get<double>() << "\n";
  }
  const auto& pd = report["primal_vs_dual"];
  std::cout << "\nGradient descent in the explicit feature space (" << pd["features"].get<int>()
            << " features) and in the dual with K = ΦΦᵀ, " << cmd.steps << " steps:\n"
            << "  largest difference between their predictions at any step: " << std::setprecision(3)
            << pd["max_abs_diff"].get<double>() << " (standardized units)\n"
            << "  loss after " << cmd.steps << " steps: " << pd["loss_primal"].back().get<double>() << " (primal), "
            << pd["loss_dual"].back().get<double>() << " (dual)\n"
            << "\nWrote " << cmd.out << "/report.json; plots: python3 scripts/plot_demo.py " << cmd.out << "\n";
}

}  // namespace

void register_classic_demo_command(CLI::App& app) {
  auto cmd = std::make_shared<DemoCommand>();
  CLI::App* sub = app.add_subcommand(
      "classic-demo",
      "Classic kernel methods on the shipped diabetes data: ridge with every kernel, primal vs dual training");
  sub->add_option("--out", cmd->out, "output directory (created if missing)")->capture_default_str();
  sub->add_option("--data", cmd->data, "CSV/.npy data, last column the target (default: data/diabetes.csv)");
  sub->add_option("--seed", cmd->seed, "seed of the train/test split and CV folds")->capture_default_str();
  sub->add_option("--test-size", cmd->test_size, "held-out examples")->capture_default_str();
  sub->add_option("--steps", cmd->steps, "gradient-descent steps")->capture_default_str();
  sub->add_option("--record-every", cmd->record_every, "record every K steps")->capture_default_str();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
