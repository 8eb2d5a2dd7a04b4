// ntkit classify | regress: the NTK (or NNGP, or any classic kernel) as the kernel of kernel
// ridge regression or a kernel SVM on small data, hyperparameters by k-fold cross-validation.
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/network.hpp"
#include "ntkit/predict_kernel_methods.hpp"

namespace ntkit::cli {
namespace {

struct LearnCommand {
  bool classify = true;
  std::vector<std::string> train, test;
  std::string arch, get = "ntk", method = "ridge", out;
  std::vector<int> depths{1, 2, 3};
  std::vector<double> w_stds{1.0, 1.5, 2.0}, b_stds{0.0, 0.1}, diag_regs{1e-4, 1e-3, 1e-2, 1e-1, 1.0},
      costs{0.1, 1.0, 10.0, 100.0};
  double epsilon = 0.1;
  int folds = 5;
  std::uint64_t seed = 0;
  bool standardize = true;
  KernelOptions kernel;
  const CLI::Option* kernel_given = nullptr;
};

// A kernel to try: its description and K(A, B) (K(A, A) when b is null).
struct Candidate {
  std::string name;
  std::function<RowMatrixD(const RowMatrixD&, const RowMatrixD*)> kernel;
};

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::vector<Candidate> candidates(const LearnCommand& cmd, Eigen::Index dim) {
  if (cmd.get != "ntk" && cmd.get != "nngp") throw Error("--get: unknown value '" + cmd.get + "'; choose ntk or nngp");
  const bool ntk = cmd.get == "ntk";
  auto deep = [ntk](const std::string& arch) {
    const Network net = parse_network(arch);  // parse once: a bad --arch fails before any work
    return Candidate{arch, [net, ntk](const RowMatrixD& a, const RowMatrixD* b) {
                       AnalyticOptions o;
                       o.nngp = !ntk;
                       o.ntk = ntk;
                       const AnalyticKernels k = b == nullptr ? analytic_kernels(net, a, o) : analytic_kernels(net, a, *b, o);
                       return ntk ? k.ntk : k.nngp;
                     }};
  };
  if (!cmd.arch.empty()) return {deep(cmd.arch)};
  if (cmd.kernel_given != nullptr && cmd.kernel_given->count() > 0) {
    const KernelSpec spec = make_kernel_spec(cmd.kernel, dim);
    return {{cmd.kernel.kernel, [spec](const RowMatrixD& a, const RowMatrixD* b) {
               return b == nullptr ? kernel_matrix<double>(spec, a) : kernel_matrix<double>(spec, a, *b);
             }}};
  }
  // The default grid: fully-connected ReLU networks of each depth, W_std and b_std.
  std::vector<Candidate> out;
  for (const int depth : cmd.depths) {
    if (depth < 1) throw Error("--depth: depths must be >= 1, got " + std::to_string(depth));
    for (const double w : cmd.w_stds)
      for (const double bs : cmd.b_stds) {
        const std::string dense = "Dense(512, W_std=" + number(w) + ", b_std=" + number(bs) + ")";
        std::string arch;
        for (int l = 0; l < depth; ++l) arch += dense + ", Relu, ";
        arch += "Dense(1, W_std=" + number(w) + ", b_std=" + number(bs) + ")";
        out.push_back(deep(arch));
      }
  }
  return out;
}

void run(const LearnCommand& cmd) {
  const std::string verb = cmd.classify ? "classify" : "regress";
  if (cmd.method != "ridge" && cmd.method != "svm") throw Error("--method: unknown value '" + cmd.method + "'; choose ridge or svm");
  const bool svm = cmd.method == "svm";
  if (cmd.folds < 2) throw Error("--cv: need at least 2 folds");
  const std::vector<double>& regs = svm ? cmd.costs : cmd.diag_regs;
  for (const double r : regs)
    if (!(svm ? r > 0 : r >= 0) || !std::isfinite(r))
      throw Error(std::string(svm ? "--C: costs must be > 0" : "--diag-reg: values must be >= 0") + ", got " + number(r));
  if (!(cmd.epsilon >= 0)) throw Error("--epsilon: must be >= 0");
  check_output_directory(cmd.out, "-o");

  RowMatrixD x = load_matrix(cmd.train.at(0));
  const RowMatrixD y = load_matrix(cmd.train.at(1));
  if (y.rows() != x.rows())
    throw Error(cmd.train[1] + ": has " + std::to_string(y.rows()) + " rows but " + cmd.train[0] + " has " +
                std::to_string(x.rows()) + "; need one target per training input");
  std::vector<int> classes;
  if (cmd.classify) integer_labels(y, cmd.train[1], classes);
  if (svm && y.cols() != 1) throw Error(cmd.train[1] + ": the SVM takes one target column; use --method ridge");
  RowMatrixD xt, yt;
  if (!cmd.test.empty()) {
    xt = load_matrix(cmd.test[0]);
    if (xt.cols() != x.cols())
      throw Error(cmd.test[0] + ": has " + std::to_string(xt.cols()) + " columns but " + cmd.train[0] + " has " +
                  std::to_string(x.cols()) + "; both need the same features");
    if (cmd.test.size() == 2) {
      yt = load_matrix(cmd.test[1]);
      if (yt.rows() != xt.rows() || yt.cols() != y.cols())
        throw Error(cmd.test[1] + ": is " + std::to_string(yt.rows()) + " x " + std::to_string(yt.cols()) + ", expected " +
                    std::to_string(xt.rows()) + " x " + std::to_string(y.cols()) + " (one target row per test input)");
      std::vector<int> unused;
      if (cmd.classify) integer_labels(yt, cmd.test[1], unused);
    }
  }
  if (cmd.standardize) {  // z-scores with the training split's statistics (constant columns stay 0)
    const Eigen::RowVectorXd mean = x.colwise().mean();
    Eigen::RowVectorXd sd = ((x.rowwise() - mean).array().square().colwise().sum() / static_cast<double>(x.rows())).sqrt();
    for (Eigen::Index j = 0; j < sd.size(); ++j)
      if (sd[j] == 0) sd[j] = 1;
    x = (x.rowwise() - mean).array().rowwise() / sd.array();
    if (xt.size() != 0) xt = (xt.rowwise() - mean).array().rowwise() / sd.array();
  }

  // Cross-validation over every kernel and regularization: kernels computed once each.
  const std::vector<Candidate> kernels = candidates(cmd, x.cols());
  nlohmann::json table = nlohmann::json::array();
  double best_score = cmd.classify ? -1.0 : std::numeric_limits<double>::infinity();
  std::size_t best_kernel = 0;
  double best_reg = regs.front();
  for (std::size_t c = 0; c < kernels.size(); ++c) {
    const RowMatrixD k = kernels[c].kernel(x, nullptr);
    for (const double r : regs) {
      const KernelMethodSpec spec{svm ? KernelMethod::Svm : KernelMethod::Ridge, cmd.classify, r, cmd.epsilon};
      const double score = kernel_cross_validate(spec, k, y, cmd.folds, cmd.seed);
      table.push_back({{"kernel", kernels[c].name}, {svm ? "C" : "diag_reg", r}, {cmd.classify ? "accuracy" : "mse", score}});
      // Strictly better only: ties keep the earlier (shallower, less regularized or cheaper) one.
      if (cmd.classify ? score > best_score : score < best_score) {
        best_score = score;
        best_kernel = c;
        best_reg = r;
      }
    }
  }
  if (!std::isfinite(best_score))
    throw Error("every candidate failed cross-validation (singular kernels); give --diag-reg values > 0");

  nlohmann::json report = {{"method", cmd.method},
                           {"kernel", kernels[best_kernel].name},
                           {svm ? "C" : "diag_reg", best_reg},
                           {cmd.classify ? "cv_accuracy" : "cv_mse", best_score},
                           {"folds", cmd.folds},
                           {"train_points", x.rows()},
                           {"cross_validation", table}};
  RowMatrixD pred;
  if (xt.size() != 0) {
    const RowMatrixD k = kernels[best_kernel].kernel(x, nullptr), kt = kernels[best_kernel].kernel(xt, &x);
    const KernelMethodSpec spec{svm ? KernelMethod::Svm : KernelMethod::Ridge, cmd.classify, best_reg, cmd.epsilon};
    pred = kernel_fit_predict(spec, k, y, kt);
    report["test_points"] = xt.rows();
    if (yt.size() != 0) {
      if (cmd.classify) {
        report["test_accuracy"] = (pred.array() == yt.array()).cast<double>().mean();
      } else {
        const double mse = (pred - yt).array().square().mean();
        report["test_mse"] = mse;
        report["test_rmse"] = std::sqrt(mse);
      }
    }
  }

  OutputSet outputs;  // both files or neither; the directory is created by the commit
  outputs.create_directory(cmd.out);
  const std::filesystem::path dir(cmd.out);
  if (pred.size() != 0) outputs.add_matrix((dir / "predictions.npy").string(), pred, DType::Float64, pred.cols() == 1);
  outputs.add_file((dir / "report.json").string(), report.dump(2) + "\n");
  outputs.commit();
  std::cout << "chosen: " << kernels[best_kernel].name << ", " << (svm ? "C " : "diag_reg ") << best_reg << " (cv "
            << (cmd.classify ? "accuracy " : "mse ") << best_score << ")";
  if (report.contains("test_accuracy")) std::cout << "; test accuracy " << report["test_accuracy"].get<double>();
  if (report.contains("test_rmse")) std::cout << "; test RMSE " << report["test_rmse"].get<double>();
  std::cout << "\n";
}

void register_one(CLI::App& app, bool classify) {
  auto cmd = std::make_shared<LearnCommand>();
  cmd->classify = classify;
  CLI::App* sub = app.add_subcommand(
      classify ? "classify" : "regress",
      classify ? "Classify with the NTK (or another kernel): one-hot kernel ridge regression or a kernel SVM, tuned by cross-validation"
               : "Regress with the NTK (or another kernel): kernel ridge regression or ε-SVR, tuned by cross-validation");
  sub->footer(std::string("Kernels: --arch SPEC (one network), or a classic --kernel (linear|polynomial|rbf|arccos and its\n"
                          "options), or by default every ReLU network Dense(512, W_std, b_std), Relu (× depth), Dense(1)\n"
                          "over the grids --depth × --w-std × --b-std, with --get ntk|nngp. Each kernel is tried with every\n"
                          "--diag-reg (ridge: λ = diag_reg·tr(K)/n) or --C (svm) by --cv-fold cross-validation on the\n"
                          "training set; the best (") +
              (classify ? "accuracy" : "mean squared error") +
              ") is refitted on the whole training set.\n"
              "Outputs in DIR: report.json (the choice, the whole cross-validation table and, with test\n"
              "targets, the test " + (classify ? std::string("accuracy") : std::string("MSE and RMSE")) +
              ") and predictions.npy (" + (classify ? "predicted labels, (m,)" : "predicted values, (m,) or (m, o)") + ").\n");
  sub->add_option("--train", cmd->train, classify ? "training inputs X (n x d) and integer labels y (n)" : "training inputs X (n x d) and targets Y (n or n x o)")
      ->expected(2)
      ->required();
  sub->add_option("--test", cmd->test, "test inputs X* (m x d), and optionally their targets to score")->expected(1, 2);
  sub->add_option("--arch", cmd->arch, "one network instead of the grid, e.g. \"Dense(512), Relu, Dense(1)\"");
  sub->add_option("--get", cmd->get, "ntk or nngp (the network's kernel to use)")->capture_default_str();
  add_kernel_options(*sub, cmd->kernel);
  cmd->kernel_given = sub->get_option("--kernel");
  sub->add_option("--method", cmd->method, "ridge (kernel ridge regression) or svm (libsvm)")->capture_default_str();
  sub->add_option("--depth", cmd->depths, "hidden layers to try (grid)")->delimiter(',')->capture_default_str();
  sub->add_option("--w-std", cmd->w_stds, "W_std values to try (grid)")->delimiter(',')->capture_default_str();
  sub->add_option("--b-std", cmd->b_stds, "b_std values to try (grid)")->delimiter(',')->capture_default_str();
  sub->add_option("--diag-reg", cmd->diag_regs, "ridge: relative regularizations to try")->delimiter(',')->capture_default_str();
  sub->add_option("--C", cmd->costs, "svm: costs C to try")->delimiter(',')->capture_default_str();
  if (!classify) sub->add_option("--epsilon", cmd->epsilon, "ε-SVR tube half-width")->capture_default_str();
  sub->add_option("--cv", cmd->folds, "cross-validation folds")->capture_default_str();
  sub->add_option("--seed", cmd->seed, "seed of the fold shuffle")->capture_default_str();
  sub->add_flag("--standardize,!--no-standardize", cmd->standardize,
                "z-score the features with the training set's mean and standard deviation (default on)");
  sub->add_option("-o,--out", cmd->out, "output directory (created)")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace

void register_classify_commands(CLI::App& app) {
  register_one(app, true);
  register_one(app, false);
}

}  // namespace ntkit::cli
