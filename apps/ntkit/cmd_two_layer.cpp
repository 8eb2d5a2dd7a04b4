// ntkit two-layer ntk | train | predict: the lecture's two-layer network (docs/mathematics.md §2–§4).
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/two_layer_net.hpp"

namespace ntkit::cli {
namespace {

using json = nlohmann::json;

VectorD load_targets(const std::string& path, Eigen::Index rows, const std::string& inputs) {
  const RowMatrixD y = load_matrix(path);
  if (y.cols() != 1) {
    throw Error(path + ": the two-layer network has one output, so targets must be one column (or 1-D), got " +
                std::to_string(y.cols()) + " columns");
  }
  if (y.rows() != rows) {
    throw Error(path + ": has " + std::to_string(y.rows()) + " targets but " + inputs + " has " + std::to_string(rows) +
                " rows; need one target per input");
  }
  return y.col(0);
}

void require_columns(const RowMatrixD& m, Eigen::Index cols, const std::string& path, const std::string& other) {
  if (m.cols() != cols) {
    throw Error(path + ": has " + std::to_string(m.cols()) + " columns but " + other + " has " + std::to_string(cols) +
                "; both need the same number of features");
  }
}

// ---- ntkit two-layer ntk ---------------------------------------------------------------
struct NtkCommand {
  std::string x1, x2, activation = "relu", part = "total", output;
  int width = 0;
  std::uint64_t seed = 0;
  int quadrature_degree = 0;
};

void run_ntk(const NtkCommand& cmd) {
  check_output_path(cmd.output);
  const Activation act = parse_activation(cmd.activation);
  if (cmd.part != "a" && cmd.part != "b" && cmd.part != "total")
    throw Error("--part: unknown value '" + cmd.part + "'; choose a, b or total");
  const RowMatrixD x1 = load_matrix(cmd.x1);
  RowMatrixD x2;
  if (!cmd.x2.empty()) {
    x2 = load_matrix(cmd.x2);
    require_columns(x2, x1.cols(), cmd.x2, "--x1 " + cmd.x1);
  }
  NtkParts k;
  if (cmd.width > 0) {  // 0: --width absent (the option accepts only m >= 1)
    const TwoLayerNet net(static_cast<int>(x1.cols()), cmd.width, act, cmd.seed);
    k = cmd.x2.empty() ? net.empirical_ntk(x1) : net.empirical_ntk(x1, x2);
  } else {
    TwoLayerKernelOptions options;
    options.quadrature_degree = cmd.quadrature_degree;
    k = cmd.x2.empty() ? two_layer_ntk(act, x1, options) : two_layer_ntk(act, x1, x2, options);
  }
  const RowMatrixD out = cmd.part == "a" ? k.a : cmd.part == "b" ? k.b : k.total();
  write_matrix(cmd.output, out);
}

// ---- ntkit two-layer train -------------------------------------------------------------
struct TrainCommand {
  std::vector<std::string> train;
  std::string test, activation = "relu", out;
  int width = 1024, steps = 1000, record_every = 10;
  double lr = 0.0;
  std::uint64_t seed = 0;
};

void run_train(const TrainCommand& cmd) {
  const Activation act = parse_activation(cmd.activation);
  if (cmd.width < 1) throw Error("--width: must be >= 1, got " + std::to_string(cmd.width));
  if (cmd.steps < 0) throw Error("--steps: must be >= 0");
  if (cmd.record_every < 1) throw Error("--record-every: must be >= 1");
  if (cmd.lr < 0 || !std::isfinite(cmd.lr)) {
    std::ostringstream msg;
    msg << "--lr: must be a finite number > 0 (or absent for 1 / λ_max of the network's kernel), got " << cmd.lr;
    throw Error(msg.str());
  }
  check_output_directory(cmd.out, "--out");
  const RowMatrixD x = load_matrix(cmd.train.at(0));
  const VectorD y = load_targets(cmd.train.at(1), x.rows(), cmd.train[0]);
  RowMatrixD xt(0, x.cols());
  if (!cmd.test.empty()) {
    xt = load_matrix(cmd.test);
    require_columns(xt, x.cols(), cmd.test, cmd.train[0]);
  }

  TwoLayerNet net(static_cast<int>(x.cols()), cmd.width, act, cmd.seed);
  const NtkParts k0 = net.empirical_ntk(x);
  double lr = cmd.lr;
  if (lr == 0.0) {  // default: half the largest stable rate of the network's own kernel
    lr = KernelDynamics(k0.total(), RowMatrixD(y)).max_stable_learning_rate() / 2;
    std::cerr << "ntkit two-layer train: learning rate " << lr << " (1 / λ_max of K_m(w0))\n";
  }
  if (!(lr > 0) || !std::isfinite(lr)) throw Error("--lr: must be a finite number > 0");
  const int report_every = std::max(1, cmd.steps / 20);
  TwoLayerTrace trace;
  try {
    trace = train_two_layer(net, x, y, xt, {lr, cmd.steps, cmd.record_every}, [&](int step) {
      if (step % report_every == 0 || step == cmd.steps)
        std::cerr << "\rntkit two-layer train: step " << step << "/" << cmd.steps << std::flush;
    });
  } catch (const Error&) {
    if (cmd.steps > 0) std::cerr << "\n";  // end the progress line before the error message
    throw;
  }
  if (cmd.steps > 0) std::cerr << "\n";
  const NtkParts k_end = net.empirical_ntk(x);
  const double drift = (k_end.total() - k0.total()).norm() / k0.total().norm();

  const auto records = static_cast<Eigen::Index>(trace.steps.size());
  RowMatrixD train_out(records, x.rows()), test_out(records, xt.rows()), steps(records, 1), loss(records, 1),
      change(records, 1);
  for (Eigen::Index r = 0; r < records; ++r) {
    train_out.row(r) = trace.train_outputs[static_cast<std::size_t>(r)].transpose();
    if (xt.rows() > 0) test_out.row(r) = trace.test_outputs[static_cast<std::size_t>(r)].transpose();
    steps(r, 0) = trace.steps[static_cast<std::size_t>(r)];
    loss(r, 0) = trace.loss[static_cast<std::size_t>(r)];
    change(r, 0) = trace.weight_rel_change[static_cast<std::size_t>(r)];
  }
  OutputSet outputs;  // every file or none; the directory is created by the commit
  outputs.create_directory(cmd.out);
  outputs.add_matrix(cmd.out + "/steps.npy", steps, DType::Float64, true);
  outputs.add_matrix(cmd.out + "/loss.npy", loss, DType::Float64, true);
  outputs.add_matrix(cmd.out + "/weight_rel_change.npy", change, DType::Float64, true);
  outputs.add_matrix(cmd.out + "/train_outputs.npy", train_out);
  if (xt.rows() > 0) outputs.add_matrix(cmd.out + "/test_outputs.npy", test_out);
  const json summary = {{"width", cmd.width},
                        {"activation", activation_name(act)},
                        {"seed", cmd.seed},
                        {"learning_rate", lr},
                        {"steps", cmd.steps},
                        {"time", lr * cmd.steps},
                        {"initial_loss", trace.loss.front()},
                        {"final_loss", trace.loss.back()},
                        {"weight_rel_change", trace.weight_rel_change.back()},
                        {"kernel_rel_drift", drift}};
  outputs.add_file(cmd.out + "/summary.json", summary.dump(2) + "\n");
  outputs.commit();
  std::cout << "loss " << trace.loss.front() << " -> " << trace.loss.back() << ", weights moved "
            << trace.weight_rel_change.back() << " (relative), kernel drifted " << drift << " (relative)\n";
}

// ---- ntkit two-layer predict -----------------------------------------------------------
struct PredictCommand {
  std::vector<std::string> train;
  std::string test, activation = "relu", times = "0,1,10,inf", loss = "sum", out;
  int width = 0;
  std::uint64_t seed = 0;
  double diag_reg = 0.0, lr = 0.0;
  bool diag_reg_absolute = false;
};

void run_predict(const PredictCommand& cmd) {
  const Activation act = parse_activation(cmd.activation);
  const std::vector<double> times = parse_times(cmd.times);
  DynamicsOptions options;
  options.normalization = parse_loss_normalization(cmd.loss);
  options.diag_reg = cmd.diag_reg;
  options.diag_reg_absolute = cmd.diag_reg_absolute;
  if (cmd.lr < 0 || !std::isfinite(cmd.lr)) {
    std::ostringstream msg;
    msg << "--lr: must be a finite number > 0 (or absent for gradient flow), got " << cmd.lr;
    throw Error(msg.str());
  }
  if (!(cmd.diag_reg >= 0) || !std::isfinite(cmd.diag_reg)) {
    std::ostringstream msg;
    msg << "--diag-reg: must be a finite number >= 0, got " << cmd.diag_reg;
    throw Error(msg.str());
  }
  check_output_directory(cmd.out, "--out");
  if (cmd.lr > 0) {
    for (double t : times) {
      if (std::isfinite(t) && (t != std::floor(t) || t > 1e15)) {
        std::ostringstream msg;
        msg << "--time: with --lr the times count gradient-descent steps and must be whole numbers <= 1e15, got " << t;
        throw Error(msg.str());
      }
    }
  }
  const RowMatrixD x = load_matrix(cmd.train.at(0));
  const RowMatrixD y = load_targets(cmd.train.at(1), x.rows(), cmd.train[0]);
  const RowMatrixD xt = load_matrix(cmd.test);
  require_columns(xt, x.cols(), cmd.test, cmd.train[0]);

  RowMatrixD k, kt, f0, f0t;
  if (cmd.width > 0) {  // the empirical kernel of one network, starting from its own outputs
    const TwoLayerNet net(static_cast<int>(x.cols()), cmd.width, act, cmd.seed);
    k = net.empirical_ntk(x).total();
    kt = net.empirical_ntk(xt, x).total();
    f0 = RowMatrixD(net.forward(x));
    f0t = RowMatrixD(net.forward(xt));
  } else {  // infinite width: the mean over initializations, f0 = 0
    k = two_layer_ntk(act, x).total();
    kt = two_layer_ntk(act, xt, x).total();
  }
  const KernelDynamics dyn(k, y, options);
  const auto n_times = static_cast<Eigen::Index>(times.size());
  RowMatrixD train(n_times, x.rows()), test(n_times, xt.rows());
  for (Eigen::Index i = 0; i < n_times; ++i) {
    const double t = times[static_cast<std::size_t>(i)];
    if (cmd.lr > 0 && std::isfinite(t)) {  // gradient descent: t counts steps of rate lr
      const auto steps = static_cast<long>(std::llround(t));
      train.row(i) = dyn.train_after_steps(steps, cmd.lr, f0).transpose();
      test.row(i) = dyn.test_after_steps(steps, cmd.lr, kt, f0, f0t).transpose();
    } else {
      train.row(i) = dyn.train_at_time(t, f0).transpose();
      test.row(i) = dyn.test_at_time(t, kt, f0, f0t).transpose();
    }
  }
  OutputSet outputs;  // every file or none; the directory is created by the commit
  outputs.create_directory(cmd.out);
  outputs.add_matrix(cmd.out + "/train.npy", train);
  outputs.add_matrix(cmd.out + "/test.npy", test);
  RowMatrixD tcol(n_times, 1);
  for (Eigen::Index i = 0; i < n_times; ++i) tcol(i, 0) = times[static_cast<std::size_t>(i)];
  outputs.add_matrix(cmd.out + "/times.npy", tcol, DType::Float64, true);
  outputs.commit();
}

}  // namespace

void register_two_layer_command(CLI::App& app) {
  CLI::App* group = app.add_subcommand(
      "two-layer", "The lecture's network f(x) = m^(-1/2) Σ b_i σ(a_i·x): its NTK, training, and kernel predictions");
  group->require_subcommand(1);

  auto ntk = std::make_shared<NtkCommand>();
  CLI::App* s1 = group->add_subcommand("ntk", "NTK K(X1, X2) = K^a + K^b: infinite width, or of one network with --width");
  s1->add_option("--x1", ntk->x1, "first input, n1 x d (.npy or .csv)")->required();
  s1->add_option("--x2", ntk->x2, "second input, n2 x d (default: --x1)");
  s1->add_option("--activation", ntk->activation,
                 "relu | erf | tanh | identity, or an activation of the network text (Gelu, Erf(a=2), ...)")
      ->capture_default_str();
  s1->add_option("--part", ntk->part, "a (first-layer weights), b (second layer) or total")->capture_default_str();
  // Absent means infinite width; 0 is no network at all, so only m >= 1 is accepted.
  s1->add_option("--width", ntk->width, "m: the empirical kernel of a random network of this width (default: infinite)")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  s1->add_option("--seed", ntk->seed, "seed of the network's weights")->capture_default_str();
  s1->add_option("--quadrature-degree", ntk->quadrature_degree,
                 "tanh: 0 = the kernel engine's default rule (~1e-14), N = Gauss–Hermite with N points per axis")
      ->capture_default_str();
  s1->add_option("-o,--output", ntk->output, "output file: .npy, .csv or .txt")->required();
  s1->callback([ntk] { run_ntk(*ntk); });

  auto train = std::make_shared<TrainCommand>();
  CLI::App* s2 = group->add_subcommand(
      "train", "Full-batch gradient descent on ½Σ(f - y)²; records outputs, loss, weight change, kernel drift");
  s2->add_option("--train", train->train, "training inputs X (n x d) and targets y (n)")->expected(2)->required();
  s2->add_option("--test", train->test, "test inputs X* (n* x d) to record outputs on");
  s2->add_option("--activation", train->activation,
                 "relu | erf | tanh | identity, or an activation of the network text (Gelu, Erf(a=2), ...)")
      ->capture_default_str();
  s2->add_option("--width", train->width, "m, the number of hidden neurons")->capture_default_str();
  s2->add_option("--lr", train->lr, "learning rate η (default: 1 / λ_max of the network's kernel)");
  s2->add_option("--steps", train->steps, "gradient-descent steps T")->capture_default_str();
  s2->add_option("--record-every", train->record_every, "record every K steps (and the last)")->capture_default_str();
  s2->add_option("--seed", train->seed, "seed of the initial weights")->capture_default_str();
  s2->add_option("--out", train->out,
                 "output directory: steps, loss, weight_rel_change, train/test_outputs .npy, summary.json")
      ->required();
  s2->callback([train] { run_train(*train); });

  auto predict = std::make_shared<PredictCommand>();
  CLI::App* s3 = group->add_subcommand("predict",
                                       "Kernel predictions of training: u(t) = e^(-Kt) u(0) on train and test points");
  s3->add_option("--train", predict->train, "training inputs X (n x d) and targets y (n)")->expected(2)->required();
  s3->add_option("--test", predict->test, "test inputs X* (n* x d)")->required();
  s3->add_option("--activation", predict->activation,
                 "relu | erf | tanh | identity, or an activation of the network text (Gelu, Erf(a=2), ...)")
      ->capture_default_str();
  s3->add_option("--width", predict->width, "use the empirical kernel of this network (and its f0) instead of infinite width")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  s3->add_option("--seed", predict->seed, "seed of the network (with --width)")->capture_default_str();
  s3->add_option("--time", predict->times, "comma-separated times t (gradient flow), or steps with --lr; 'inf' allowed")
      ->capture_default_str();
  s3->add_option("--lr", predict->lr, "gradient descent with this learning rate: --time counts steps");
  s3->add_option("--loss", predict->loss, "sum (½Σ, the lecture's) or mean (½Σ/N, neural-tangents')")->capture_default_str();
  s3->add_option("--diag-reg", predict->diag_reg, "add diag_reg·tr(K)/n to K's diagonal")->capture_default_str();
  s3->add_flag("--diag-reg-absolute", predict->diag_reg_absolute, "add diag_reg itself instead of diag_reg·tr(K)/n");
  s3->add_option("--out", predict->out, "output directory: times.npy, train.npy (times x n), test.npy (times x n*)")
      ->required();
  s3->callback([predict] { run_predict(*predict); });
}

}  // namespace ntkit::cli
