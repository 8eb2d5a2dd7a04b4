// ntkit image-demo: convolutional kernels on real images (docs/mathematics.md §7).
//
// On a few hundred Fashion-MNIST images (Debian's dataset-fashion-mnist), classify the test
// images by kernel regression on one-hot targets (gradient flow to t = ∞, i.e. the infinitely
// wide network trained to convergence on the squared loss) with
//   - the CNTK and CNN-GP of a small convolutional network (3 × 3 SAME convolutions, ReLU, 2 × 2
//     average pools, Flatten, Dense), and
//   - the NTK and NNGP of a fully connected ReLU network on the flattened pixels,
// and train a finite CNN of the same description (width --channels) by SGD with momentum on the
// same squared loss. Writes DIR/report.json (accuracies, sizes, timings), DIR/details.json
// (confusion matrices, the finite CNN's curve, the test images' predictions) and the CNTK and
// the test images as .npy; scripts/plot_image_demo.py draws the figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_train.hpp"
#include "ntkit/network.hpp"
#include "ntkit/predict.hpp"
#include "progress_bar.hpp"

namespace ntkit::cli {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr int kClasses = 10;

struct ImageDemo {
  std::string out = "demo-out/images";
  int train = 256, test = 256;
  int channels = 16;  // the finite CNN's width
  int steps = 600, batch = 32;
  double learning_rate = 4.0;
  std::uint64_t seed = 0;
  bool quiet = false;
};

// The convolutional network: its text at a given width (the kernels do not depend on it).
std::string cnn_text(int channels) {
  const std::string conv = "Conv(" + std::to_string(channels) + ", (3, 3), padding='SAME', W_std=1.414, b_std=0.1)";
  const std::string pool = "AvgPool((2, 2), strides=(2, 2))";
  return conv + ", Relu, " + conv + ", Relu, " + pool + ", " + conv + ", Relu, " + pool +
         ", Flatten, Dense(10, W_std=1.414, b_std=0.1)";
}

const char* kFullyConnected =
    "Flatten, Dense(512, W_std=1.414, b_std=0.1), Relu, Dense(512, W_std=1.414, b_std=0.1), Relu, "
    "Dense(10, W_std=1.414, b_std=0.1)";

// Each image centred and scaled to unit variance over its pixels (brightness and contrast do not
// decide the class).
void standardize_rows(RowMatrixD& x) {
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto row = x.row(i);
    const double mean = row.mean();
    row.array() -= mean;
    const double norm = std::sqrt(row.squaredNorm() / static_cast<double>(row.size()));
    if (norm > 0) row /= norm;
  }
}

std::vector<int> read_labels(const std::string& source) {
  const Examples labels = read_examples(source);
  std::vector<int> out;
  for (Eigen::Index i = 0; i < labels.x.rows(); ++i) out.push_back(static_cast<int>(labels.x(i, 0)));
  return out;
}

// One-hot targets, centred as in neural-tangents' examples (1 − 1/10 and −1/10).
RowMatrixD targets(const std::vector<int>& labels) {
  RowMatrixD y = RowMatrixD::Constant(static_cast<Eigen::Index>(labels.size()), kClasses, -1.0 / kClasses);
  for (std::size_t i = 0; i < labels.size(); ++i) y(static_cast<Eigen::Index>(i), labels[i]) += 1.0;
  return y;
}

std::vector<int> argmax_rows(const RowMatrixD& f) {
  std::vector<int> out;
  for (Eigen::Index i = 0; i < f.rows(); ++i) {
    Eigen::Index best = 0;
    f.row(i).maxCoeff(&best);
    out.push_back(static_cast<int>(best));
  }
  return out;
}

