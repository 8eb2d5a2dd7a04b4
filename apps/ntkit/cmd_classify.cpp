// ntkit classify | regress: the NTK (or NNGP, or any classic kernel) as the kernel of kernel
// ridge regression or a kernel SVM on small data, hyperparameters by cross-validation
// (stratified by class when classifying) or on a fixed validation split.
//
// Every kernel of the grid is computed once and serves every fold and every regularization
// value; the (fold, value) fits run in parallel (kernel_cross_validate_grid). Options that
// would have no effect, or contradict each other, are errors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "commands.hpp"
#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/labels.hpp"
#include "ntkit/network.hpp"
#include "ntkit/predict_kernel_methods.hpp"
#include "progress_bar.hpp"

namespace ntkit::cli {
namespace {

// Decades wide enough that the choice rarely sits at an edge: over 38 UCI data sets C hit
// 0.1 or 100 in 70 of 147 folds and diag_reg 1e-4 or 1 in 107 of 144 with the old grids
// (issue 18). Arora et al. (2020) tune C over 1e-2 … 1e4; one more decade below.
const std::vector<double> kDefaultDiagRegs{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0};
const std::vector<double> kDefaultCosts{1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4};

struct LearnCommand {
  bool classify = true;
  CLI::App* app = nullptr;  // for which options were given
  std::vector<std::string> train, test;
  std::string label_column, validation;
  std::string arch, get = "ntk", method = "ridge", out, kernel;
  std::vector<int> depths{1, 2, 3}, fixed_layers{0};
  std::vector<double> w_stds{1.0, 1.5, 2.0}, b_stds{0.0, 0.1}, diag_regs = kDefaultDiagRegs, costs = kDefaultCosts, gammas;
  int degree = 2, order = 1;
  double c = 1.0, epsilon = 0.1;
  int folds = 5;
  std::uint64_t seed = 0;
  bool standardize = false, no_standardize = false, quiet = false;

