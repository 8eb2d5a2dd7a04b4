// ntkit train: trains a finite network drawn from --arch (or its linearization) and records the
// loss, outputs, weight change and kernel drift (mlp_train.hpp).
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_train.hpp"
#include "ntkit/network.hpp"

namespace ntkit::cli {
namespace {

using json = nlohmann::json;

struct TrainCommand {
  std::string arch, test, out, optimizer = "gd", loss = "mse";
  std::vector<std::string> train;
  double lr = 0.0, momentum = 0.9;
  int steps = 0, record_every = 10, batch_size = 0;
  std::uint64_t seed = 0;
  bool linearize = false, no_kernel_drift = false;
};

// Targets: n x O, or for cross-entropy with O ≥ 2 classes a column of integer labels 0 … O − 1.
RowMatrixD load_targets(const std::string& path, Eigen::Index rows, int outputs, Loss loss, const std::string& inputs) {
  const RowMatrixD y = load_matrix(path);
  if (y.rows() != rows) {
    throw Error(path + ": has " + std::to_string(y.rows()) + " rows but " + inputs + " has " + std::to_string(rows) +
                "; need one target row per input");
  }
  if (loss == Loss::CrossEntropy && outputs >= 2 && y.cols() == 1) {
    RowMatrixD one_hot = RowMatrixD::Zero(rows, outputs);
    for (Eigen::Index i = 0; i < rows; ++i) {
      const double label = y(i, 0);
      if (label != std::floor(label) || label < 0 || label >= outputs) {
        std::ostringstream msg;
        msg << path << ": row " << i << " (0-based) holds " << label << ", not a class label 0 … " << outputs - 1
            << " (the network has " << outputs << " outputs)";
        throw Error(msg.str());
      }
      one_hot(i, static_cast<Eigen::Index>(label)) = 1.0;
    }
    return one_hot;
  }
  if (y.cols() != outputs) {
    throw Error(path + ": has " + std::to_string(y.cols()) + " columns but the network has " + std::to_string(outputs) +
                " outputs (its last Dense); give one target column per output" +
                (loss == Loss::CrossEntropy ? " (one-hot), or one column of class labels" : ""));
  }
  return y;
}

RowMatrixD column(const std::vector<double>& values) {
  RowMatrixD out(static_cast<Eigen::Index>(values.size()), 1);
  for (std::size_t i = 0; i < values.size(); ++i) out(static_cast<Eigen::Index>(i), 0) = values[i];
  return out;
}

void run(const TrainCommand& cmd) {
  const Loss loss = parse_loss(cmd.loss);
  const Optimizer optimizer = parse_optimizer(cmd.optimizer);
  if (!(cmd.lr > 0) || !std::isfinite(cmd.lr)) {
    std::ostringstream msg;
    msg << "--lr: must be a finite number > 0, got " << cmd.lr;
    throw Error(msg.str());
  }
  if (cmd.steps < 0) throw Error("--steps: must be >= 0, got " + std::to_string(cmd.steps));
  if (cmd.record_every < 1) throw Error("--record-every: must be >= 1, got " + std::to_string(cmd.record_every));
  if (cmd.batch_size < 0)
    throw Error("--batch-size: must be >= 1 (or 0 for the default), got " + std::to_string(cmd.batch_size));
  if (optimizer == Optimizer::Gd && cmd.batch_size > 0)
    throw Error("--batch-size: 'gd' uses the full batch; for minibatches choose --optimizer sgd or momentum");
  if (!(cmd.momentum >= 0 && cmd.momentum < 1)) {
    std::ostringstream msg;
    msg << "--momentum: must be in [0, 1), got " << cmd.momentum;
    throw Error(msg.str());
  }
  check_output_directory(cmd.out, "--out");
  const Network network = parse_network(cmd.arch);
  // Images and signals keep their shape (Conv, pools, Flatten); Dense acts on the channels.
  const Examples train_examples = load_examples(cmd.train.at(0));
  const RowMatrixD& x = train_examples.x;
  Mlp net(network, train_examples.shape, cmd.seed);
  const RowMatrixD y = load_targets(cmd.train.at(1), x.rows(), net.output_dim(), loss, cmd.train[0]);
  RowMatrixD xt(0, x.cols());
  if (!cmd.test.empty()) {
    Examples test_examples = load_examples(cmd.test);
    require_same_example_shape(train_examples, cmd.train[0], test_examples, cmd.test);
    xt = std::move(test_examples.x);
  }

  TrainOptions options;
  options.learning_rate = cmd.lr;
  options.steps = cmd.steps;
  options.optimizer = optimizer;
  options.loss = loss;
  options.batch_size = cmd.batch_size;
  options.momentum = cmd.momentum;
  options.record_every = cmd.record_every;
  options.record_kernel_drift = !cmd.no_kernel_drift;
  options.seed = cmd.seed;
  const VectorD initial = net.parameters();
  const int report_every = std::max(1, cmd.steps / 20);
  const auto progress = [&](int step) {
    if (step % report_every == 0 || step == cmd.steps)
      std::cerr << "\rntkit train: step " << step << "/" << cmd.steps << std::flush;
  };
  TrainTrace trace;
  VectorD final_parameters;
  try {
    if (cmd.linearize) {
      LinearizedMlp lin(net);
      trace = train(lin, x, y, xt, options, progress);
      final_parameters = lin.parameters();
    } else {
      trace = train(net, x, y, xt, options, progress);
      final_parameters = net.parameters();
    }
  } catch (const Error&) {
    if (cmd.steps > 0) std::cerr << "\n";  // end the progress line before the error message
    throw;
  }
  if (cmd.steps > 0) std::cerr << "\n";

  // Everything computed: only now write, all files or none (the directory is created by the commit).
  OutputSet outputs;
  outputs.create_directory(cmd.out);
  const std::string dir = cmd.out + "/";
  outputs.add_matrix(dir + "steps.npy", column(std::vector<double>(trace.steps.begin(), trace.steps.end())), DType::Float64,
                     true);
  outputs.add_matrix(dir + "loss.npy", column(trace.loss), DType::Float64, true);
  outputs.add_matrix(dir + "weight_rel_change.npy", column(trace.weight_rel_change), DType::Float64, true);
  if (!trace.kernel_rel_drift.empty())
    outputs.add_matrix(dir + "kernel_rel_drift.npy", column(trace.kernel_rel_drift), DType::Float64, true);
  // (records, n, O): f(X) at every record, as ntkit predict's (times, points, outputs).
  outputs.add_npy_stack(dir + "train_outputs.npy", trace.train_outputs);
  if (xt.rows() > 0) outputs.add_npy_stack(dir + "test_outputs.npy", trace.test_outputs);
  outputs.add_matrix(dir + "params_initial.npy", RowMatrixD(initial), DType::Float64, true);
  outputs.add_matrix(dir + "params_final.npy", RowMatrixD(final_parameters), DType::Float64, true);
  json layout = json::array();
  for (const Mlp::DenseParameters& d : net.dense_parameters())
    layout.push_back({{"in", d.in}, {"out", d.out}, {"weight_offset", d.weight_offset}, {"bias_offset", d.bias_offset}});
  json summary = {{"arch", to_string(network)},
                  {"linearized", cmd.linearize},
                  {"seed", cmd.seed},
                  {"optimizer", cmd.optimizer},
                  {"loss", cmd.loss},
                  {"learning_rate", cmd.lr},
                  {"steps", cmd.steps},
                  {"outputs", net.output_dim()},
                  {"parameters", net.parameter_count()},
                  {"initial_loss", trace.loss.front()},
                  {"final_loss", trace.loss.back()},
                  {"weight_rel_change", trace.weight_rel_change.back()},
                  {"dense_parameters", layout}};
  if (!trace.kernel_rel_drift.empty()) summary["kernel_rel_drift"] = trace.kernel_rel_drift.back();
  outputs.add_file(dir + "summary.json", summary.dump(2) + "\n");
  outputs.commit();
  std::cout << "loss " << trace.loss.front() << " -> " << trace.loss.back() << ", weights moved "
            << trace.weight_rel_change.back() << " (relative)";
  if (!trace.kernel_rel_drift.empty()) std::cout << ", kernel drifted " << trace.kernel_rel_drift.back() << " (relative)";
  std::cout << "\n";
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto cmd = std::make_shared<TrainCommand>();
  CLI::App* sub = app.add_subcommand(
      "train",
      "Train a finite network drawn from --arch (or its linearization); records loss, outputs, weight "
      "change and kernel drift");
  sub->add_option("--arch", cmd->arch, "the network, e.g. \"Dense(512), Relu, Dense(1)\" (neural-tangents' layer names)")
      ->required();
  sub->footer(kInputsHelp);
  sub->add_option("--train", cmd->train,
                  "training inputs X (n x d) and targets Y (n x O; cross-entropy also takes a column of class labels)")
      ->expected(2)
      ->required();
  sub->add_option("--test", cmd->test, "test inputs X* (n* x d) to record outputs on");
  sub->add_option("--lr", cmd->lr, "learning rate η")->required();
  sub->add_option("--steps", cmd->steps, "optimizer steps T")->required();
  sub->add_option("--optimizer", cmd->optimizer, "gd (full batch), sgd (minibatches) or momentum")->capture_default_str();
  sub->add_option("--loss", cmd->loss, "mse (½Σ/(n·O), neural-tangents'), mse-sum (½Σ, the lecture's) or cross-entropy")
      ->capture_default_str();
  sub->add_option("--batch-size", cmd->batch_size, "minibatch size for sgd (default 32) and momentum (default: full batch)")
      ->capture_default_str();
  sub->add_option("--momentum", cmd->momentum, "momentum mass μ: v ← μv + g, w ← w − ηv")->capture_default_str();
  sub->add_option("--record-every", cmd->record_every, "record every K steps (and step 0 and the last)")
      ->capture_default_str();
  sub->add_option("--seed", cmd->seed, "seed of the initial parameters and the minibatch order")->capture_default_str();
  sub->add_flag("--linearize", cmd->linearize, "train the linearized network f(w0) + J(w0)(w − w0) instead");
  sub->add_flag("--no-kernel-drift", cmd->no_kernel_drift,
                "skip the empirical NTK at each record (it costs O(n² Σ widths) per record)");
  sub->add_option("--out", cmd->out,
                  "output directory: steps, loss, weight_rel_change, kernel_rel_drift, train_outputs / "
                  "test_outputs (records, n, O), params_initial / params_final .npy, summary.json")
      ->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