double accuracy(const std::vector<int>& predicted, const std::vector<int>& labels) {
  int right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

json confusion(const std::vector<int>& predicted, const std::vector<int>& labels) {
  std::vector<std::vector<int>> counts(kClasses, std::vector<int>(kClasses, 0));
  for (std::size_t i = 0; i < labels.size(); ++i) ++counts[labels[i]][predicted[i]];
  return counts;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Kernel regression at t = ∞ (a tiny ridge, relative to the kernel's mean eigenvalue, keeps the
// solve well posed), for the NTK and the NNGP of one network.
struct KernelResult {
  double ntk_accuracy = 0, nngp_accuracy = 0, seconds = 0;
  std::vector<int> ntk_predicted, nngp_predicted;
  RowMatrixD ntk_train;
};

KernelResult kernel_regression(const std::string& label, const Network& network, const Examples& train, const Examples& test,
                               const RowMatrixD& y, const std::vector<int>& test_labels, bool quiet) {
  const auto start = clock_type::now();
  AnalyticOptions options;
  options.input_shape = train.input_shape();
  AnalyticKernels k_train, k_test;
  {
    ProgressBar bar(label + " K(train, train)", quiet);
    options.progress = bar.callback();
    k_train = analytic_kernels(network, train.x, options);
  }
  {
    ProgressBar bar(label + " K(test, train)", quiet);
    options.progress = bar.callback();
    k_test = analytic_kernels(network, test.x, train.x, options);
  }
  KernelResult result;
  DynamicsOptions dynamics;
  dynamics.diag_reg = 1e-6;  // relative to the mean eigenvalue (trace / n)
  const double inf = std::numeric_limits<double>::infinity();
  const Trajectory ntk = predict_mse(k_train.ntk, k_test.ntk, y, {inf}, dynamics);
  const Trajectory nngp = predict_mse(k_train.nngp, k_test.nngp, y, {inf}, dynamics);
  result.ntk_predicted = argmax_rows(ntk.test.front());
  result.nngp_predicted = argmax_rows(nngp.test.front());
  result.ntk_accuracy = accuracy(result.ntk_predicted, test_labels);
  result.nngp_accuracy = accuracy(result.nngp_predicted, test_labels);
  result.seconds = seconds_since(start);
  result.ntk_train = std::move(k_train.ntk);
  return result;
}

void run(const ImageDemo& cmd) {
  if (cmd.train < kClasses || cmd.test < 1) throw Error("image-demo: --train needs at least 10 images and --test at least 1");
  if (cmd.channels < 1 || cmd.steps < 1 || cmd.batch < 1 || !(cmd.learning_rate > 0)) {
    throw Error("image-demo: --channels, --steps and --batch must be positive and --learning-rate > 0");
  }
  OutputSet outputs;  // every file or none; the directory too
  outputs.create_directory(cmd.out);
  const std::string train_source = "fashion-mnist:train[:" + std::to_string(cmd.train) + "]";
  const std::string test_source = "fashion-mnist:test[:" + std::to_string(cmd.test) + "]";
  Examples train_set = read_examples(train_source), test_set = read_examples(test_source);
  const std::vector<int> train_labels = read_labels(labels_source_for(parse_data_source(train_source)));
  const std::vector<int> test_labels = read_labels(labels_source_for(parse_data_source(test_source)));
  standardize_rows(train_set.x);
  standardize_rows(test_set.x);
  const RowMatrixD y = targets(train_labels);
  std::cout << "Fashion-MNIST: " << cmd.train << " training and " << cmd.test << " test images of shape "
            << shape_to_string(train_set.shape) << ", 10 classes\n\n";

  const Network cnn = parse_network(cnn_text(cmd.channels));
  const KernelResult conv = kernel_regression("CNTK", cnn, train_set, test_set, y, test_labels, cmd.quiet);
  std::cout << std::fixed << std::setprecision(1) << "CNTK    " << 100 * conv.ntk_accuracy << " %   CNN-GP "
            << 100 * conv.nngp_accuracy << " %   (" << conv.seconds << " s)\n";
  const KernelResult dense = kernel_regression("FC NTK", parse_network(kFullyConnected), train_set, test_set, y, test_labels,
                                               cmd.quiet);
  std::cout << "FC NTK  " << 100 * dense.ntk_accuracy << " %   FC NNGP " << 100 * dense.nngp_accuracy << " %   ("
            << dense.seconds << " s)\n";

  // The finite CNN of the same description, trained by SGD with momentum on the same loss.
  const auto start = clock_type::now();
  Mlp net(cnn, train_set.shape, cmd.seed);
  TrainOptions train_options;
  train_options.learning_rate = cmd.learning_rate;
  train_options.steps = cmd.steps;
  train_options.optimizer = Optimizer::Momentum;
  train_options.batch_size = cmd.batch;
  train_options.loss = Loss::MseMean;
  train_options.record_every = std::max(1, cmd.steps / 30);
  train_options.record_kernel_drift = false;
  train_options.seed = cmd.seed;
  TrainTrace trace;
  {
    ProgressBar bar("CNN training", cmd.quiet);
    trace = train(net, train_set.x, y, test_set.x, train_options,
                  [&](int step) { bar.update(static_cast<double>(step) / cmd.steps); });
  }
  const double cnn_seconds = seconds_since(start);
  std::vector<double> curve;
  for (const RowMatrixD& f : trace.test_outputs) curve.push_back(accuracy(argmax_rows(f), test_labels));
  const std::vector<int> cnn_predicted = argmax_rows(trace.test_outputs.back());
  const double cnn_accuracy = accuracy(cnn_predicted, test_labels);
  std::cout << "CNN     " << 100 * cnn_accuracy << " %   (width " << cmd.channels << ", " << cmd.steps << " steps, "
            << cnn_seconds << " s)\n"
            << std::defaultfloat;

  json report = {{"train_images", cmd.train},
                 {"test_images", cmd.test},
                 {"image_shape", train_set.shape},
                 {"cnn", cnn_text(cmd.channels)},
                 {"fully_connected", kFullyConnected},
                 {"accuracy",
                  {{"cntk", conv.ntk_accuracy},
                   {"cnn_gp", conv.nngp_accuracy},
                   {"fc_ntk", dense.ntk_accuracy},
                   {"fc_nngp", dense.nngp_accuracy},
                   {"finite_cnn", cnn_accuracy}}},
                 {"seconds", {{"conv_kernels", conv.seconds}, {"fc_kernels", dense.seconds}, {"finite_cnn", cnn_seconds}}},
                 {"finite_cnn",
                  {{"channels", cmd.channels},
                   {"steps", cmd.steps},
                   {"batch", cmd.batch},
                   {"learning_rate", cmd.learning_rate},
                   {"optimizer", "momentum 0.9"}}}};
  json details = {
      {"class_names",
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}},
      {"test_labels", test_labels},
      {"train_labels", train_labels},
      {"predicted", {{"cntk", conv.ntk_predicted}, {"fc_ntk", dense.ntk_predicted}, {"finite_cnn", cnn_predicted}}},
      {"confusion",
       {{"cntk", confusion(conv.ntk_predicted, test_labels)},
        {"fc_ntk", confusion(dense.ntk_predicted, test_labels)},
        {"finite_cnn", confusion(cnn_predicted, test_labels)}}},
      {"cnn_curve", {{"steps", trace.steps}, {"test_accuracy", curve}, {"train_loss", trace.loss}}}};
  outputs.add_file(cmd.out + "/report.json", report.dump(2) + "\n");
  outputs.add_file(cmd.out + "/details.json", details.dump(2) + "\n");
  outputs.add_matrix(cmd.out + "/cntk_train.npy", conv.ntk_train, DType::Float32);
  outputs.add_matrix(cmd.out + "/test_images.npy", test_set.x, DType::Float32);
  outputs.commit();
  std::cout << "\nKernel regression at t = ∞ on one-hot targets; the CNN trained on the same squared loss.\n"
            << "Wrote " << cmd.out << "/report.json and details.json; plots: python3 scripts/plot_image_demo.py " << cmd.out
            << "\n";
}

}  // namespace

void register_image_demo_command(CLI::App& app) {
  auto cmd = std::make_shared<ImageDemo>();
  CLI::App* sub = app.add_subcommand(
      "image-demo",
      "Convolutional kernels on Fashion-MNIST: CNTK vs fully connected NTK vs a trained CNN (needs dataset-fashion-mnist)");
  sub->add_option("--out", cmd->out, "output directory (created if missing)")->capture_default_str();
  sub->add_option("--train", cmd->train, "training images (the first N of the training set)")->capture_default_str();
  sub->add_option("--test", cmd->test, "test images (the first N of the test set)")->capture_default_str();
  sub->add_option("--channels", cmd->channels, "the finite CNN's channels per convolution")->capture_default_str();
  sub->add_option("--steps", cmd->steps, "the finite CNN's training steps")->capture_default_str();
  sub->add_option("--batch", cmd->batch, "the finite CNN's minibatch size")->capture_default_str();
  sub->add_option("--learning-rate", cmd->learning_rate, "the finite CNN's learning rate (momentum 0.9)")
      ->capture_default_str();
  sub->add_option("--seed", cmd->seed, "seed of the finite CNN and its minibatches")->capture_default_str();
  sub->add_flag("--quiet", cmd->quiet, "no progress bars");
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace ntkit::cli