  bool given(const std::string& option) const {
    const CLI::Option* o = app->get_option_no_throw(option);  // regress has no --label-column
    return o != nullptr && o->count() > 0;
  }
};

// A kernel to try: its name, its grid coordinates (for the edge report) and K(A, B) (K(A, A)
// when b is null), reporting progress.
struct Candidate {
  std::string name;
  nlohmann::json grid = nlohmann::json::object();
  std::function<RowMatrixD(const RowMatrixD&, const RowMatrixD*, const std::function<void(double)>&)> kernel;
};

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// The option among `options` that was given, or "".
std::string first_given(const LearnCommand& cmd, std::initializer_list<const char*> options) {
  for (const char* o : options)
    if (cmd.given(o)) return o;
  return "";
}

// Options that would be silently ignored, and options that contradict each other.
void check_option_combinations(const LearnCommand& cmd) {
  const bool svm = cmd.method == "svm";
  if (svm && cmd.given("--diag-reg")) throw Error("--diag-reg: applies to --method ridge; the SVM is tuned over --C");
  if (!svm && cmd.given("--C"))
    throw Error("--C: applies to --method svm; ridge is tuned over --diag-reg (or add --method svm)");
  if (!svm && cmd.given("--epsilon")) throw Error("--epsilon: the ε-SVR tube applies to --method svm only");
  const std::string grid = first_given(cmd, {"--depth", "--w-std", "--b-std"});
  if (!cmd.arch.empty() && !grid.empty())
    throw Error(grid + ": sets the default grid of ReLU networks, which --arch replaces; remove " + grid +
                " or --arch (write W_std, b_std and the layers into --arch)");
  if (!cmd.kernel.empty()) {
    if (!cmd.arch.empty()) throw Error("--kernel: give either a classic --kernel or a network --arch, not both");
    const std::string network = first_given(cmd, {"--depth", "--w-std", "--b-std", "--fixed-layers", "--get"});
    if (!network.empty())
      throw Error(network + ": is an option of the network kernels; a classic --kernel " + cmd.kernel + " has none");
  }
  std::string kind;
  if (!cmd.kernel.empty()) {
    try {
      kind = kernel_kind_name(parse_kernel_kind(cmd.kernel));
    } catch (const Error& e) {
      throw Error(std::string("--kernel: ") + e.what());
    }
  }
  const std::pair<const char*, const char*> owners[] = {
      {"--degree", "polynomial"}, {"--c", "polynomial"}, {"--gamma", "rbf"}, {"--order", "arccos"}};
  for (const auto& [option, owner] : owners)
    if (cmd.given(option) && kind != owner)
      throw Error(std::string(option) + ": applies to --kernel " + owner +
                  (kind.empty() ? std::string(" (no --kernel given)") : ", not --kernel " + kind));
  if (cmd.given("--validation")) {
    const std::string cv = first_given(cmd, {"--cv", "--seed"});
    if (!cv.empty())
      throw Error(cv + ": cross-validation options do not apply with --validation (a fixed split); remove one");
  }
  if (cmd.standardize && cmd.no_standardize) throw Error("--standardize and --no-standardize: give one");
}

Candidate network_candidate(const std::string& arch, const std::string& get, int fixed, nlohmann::json grid,
                            const std::vector<int>& input_shape = {}) {
  const Network net = parse_network(arch);  // parse once: a bad --arch fails before any work
  const int dense = dense_layer_count(net);
  if (fixed < 0 || fixed >= dense)
    throw Error("--fixed-layers: " + std::to_string(fixed) + " layers cannot be fixed in " + arch + ", which has " +
                std::to_string(dense) + " Dense layer" + (dense == 1 ? "" : "s") + "; give 0 to " +
                std::to_string(dense - 1));
  const bool ntk = get == "ntk";
  grid["fixed_layers"] = fixed;
  std::string name = arch;
  if (fixed > 0) name += " [first " + std::to_string(fixed) + " fixed]";
  return Candidate{
      name, grid,
      [net, ntk, fixed, input_shape](const RowMatrixD& a, const RowMatrixD* b, const std::function<void(double)>& progress) {
        AnalyticOptions o;
        o.input_shape = input_shape;
        o.nngp = !ntk;
        o.ntk = ntk;
        o.fixed_layers = fixed;
        o.progress = progress;
        AnalyticKernels k = b == nullptr ? analytic_kernels(net, a, o) : analytic_kernels(net, a, *b, o);
        return ntk ? std::move(k.ntk) : std::move(k.nngp);
      }};
}

// The kernels to try. `equivalent` receives the grid kernels skipped because another one
// gives the same ridge predictions.
std::vector<Candidate> candidates(const LearnCommand& cmd, Eigen::Index dim, const std::vector<int>& input_shape,
                                  nlohmann::json& equivalent) {
  if (cmd.get != "ntk" && cmd.get != "nngp") throw Error("--get: unknown value '" + cmd.get + "'; choose ntk or nngp");
  if (!cmd.kernel.empty()) {
    KernelSpec spec;
    spec.kind = parse_kernel_kind(cmd.kernel);
    spec.degree = cmd.degree;
    spec.c = cmd.c;
    spec.order = cmd.order;
    // RBF: a grid of widths around 1/d unless given.
    const double d = static_cast<double>(dim);
    std::vector<double> gammas = cmd.gammas;
    if (gammas.empty())
      gammas = spec.kind == KernelKind::Rbf ? std::vector<double>{0.1 / d, 1.0 / d, 10.0 / d} : std::vector<double>{1.0 / d};
    std::vector<Candidate> out;
    for (const double g : gammas) {
      spec.gamma = g;
      try {
        spec.validate();
      } catch (const Error& e) {
        throw Error(std::string(spec.kind == KernelKind::Rbf ? "--gamma" : "--kernel") + ": " + e.what());
      }
      nlohmann::json grid = nlohmann::json::object();
      if (spec.kind == KernelKind::Rbf) grid["gamma"] = g;
      out.push_back(
          {spec.describe(), grid, [spec](const RowMatrixD& a, const RowMatrixD* b, const std::function<void(double)>&) {
             return b == nullptr ? kernel_matrix<double>(spec, a) : kernel_matrix<double>(spec, a, *b);
           }});
    }
    return out;
  }
  std::vector<Candidate> out;
  for (const int fixed : cmd.fixed_layers)
    if (fixed < 0) throw Error("--fixed-layers: values must be >= 0, got " + std::to_string(fixed));
  if (!cmd.arch.empty()) {
    for (const int fixed : cmd.fixed_layers)
      out.push_back(network_candidate(cmd.arch, cmd.get, fixed, nlohmann::json::object(), input_shape));
    return out;
  }
  // The default grid: fully-connected ReLU networks of each depth (0: the readout alone, a
  // linear kernel), W_std, b_std and number of fixed layers.
  for (const int depth : cmd.depths)
    if (depth < 0) throw Error("--depth: depths must be >= 0 (hidden layers), got " + std::to_string(depth));
  for (const double w : cmd.w_stds)
    if (!(w > 0) || !std::isfinite(w)) throw Error("--w-std: values must be finite and > 0, got " + number(w));
  for (const double bs : cmd.b_stds)
    if (!(bs >= 0) || !std::isfinite(bs)) throw Error("--b-std: values must be finite and >= 0, got " + number(bs));
  const bool ridge = cmd.method == "ridge";
  for (const int depth : cmd.depths)
    for (const int fixed : cmd.fixed_layers) {
      if (fixed > depth) continue;  // a network of `depth` hidden layers has depth + 1 Dense layers
      std::string first_unbiased;   // the b_std = 0 kernel kept for this depth and fixed count
      for (const double w : cmd.w_stds)
        for (const double bs : cmd.b_stds) {
          const std::string dense = "Dense(512, W_std=" + number(w) + ", b_std=" + number(bs) + ")";
          std::string arch;
          for (int l = 0; l < depth; ++l) arch += dense + ", Relu, ";
          arch += "Dense(1, W_std=" + number(w) + ", b_std=" + number(bs) + ")";
          // Without biases ReLU networks are positively homogeneous: W_std multiplies the
          // kernel by W_std^(2·(depth + 1)) and nothing else. Ridge's λ = diag_reg·tr(K)/n
          // scales along, so its predictions are the same; the SVM's are not (C would have to
          // scale too), so it keeps them.
          if (ridge && bs == 0 && !first_unbiased.empty()) {
            equivalent.push_back({{"kernel", arch}, {"fixed_layers", fixed}, {"same_as", first_unbiased}});
            continue;
          }
          if (bs == 0) first_unbiased = arch;
          out.push_back(network_candidate(arch, cmd.get, fixed, {{"depth", depth}, {"w_std", w}, {"b_std", bs}}));
        }
    }
  if (out.empty())
    throw Error(
        "--fixed-layers: every value exceeds every --depth (a network of depth L has L + 1 Dense layers, "
        "at most L of them fixed)");
  return out;
}

// Integers 0-based row numbers of the training set, from a .npy or a text file.
std::vector<Eigen::Index> read_indices(const std::string& path, Eigen::Index n) {
  const RowMatrixD m = load_matrix(path);
  if (m.cols() != 1 && m.rows() != 1)
    throw Error("--validation: " + path + " must hold one list of row numbers (a vector or one column), got " +
                std::to_string(m.rows()) + " x " + std::to_string(m.cols()));
  std::vector<Eigen::Index> out;
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    const double v = m.data()[i];
    if (v != std::round(v) || v < 0 || v >= static_cast<double>(n))
      throw Error("--validation: " + path + " has " + number(v) +
                  ", but entries must be row numbers of the training set, 0 to " + std::to_string(n - 1));
    out.push_back(static_cast<Eigen::Index>(v));
  }
  return out;
}

// A note when the best score is reached only at the smallest or only at the largest value of
// a grid of three or more values: the best may lie beyond it. `tried`: (value, score) of
// every fit; ties at interior values are not an edge.
void note_edges(const std::string& option, const std::vector<std::pair<double, double>>& tried, double best_score,
                nlohmann::json& notes) {
  std::set<double> values, best;
  for (const auto& [value, score] : tried) {
    values.insert(value);
    if (score == best_score) best.insert(value);
  }
  if (values.size() < 3 || best.size() != 1) return;
  const double chosen = *best.begin();
  if (chosen == *values.begin() && chosen != 0)
    notes.push_back(option + " " + number(chosen) +
                    " is the smallest value tried and the only best one; the best may lie below (widen " + option + ")");
  if (chosen == *values.rbegin())
    notes.push_back(option + " " + number(chosen) +
                    " is the largest value tried and the only best one; the best may lie above (widen " + option + ")");
}

struct Data {
  RowMatrixD x, y, xt, yt;  // y, yt: targets (regress) or class numbers (classify)
  std::optional<ClassLabels> labels, test_labels;
  std::vector<int> shape;  // one example's shape: {d}, or {L, C} / {H, W, C} for signals / images
};

// The labels that come with a data set's images ("fashion-mnist:train[:N]" given alone), or "".
std::string companion_labels(const std::string& source) { return labels_source_for(parse_data_source(source)); }

Data load_data(const LearnCommand& cmd) {
  Data d;
  const std::string train_labels = cmd.train.size() == 1 && cmd.classify ? companion_labels(cmd.train[0]) : "";
  if (cmd.train.size() == 1 && cmd.label_column.empty() && train_labels.empty())
    throw Error(
        std::string("--train: give the inputs and the ") + (cmd.classify ? "labels" : "targets") + " (--train X.npy Y.npy)" +
        (cmd.classify ? ", or one data file and the column of its labels (--train DATA.csv --label-column NAME|INDEX)" : ""));
  if (cmd.train.size() == 2 && !cmd.label_column.empty())
    throw Error("--label-column: --train already has a file of labels (" + cmd.train[1] +
                "); give one file with --label-column, or two without");
  if (!cmd.label_column.empty()) {
    LabeledData data = read_labeled_data(cmd.train[0], cmd.label_column, "--label-column");
    d.x = std::move(data.x);
    d.labels = std::move(data.labels);
    d.shape = {static_cast<int>(d.x.cols())};
  } else {
    Examples examples = load_examples(cmd.train[0]);
    d.x = std::move(examples.x);
    d.shape = std::move(examples.shape);
    if (cmd.classify) {
      d.labels = read_class_labels(train_labels.empty() ? cmd.train[1] : train_labels);
    } else {
      d.y = load_matrix(cmd.train[1]);
    }
  }
  const std::string label_source = !train_labels.empty() ? train_labels
                                                         : (cmd.label_column.empty() ? cmd.train.back() : cmd.train[0]);
  const Eigen::Index n = d.labels ? static_cast<Eigen::Index>(d.labels->size()) : d.y.rows();
  if (n != d.x.rows())
    throw Error(label_source + ": has " + std::to_string(n) + " rows but " + cmd.train[0] + " has " +
                std::to_string(d.x.rows()) + "; need one target per training input");
  if (d.labels) {
    if (d.labels->classes.size() < 2)
      throw Error(label_source + ": every training label is '" + d.labels->classes.front() +
                  "'; classification needs at least two classes in the training set");
    d.y.resize(n, 1);
    for (Eigen::Index i = 0; i < n; ++i) d.y(i, 0) = d.labels->index[static_cast<std::size_t>(i)];
  }
  if (cmd.method == "svm" && d.y.cols() != 1)
    throw Error(cmd.train[1] + ": the SVM takes one target column; use --method ridge");
  if (cmd.test.empty()) return d;
  const std::string test_labels = cmd.test.size() == 1 && cmd.classify ? companion_labels(cmd.test[0]) : "";
  std::vector<int> test_shape;
  if (cmd.test.size() == 1 && !cmd.label_column.empty()) {
    LabeledData data = read_labeled_data(cmd.test[0], cmd.label_column, "--label-column", d.x.cols());
    d.xt = std::move(data.x);
    d.test_labels = std::move(data.labels);
    test_shape = {static_cast<int>(d.xt.cols())};
  } else {
    Examples examples = load_examples(cmd.test[0]);
    d.xt = std::move(examples.x);
    test_shape = std::move(examples.shape);
    if (!test_labels.empty()) d.test_labels = read_class_labels(test_labels);
    if (cmd.test.size() == 2) {
      if (cmd.classify) {
        d.test_labels = read_class_labels(cmd.test[1]);
      } else {
        d.yt = load_matrix(cmd.test[1]);
        if (d.yt.rows() != d.xt.rows() || d.yt.cols() != d.y.cols())
          throw Error(cmd.test[1] + ": is " + std::to_string(d.yt.rows()) + " x " + std::to_string(d.yt.cols()) +
                      ", expected " + std::to_string(d.xt.rows()) + " x " + std::to_string(d.y.cols()) +
                      " (one target row per test input)");
      }
    }
  }
  if (d.xt.cols() != d.x.cols() && d.shape.size() == 1 && test_shape.size() == 1)
    throw Error(cmd.test[0] + ": has " + std::to_string(d.xt.cols()) + " feature columns but " + cmd.train[0] + " has " +
                std::to_string(d.x.cols()) + "; both need the same features");
  if (test_shape != d.shape)
    throw Error(cmd.test[0] + ": examples of shape " + shape_to_string(test_shape) + " but " + cmd.train[0] +
                " has examples of shape " + shape_to_string(d.shape) + "; both need the same shape" +
                (d.xt.cols() == d.x.cols() ? " (the same number of values arranged differently: check the axis order, "
                                             "images are (N, H, W, C))"
                                           : ""));
  if (d.test_labels) {
    const std::string source = test_labels.empty() ? cmd.test.back() : test_labels;
    if (static_cast<Eigen::Index>(d.test_labels->size()) != d.xt.rows())
      throw Error(source + ": has " + std::to_string(d.test_labels->size()) + " labels but " + cmd.test[0] + " has " +
                  std::to_string(d.xt.rows()) + " rows; need one label per test input");
    align_classes(*d.labels, *d.test_labels, source);
  }
  return d;
}

// z-scores with the training split's statistics (constant columns stay 0): per feature for rows
// of features; per channel for images and signals (one mean and deviation over every position,
// as Arora et al. and neural-tangents' examples normalize images), which keeps their spatial
// structure for Conv layers.
void standardize(Data& d) {
  Eigen::RowVectorXd mean = d.x.colwise().mean();
  Eigen::RowVectorXd sd = ((d.x.rowwise() - mean).array().square().colwise().sum() / static_cast<double>(d.x.rows())).sqrt();
  if (d.shape.size() > 1) {  // pool the columns of each channel: column j holds channel j % C
    const Eigen::Index channels = d.shape.back();
    const Eigen::Index positions = d.x.cols() / channels;
    for (Eigen::Index c = 0; c < channels; ++c) {
      double m = 0, v = 0;
      for (Eigen::Index p = 0; p < positions; ++p) m += mean[p * channels + c];
      m /= static_cast<double>(positions);
      for (Eigen::Index p = 0; p < positions; ++p) {
        const Eigen::Index j = p * channels + c;
        // E[(x - m)²] over the channel = mean over positions of (sd_j² + (mean_j - m)²)
        v += sd[j] * sd[j] + (mean[j] - m) * (mean[j] - m);
      }
      const double s = std::sqrt(v / static_cast<double>(positions));
      for (Eigen::Index p = 0; p < positions; ++p) {
        mean[p * channels + c] = m;
        sd[p * channels + c] = s;
      }
    }
  }
  for (Eigen::Index j = 0; j < sd.size(); ++j)
    if (sd[j] == 0) sd[j] = 1;
  d.x = (d.x.rowwise() - mean).array().rowwise() / sd.array();
  if (d.xt.size() != 0) d.xt = (d.xt.rowwise() - mean).array().rowwise() / sd.array();
}

void run(const LearnCommand& cmd) {
  if (cmd.method != "ridge" && cmd.method != "svm")
    throw Error("--method: unknown value '" + cmd.method + "'; choose ridge or svm");
  check_option_combinations(cmd);
  const bool svm = cmd.method == "svm";
  const std::vector<double>& regs = svm ? cmd.costs : cmd.diag_regs;
  const char* reg_option = svm ? "--C" : "--diag-reg";
  for (const double r : regs)
    if (!(svm ? r > 0 : r >= 0) || !std::isfinite(r))
      throw Error(std::string(svm ? "--C: costs must be finite and > 0" : "--diag-reg: values must be finite and >= 0") +
                  ", got " + number(r));
  if (!(cmd.epsilon >= 0)) throw Error("--epsilon: must be >= 0");
  if (cmd.folds < 2) throw Error("--cv: need at least 2 folds, got " + std::to_string(cmd.folds));
  check_output_directory(cmd.out, "-o");

  Data data = load_data(cmd);
  const Eigen::Index n = data.x.rows();
  nlohmann::json notes = nlohmann::json::array();
  FoldAssignment folds;
  if (!cmd.validation.empty()) {
    try {
      folds = validation_split(n, read_indices(cmd.validation, n));
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.rfind("--validation", 0) == 0 ? what : "--validation: " + cmd.validation + ": " + what);
    }
  } else {
    if (cmd.folds > n)
      throw Error("--cv " + std::to_string(cmd.folds) + ": the training set has only " + std::to_string(n) +
                  " points, fewer than the folds; give --cv " + std::to_string(std::max<Eigen::Index>(n, 2)) +
                  " or fewer (at least 2), or more training points");
    if (data.labels) {
      folds = stratified_folds(data.labels->index, cmd.folds, cmd.seed);
      const std::vector<std::size_t> counts = data.labels->class_counts();
      const auto smallest = std::min_element(counts.begin(), counts.end());
      if (*smallest < static_cast<std::size_t>(cmd.folds))
        notes.push_back("class '" + data.labels->classes[static_cast<std::size_t>(smallest - counts.begin())] + "' has " +
                        std::to_string(*smallest) + " training points, fewer than the " + std::to_string(cmd.folds) +
                        " folds: some folds validate without it");
    } else {
      folds = shuffled_folds(n, cmd.folds, cmd.seed);
    }
  }
  if (!cmd.no_standardize) standardize(data);

