// ntkit demo: the lecture's story end to end (docs/mathematics.md §2–§4), the tool's main job.
//
// On the diabetes data, for a geometric sweep of widths m: train the two-layer ReLU network
// by full-batch gradient descent, and compare it with the kernel predictions of the same
// gradient descent, (I - ηK)^s, started from the network's own initial outputs f_NN(0):
// with the infinite-width NTK K, and with the network's own empirical NTK K_m(w0). The gaps
// then measure only finite-width error and drift. Every quantity should shrink like m^(-1/2).
// Writes DIR/report.json (the five quantities per width and their log-log slopes),
// DIR/details.json (training curves, the empirical-kernel gaps), kernel and spectrum .npy
// files; scripts/plot_demo.py draws the plots.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "demo_data.hpp"
#include "ntkit/error.hpp"
#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/two_layer_net.hpp"

namespace ntkit::cli {
namespace {

using json = nlohmann::json;

struct LectureDemo {
  std::string out = "demo-out";
  std::string data;
  std::uint64_t seed = 0;
  int test_size = 100;
  int min_width = 64, max_width = 16384, seeds = 2;
  int steps = 200, record_every = 10;
  std::string activation = "relu";
};

double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

struct WidthResult {
  double kernel_rel_error = 0, weight_rel_change = 0, kernel_rel_drift = 0;
  double train_rel_gap = 0, test_rel_gap = 0, train_rel_gap_empirical = 0, test_rel_gap_empirical = 0;
  std::vector<double> loss_nn, loss_ntk;  // first seed's curves
};

double rel_gap(const VectorD& a, const RowMatrixD& b, const RowMatrixD& y) { return (RowMatrixD(a) - b).norm() / y.norm(); }

WidthResult run_width(const Split& s, const Activation& act, int width, std::uint64_t seed, double lr, int steps,
                      int record_every, const RowMatrixD& k, const RowMatrixD& k_test, const KernelDynamics& dyn) {
  WidthResult r;
  TwoLayerNet net(static_cast<int>(s.x_train.cols()), width, act, seed);
  const NtkParts k0 = net.empirical_ntk(s.x_train);
  const RowMatrixD km = k0.total();
  r.kernel_rel_error = (km - k).norm() / k.norm();
  const RowMatrixD km_test = net.empirical_ntk(s.x_test, s.x_train).total();
  const KernelDynamics dyn_m(km, s.y_train);
  const RowMatrixD f0 = RowMatrixD(net.forward(s.x_train)), f0t = RowMatrixD(net.forward(s.x_test));

  const TwoLayerTrace trace = train_two_layer(net, s.x_train, s.y_train.col(0), s.x_test, {lr, steps, record_every});
  r.weight_rel_change = trace.weight_rel_change.back();
  r.kernel_rel_drift = (net.empirical_ntk(s.x_train).total() - km).norm() / km.norm();
  for (std::size_t i = 0; i < trace.steps.size(); ++i) {
    const long step = trace.steps[i];
    const RowMatrixD ntk_train = dyn.train_after_steps(step, lr, f0);
    r.train_rel_gap = std::max(r.train_rel_gap, rel_gap(trace.train_outputs[i], ntk_train, s.y_train));
    r.test_rel_gap = std::max(r.test_rel_gap,
                              rel_gap(trace.test_outputs[i], dyn.test_after_steps(step, lr, k_test, f0, f0t), s.y_test));
    r.train_rel_gap_empirical = std::max(r.train_rel_gap_empirical,
                                         rel_gap(trace.train_outputs[i], dyn_m.train_after_steps(step, lr, f0), s.y_train));
    r.test_rel_gap_empirical = std::max(
        r.test_rel_gap_empirical,
        rel_gap(trace.test_outputs[i], dyn_m.test_after_steps(step, lr, km_test, f0, f0t), s.y_test));
    r.loss_nn.push_back(trace.loss[i]);
    r.loss_ntk.push_back(0.5 * (ntk_train - s.y_train).squaredNorm());
  }
  return r;
}

void run(const LectureDemo& cmd) {
  const Activation act = parse_activation(cmd.activation);
  if (cmd.min_width < 1 || cmd.max_width < cmd.min_width)
    throw Error("--min-width/--max-width: need 1 <= min-width <= max-width");
  if (cmd.seeds < 1) throw Error("--seeds: must be >= 1");
  if (cmd.steps < 1) throw Error("--steps: must be >= 1");
  if (cmd.record_every < 1) throw Error("--record-every: must be >= 1");
  const std::string data_path = cmd.data.empty() ? default_data_path() : cmd.data;
  const RowMatrixD data = read_matrix(data_path);
  check_output_directory(cmd.out, "--out");
  OutputSet outputs;  // every file or none; the directory is created by the commit
  outputs.create_directory(cmd.out);
  const Split s = split_and_standardize(data, cmd.test_size, cmd.seed);
  const auto start = std::chrono::steady_clock::now();

  std::cerr << "ntkit demo: the two-layer " << activation_name(act) << " network vs its NTK on " << data_path << " ("
            << s.x_train.rows() << " training and " << s.x_test.rows() << " test points, d = " << s.x_train.cols() << ")\n";
  const NtkParts k_parts = two_layer_ntk(act, s.x_train);
  const RowMatrixD k = k_parts.total();
  const RowMatrixD k_test = two_layer_ntk(act, s.x_test, s.x_train).total();
  const KernelDynamics dyn(k, s.y_train);
  // A quarter of the largest stable rate 2/λ_max of the infinite-width kernel: finite-width
  // kernels (down to m = 64) differ from it by tens of percent at most, so the networks are
  // stable too.
  const double lr = dyn.max_stable_learning_rate() / 4;
  outputs.add_matrix(cmd.out + "/ntk_train.npy", k);
  outputs.add_matrix(cmd.out + "/ntk_eigenvalues.npy", RowMatrixD(dyn.eigenvalues().reverse()), DType::Float64, true);

  std::vector<double> widths;
  for (long m = cmd.min_width; m <= cmd.max_width; m *= 2) widths.push_back(static_cast<double>(m));
  json report = {
      {"widths", json::array()},           {"kernel_rel_error", json::array()}, {"weight_rel_change", json::array()},
      {"kernel_rel_drift", json::array()}, {"train_rel_gap", json::array()},    {"test_rel_gap", json::array()}};
  json details = {{"activation", activation_name(act)},
                  {"learning_rate", lr},
                  {"steps", cmd.steps},
                  {"record_every", cmd.record_every},
                  {"seeds", cmd.seeds},
                  {"time", lr * cmd.steps},
                  {"widths", widths},
                  {"train_rel_gap_empirical", json::array()},
                  {"test_rel_gap_empirical", json::array()},
                  {"curves", json::array()}};
  for (double wd : widths) {
    const int m = static_cast<int>(wd);
    WidthResult mean;
    for (int rep = 0; rep < cmd.seeds; ++rep) {
      std::cerr << "\r[width " << std::setw(6) << m << "] network " << rep + 1 << "/" << cmd.seeds << ": training "
                << cmd.steps << " steps" << std::flush;
      const WidthResult r = run_width(s, act, m, cmd.seed * 1000003 + static_cast<std::uint64_t>(m) * 101 + rep, lr,
                                      cmd.steps, cmd.record_every, k, k_test, dyn);
      const double w = 1.0 / cmd.seeds;
      mean.kernel_rel_error += w * r.kernel_rel_error;
      mean.weight_rel_change += w * r.weight_rel_change;
      mean.kernel_rel_drift += w * r.kernel_rel_drift;
      mean.train_rel_gap += w * r.train_rel_gap;
      mean.test_rel_gap += w * r.test_rel_gap;
      mean.train_rel_gap_empirical += w * r.train_rel_gap_empirical;
      mean.test_rel_gap_empirical += w * r.test_rel_gap_empirical;
      if (rep == 0) {
        mean.loss_nn = r.loss_nn;
        mean.loss_ntk = r.loss_ntk;
      }
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "\r[width " << std::setw(6) << m << "] kernel error " << std::setprecision(3) << mean.kernel_rel_error
              << ", weights moved " << mean.weight_rel_change << ", test gap " << mean.test_rel_gap << "  (" << std::fixed
              << std::setprecision(1) << elapsed << " s)" << std::defaultfloat << "\n";
    report["widths"].push_back(m);
    report["kernel_rel_error"].push_back(mean.kernel_rel_error);
    report["weight_rel_change"].push_back(mean.weight_rel_change);
    report["kernel_rel_drift"].push_back(mean.kernel_rel_drift);
    report["train_rel_gap"].push_back(mean.train_rel_gap);
    report["test_rel_gap"].push_back(mean.test_rel_gap);
    details["train_rel_gap_empirical"].push_back(mean.train_rel_gap_empirical);
    details["test_rel_gap_empirical"].push_back(mean.test_rel_gap_empirical);
    details["curves"].push_back({{"width", m}, {"loss_network", mean.loss_nn}, {"loss_ntk", mean.loss_ntk}});
  }
  std::vector<long> steps;
  for (int t = 0; t <= cmd.steps; t += cmd.record_every) steps.push_back(t);
  if (steps.back() != cmd.steps) steps.push_back(cmd.steps);
  details["curve_steps"] = steps;

  json slopes;
  for (const char* key : {"kernel_rel_error", "weight_rel_change", "kernel_rel_drift", "train_rel_gap", "test_rel_gap"}) {
    const std::vector<double> values = report[key].get<std::vector<double>>();
    slopes[key] = widths.size() >= 2 ? loglog_slope(widths, values) : 0.0;
  }
  report["slopes"] = slopes;
  outputs.add_file(cmd.out + "/report.json", report.dump(2) + "\n");
  outputs.add_file(cmd.out + "/details.json", details.dump(2) + "\n");
  outputs.commit();

  std::cout << "\nThe two-layer " << activation_name(act) << " network f(x) = m^(-1/2) Σ b_i σ(a_i·x), " << cmd.steps
            << " gradient-descent steps (t = ηT = " << std::setprecision(3) << lr * cmd.steps << "), " << cmd.seeds
            << " network(s) per width:\n\n";
  std::cout << std::left << std::setw(8) << "width" << std::setw(14) << "|K_m-K|/|K|" << std::setw(14) << "|dw|/|w|"
            << std::setw(14) << "kernel drift" << std::setw(14) << "train gap"
            << "test gap\n";
  for (std::size_t i = 0; i < widths.size(); ++i) {
    std::cout << std::setw(8) << report["widths"][i].get<int>();
    for (const char* key : {"kernel_rel_error", "weight_rel_change", "kernel_rel_drift", "train_rel_gap"})
      std::cout << std::setw(14) << std::setprecision(3) << report[key][i].get<double>();
    std::cout << report["test_rel_gap"][i].get<double>() << "\n";
  }
  std::cout << std::setw(8) << "slope";
  for (const char* key : {"kernel_rel_error", "weight_rel_change", "kernel_rel_drift", "train_rel_gap"})
    std::cout << std::setw(14) << std::setprecision(3) << slopes[key].get<double>();
  std::cout << slopes["test_rel_gap"].get<double>() << "   (theory: -0.5)\n\n"
            << "Gaps are max over recorded steps of |f_NN(t) - f_NTK(t)| / |y|, both from the network's own f(0).\n"
            << "Wrote " << cmd.out << "/report.json and details.json; plots: python3 scripts/plot_demo.py " << cmd.out
            << "\n";
}

}  // namespace

void register_demo_command(CLI::App& app) {
  auto cmd = std::make_shared<LectureDemo>();
  CLI::App* sub = app.add_subcommand(
      "demo", "The main job: the two-layer network vs its NTK across widths on the shipped diabetes data");
  sub->add_option("--out", cmd->out, "output directory (created if missing)")->capture_default_str();
  sub->add_option("--data", cmd->data, "CSV/.npy data, last column the target (default: data/diabetes.csv)");
  sub->add_option("--activation", cmd->activation,
                  "relu | erf | tanh | identity, or an activation of the network text (Gelu, Erf(a=2), ...)")
      ->capture_default_str();
  sub->add_option("--min-width", cmd->min_width, "smallest width m (widths double up to --max-width)")->capture_default_str();
  sub->add_option("--max-width", cmd->max_width, "largest width m")->capture_default_str();
  sub->add_option("--seeds", cmd->seeds, "networks averaged per width")->capture_default_str();
  sub->add_option("--steps", cmd->steps, "gradient-descent steps T")->capture_default_str();
  sub->add_option("--record-every", cmd->record_every, "compare every K steps")->capture_default_str();
  sub->add_option("--seed", cmd->seed, "seed of the split and the networks")->capture_default_str();
  sub->add_option("--test-size", cmd->test_size, "held-out examples")->capture_default_str();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