  nlohmann::json equivalent = nlohmann::json::array();
  // Images and signals: --arch sees their shape (Conv, pools); the default grid of Dense
  // networks and the classic kernels see each example flattened.
  std::vector<int> input_shape = data.shape.size() > 1 ? data.shape : std::vector<int>{};
  const std::vector<Candidate> kernels = candidates(cmd, data.x.cols(), input_shape, equivalent);
  nlohmann::json table = nlohmann::json::array();
  double best_score = cmd.classify ? -1.0 : std::numeric_limits<double>::infinity();
  std::size_t best_kernel = 0;
  double best_reg = regs.front();
  RowMatrixD best_k;
  struct Fit {
    std::size_t kernel, reg;
    double score;
  };
  std::vector<Fit> fits;
  const KernelMethodSpec base{svm ? KernelMethod::Svm : KernelMethod::Ridge, cmd.classify, 0.0, cmd.epsilon};
  std::string summary;
  {
    // Progress: each kernel is one unit of computing it and one of its fits; the test kernel
    // and the final fit are one more.
    ProgressBar bar(cmd.classify ? "classify" : "regress", cmd.quiet);
    const double units = 2.0 * static_cast<double>(kernels.size()) + (data.xt.size() != 0 ? 1.0 : 0.0);
    for (std::size_t c = 0; c < kernels.size(); ++c) {
      const auto at = [&](double offset) { return [&bar, units, offset](double f) { bar.update((offset + f) / units); }; };
      RowMatrixD k = kernels[c].kernel(data.x, nullptr, at(2.0 * static_cast<double>(c)));
      const std::vector<double> scores = kernel_cross_validate_grid(base, k, data.y, folds, regs,
                                                                    at(2.0 * static_cast<double>(c) + 1));
      bool improved = false;
      for (std::size_t r = 0; r < regs.size(); ++r) {
        fits.push_back({c, r, scores[r]});
        nlohmann::json row = {
            {"kernel", kernels[c].name}, {svm ? "C" : "diag_reg", regs[r]}, {cmd.classify ? "accuracy" : "mse", scores[r]}};
        table.push_back(row);
        // Strictly better only: ties keep the earlier (shallower, less regularized or cheaper) one.
        if (cmd.classify ? scores[r] > best_score : scores[r] < best_score) {
          best_score = scores[r];
          best_kernel = c;
          best_reg = regs[r];
          improved = true;
        }
      }
      if (improved) best_k = std::move(k);  // kept for the final fit: no second computation
    }
    if (!std::isfinite(best_score))
      throw Error("every candidate failed cross-validation (singular kernels); give --diag-reg values > 0");

    // Edges: per grid, the (value, score) of every fit whose kernel has that coordinate.
    const auto edges = [&](const std::string& option, const char* key) {
      std::vector<std::pair<double, double>> tried;
      for (const Fit& f : fits) {
        const nlohmann::json& grid = kernels[f.kernel].grid;
        if (key == nullptr) {
          tried.emplace_back(regs[f.reg], f.score);
        } else if (grid.contains(key)) {
          // b_std = 0 ridge kernels stand for every W_std (they only rescale): no W_std edge.
          if (std::string(key) == "w_std" && !svm && grid["b_std"].get<double>() == 0) continue;
          tried.emplace_back(grid[key].get<double>(), f.score);
        }
      }
      note_edges(option, tried, best_score, notes);
    };
    edges(reg_option, nullptr);
    edges("--depth", "depth");
    edges("--w-std", "w_std");
    edges("--b-std", "b_std");
    edges("--fixed-layers", "fixed_layers");
    edges("--gamma", "gamma");
    const nlohmann::json& chosen = kernels[best_kernel].grid;

    nlohmann::json report = {{"method", cmd.method},
                             {"kernel", kernels[best_kernel].name},
                             {svm ? "C" : "diag_reg", best_reg},
                             {cmd.classify ? "cv_accuracy" : "cv_mse", best_score},
                             {"train_points", n},
                             {"cross_validation", table}};
    if (cmd.validation.empty()) {
      report["folds"] = cmd.folds;
      report["stratified"] = cmd.classify;
    } else {
      report["validation_points"] = std::count(folds.fold.begin(), folds.fold.end(), 0);
    }
    if (!chosen.empty()) report["grid_choice"] = chosen;
    if (data.labels) report["classes"] = data.labels->classes;
    if (!equivalent.empty()) report["equivalent_kernels_skipped"] = equivalent;
    report["notes"] = notes;

    OutputSet outputs;  // every file or none; the directory is created by the commit
    outputs.create_directory(cmd.out);
    const std::filesystem::path dir(cmd.out);
    if (data.xt.size() != 0) {
      const RowMatrixD kt = kernels[best_kernel].kernel(data.xt, &data.x, {});
      const KernelMethodSpec spec{base.method, cmd.classify, best_reg, cmd.epsilon};
      const RowMatrixD pred = kernel_fit_predict(spec, best_k, data.y, kt);
      bar.update(1.0);
      report["test_points"] = data.xt.rows();
      if (cmd.classify) {
        std::vector<int> predicted(static_cast<std::size_t>(pred.rows()));
        for (Eigen::Index i = 0; i < pred.rows(); ++i) predicted[static_cast<std::size_t>(i)] = static_cast<int>(pred(i, 0));
        std::string extension;
        const std::string bytes = encode_predicted_labels(*data.labels, predicted, extension);
        outputs.add_file((dir / ("predictions" + extension)).string(), bytes);
        if (data.test_labels) {
          std::size_t correct = 0;
          for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == data.test_labels->index[i] ? 1 : 0;
          report["test_accuracy"] = static_cast<double>(correct) / static_cast<double>(predicted.size());
        }
      } else {
        outputs.add_matrix((dir / "predictions.npy").string(), pred, DType::Float64, pred.cols() == 1);
        if (data.yt.size() != 0) {
          const double mse = (pred - data.yt).array().square().mean();
          report["test_mse"] = mse;
          report["test_rmse"] = std::sqrt(mse);
        }
      }
    }
    outputs.add_file((dir / "report.json").string(), report.dump(2) + "\n");
    outputs.commit();
    std::ostringstream line;
    line << "chosen: " << kernels[best_kernel].name << ", " << (svm ? "C " : "diag_reg ") << best_reg << " ("
         << (cmd.validation.empty() ? "cv " : "validation ") << (cmd.classify ? "accuracy " : "mse ") << best_score << ")";
    if (report.contains("test_accuracy")) line << "; test accuracy " << report["test_accuracy"].get<double>();
    if (report.contains("test_rmse")) line << "; test RMSE " << report["test_rmse"].get<double>();
    bar.update(1.0);
    summary = line.str() + "\n";
    for (const auto& note : notes) summary += "note: " + note.get<std::string>() + "\n";
  }  // the bar's line ends here, before the result is printed
  std::cout << summary;
}

void register_one(CLI::App& app, bool classify) {
  auto cmd = std::make_shared<LearnCommand>();
  cmd->classify = classify;
  CLI::App* sub = app.add_subcommand(
      classify ? "classify" : "regress",
      classify ? "Classify with the NTK (or another kernel): one-hot kernel ridge regression or a kernel SVM, tuned by "
                 "cross-validation"
               : "Regress with the NTK (or another kernel): kernel ridge regression or ε-SVR, tuned by cross-validation");
  cmd->app = sub;
  sub->footer(
      std::string("Kernels: --arch SPEC (one network), or a classic --kernel (linear|polynomial|rbf|arccos and its\n"
                  "options; rbf tries --gamma 0.1/d,1/d,10/d unless given), or by default every ReLU network\n"
                  "Dense(512, W_std, b_std), Relu (× depth), Dense(1) over the grids --depth × --w-std × --b-std\n"
                  "(× --fixed-layers), with --get ntk|nngp. For ridge, kernels with b_std = 0 that differ only in\n"
                  "W_std give the same predictions (W_std only rescales them), so one of them is tried.\n"
                  "Each kernel is computed once and tried with every --diag-reg (ridge: λ = diag_reg·tr(K)/n) or\n"
                  "--C (svm) by --cv-fold cross-validation on the training set") +
      (classify ? " (stratified: each fold holds the classes\nin proportion)" : "") +
      ", or on the fixed split --validation; the best (" + (classify ? "accuracy" : "mean squared error") +
      ") is refitted on\nthe whole training set. A choice at the edge of a grid is reported (report.json \"notes\").\n" +
      "Outputs in DIR: report.json (the choice, the whole cross-validation table and, with test\n"
      "targets, the test " +
      (classify ? std::string("accuracy") : std::string("MSE and RMSE")) + ") and " +
      (classify ? "the predicted labels in the labels' own type:\npredictions.npy (labels from a .npy: the same dtype) "
                  "or predictions.csv (labels from text).\n"
                : "predictions.npy (predicted values, (m,) or (m, o)).\n") +
      (classify ? "Labels: integers, booleans or strings (.npy of any integer, bool or string dtype), or names in\n"
                  "text (\"setosa\").\n"
                  "Example: ntkit classify --train data/wine.csv --label-column class -o out\n"
                : "") +
      "Images and signals: --arch sees their shape (Conv, pools, Flatten; e.g.\n"
      "  --train fashion-mnist:train[:1000] --test fashion-mnist:test[:500]\n"
      "  --arch \"Conv(64, (3, 3), padding='SAME'), Relu, GlobalAvgPool, Dense(1)\"); the default grid of Dense\n"
      "networks and the classic kernels see each example flattened.\n" +
      kInputsHelp);
  sub->add_option("--train", cmd->train,
                  classify ? "training inputs X (n x d, or images / signals: see Inputs) and labels y (n), or one data "
                             "file with --label-column, or fashion-mnist:train[:N] alone (its labels come along)"
                           : "training inputs X (n x d, or images / signals: see Inputs) and targets Y (n or n x o)")
      ->expected(1, 2)
      ->required();
  if (classify)
    sub->add_option("--label-column", cmd->label_column,
                    "the labels are this column of the --train (and --test) data file: a header name, or a number "
                    "(0 first, -1 last)");
  sub->add_option("--test", cmd->test,
                  classify ? "test inputs X* (m examples shaped as X) and optionally their labels; with --label-column "
                             "one file, with or without the label column; fashion-mnist:test[:N] brings its labels"
                           : "test inputs X* (m x d), and optionally their targets to score")
      ->expected(1, 2);
  sub->add_option("--arch", cmd->arch, "one network instead of the grid, e.g. \"Dense(512), Relu, Dense(1)\"");
  sub->add_option("--get", cmd->get, "ntk or nngp (the network's kernel to use)")->capture_default_str();
  sub->add_option("--fixed-layers", cmd->fixed_layers,
                  "NTK with the first L' Dense layers fixed (not trained), values to try (grid; with --arch too); "
                  "0 trains every layer; L' = depth (only the readout trained) gives the NNGP")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--kernel", cmd->kernel,
                  "a classic kernel instead of the NTK grid: linear | polynomial | rbf | arccos (default: the NTK grid)");
  sub->add_option("--degree", cmd->degree, "--kernel polynomial: degree p in (c + x·y)^p")->capture_default_str();
  sub->add_option("--c", cmd->c, "--kernel polynomial: offset c in (c + x·y)^p")->capture_default_str();
  sub->add_option("--gamma", cmd->gammas, "--kernel rbf: widths γ in exp(-γ‖x - y‖²) to try (grid; default 0.1/d,1/d,10/d)")
      ->delimiter(',');
  sub->add_option("--order", cmd->order, "--kernel arccos: order n, 0, 1 or 2")->capture_default_str();
  sub->add_option("--method", cmd->method, "ridge (kernel ridge regression) or svm (libsvm)")->capture_default_str();
  sub->add_option("--depth", cmd->depths, "hidden layers to try (grid; 0: the readout alone)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--w-std", cmd->w_stds, "W_std values to try (grid)")->delimiter(',')->capture_default_str();
  sub->add_option("--b-std", cmd->b_stds, "b_std values to try (grid)")->delimiter(',')->capture_default_str();
  sub->add_option("--diag-reg", cmd->diag_regs, "ridge: relative regularizations to try")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--C", cmd->costs, "svm: costs C to try")->delimiter(',')->capture_default_str();
  if (!classify) sub->add_option("--epsilon", cmd->epsilon, "svm: ε-SVR tube half-width")->capture_default_str();
  sub->add_option("--cv", cmd->folds, classify ? "cross-validation folds (stratified by class)" : "cross-validation folds")
      ->capture_default_str();
  sub->add_option("--validation", cmd->validation,
                  "a fixed validation split instead of cross-validation: a file of 0-based training row numbers "
                  "(.npy or text); the others are trained on");
  sub->add_option("--seed", cmd->seed, "seed of the fold shuffle")->capture_default_str();
  sub->add_flag("--standardize", cmd->standardize,
                "z-score the features with the training set's mean and standard deviation (the default); images "
                "and signals per channel (one mean and deviation over all positions)");
  sub->add_flag("--no-standardize", cmd->no_standardize, "use the features as given");
  sub->add_flag("-q,--quiet", cmd->quiet, "no progress bar (it shows on a terminal for runs over a second)");
  sub->add_option("-o,--out", cmd->out, "output directory (created)")->required();
  sub->callback([cmd] { run(*cmd); });
}

}  // namespace

void register_classify_commands(CLI::App& app) {
  register_one(app, true);
  register_one(app, false);
}

}  // namespace ntkit::cli
