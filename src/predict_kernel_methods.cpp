#include "ntkit/predict_kernel_methods.hpp"

#include <libsvm/svm.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "ntkit/error.hpp"
#include "ntkit/kernel_ridge.hpp"

namespace ntkit {
namespace {

void quiet(const char*) {}  // libsvm prints its optimizer's progress to stdout otherwise

RowMatrixD take(MatrixView<double> m, const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) {
  RowMatrixD out(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cols.size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < cols.size(); ++j)
      out(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = m(rows[i], cols[j]);
  return out;
}

}  // namespace

std::vector<int> integer_labels(MatrixView<double> labels, const std::string& what, std::vector<int>& classes) {
  if (labels.cols() != 1)
    throw Error(what + ": class labels must be one column, got " + std::to_string(labels.cols()) + " columns");
  std::vector<int> out(static_cast<std::size_t>(labels.rows()));
  for (Eigen::Index i = 0; i < labels.rows(); ++i) {
    const double v = labels(i, 0);
    if (!(std::abs(v) < 1e9) || v != std::round(v)) {
      std::ostringstream msg;
      msg << what << ": row " << i + 1 << " has label " << v
          << ", but class labels must be integers (0, 1, 2, ...); for real-valued targets use ntkit regress";
      throw Error(msg.str());
    }
    out[static_cast<std::size_t>(i)] = static_cast<int>(v);
  }
  classes = out;
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return out;
}

RowMatrixD one_hot(const std::vector<int>& labels, const std::vector<int>& classes) {
  RowMatrixD y = RowMatrixD::Zero(static_cast<Eigen::Index>(labels.size()), static_cast<Eigen::Index>(classes.size()));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto it = std::lower_bound(classes.begin(), classes.end(), labels[i]);
    if (it == classes.end() || *it != labels[i]) throw Error("one_hot: label " + std::to_string(labels[i]) + " is not among the classes");
    y(static_cast<Eigen::Index>(i), it - classes.begin()) = 1.0;
  }
  return y;
}

// libsvm keeps pointers into the training rows (its support vectors), so they live with the model.
struct KernelSvm::State {
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  std::vector<double> targets;
  svm_model* model = nullptr;
  Eigen::Index n = 0;
  ~State() {
    if (model != nullptr) svm_free_and_destroy_model(&model);
  }
};

KernelSvm::KernelSvm() = default;
KernelSvm::~KernelSvm() = default;

void KernelSvm::fit(MatrixView<double> kernel, const VectorD& targets, bool classify, double c, double epsilon) {
  const Eigen::Index n = kernel.rows();
  if (n == 0 || kernel.cols() != n || targets.size() != n)
    throw Error("KernelSvm: need a square K(X, X) and one target per row");
  if (!(c > 0) || !std::isfinite(c)) throw Error("KernelSvm: C must be a finite number > 0");
  if (!(epsilon >= 0)) throw Error("KernelSvm: epsilon must be >= 0");
  if (!kernel.allFinite() || !targets.allFinite()) throw Error("KernelSvm: kernel and targets must be finite");
  auto s = std::make_unique<State>();
  s->n = n;
  // Precomputed-kernel format: row i is (0: serial number i + 1), (j + 1: K(i, j)) ..., (-1: end).
  const auto width = static_cast<std::size_t>(n + 2);
  s->nodes.resize(static_cast<std::size_t>(n) * width);
  s->rows.resize(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    svm_node* row = &s->nodes[static_cast<std::size_t>(i) * width];
    row[0] = {0, static_cast<double>(i + 1)};
    for (Eigen::Index j = 0; j < n; ++j) row[j + 1] = {static_cast<int>(j + 1), kernel(i, j)};
    row[n + 1] = {-1, 0.0};
    s->rows[static_cast<std::size_t>(i)] = row;
  }
  s->targets.assign(targets.data(), targets.data() + n);
  svm_problem problem{static_cast<int>(n), s->targets.data(), s->rows.data()};
  svm_parameter param{};
  param.svm_type = classify ? C_SVC : EPSILON_SVR;
  param.kernel_type = PRECOMPUTED;
  param.C = c;
  param.p = epsilon;
  param.eps = 1e-3;  // libsvm's default stopping tolerance
  param.cache_size = 100;
  param.shrinking = 1;
  if (const char* problem_text = svm_check_parameter(&problem, &param))
    throw Error(std::string("KernelSvm: libsvm rejects the parameters: ") + problem_text);
  svm_set_print_string_function(quiet);
  s->model = svm_train(&problem, &param);
  state_ = std::move(s);
}

VectorD KernelSvm::predict(MatrixView<double> cross_kernel) const {
  if (!state_) throw Error("KernelSvm: predict before fit");
  const Eigen::Index n = state_->n;
  if (cross_kernel.cols() != n)
    throw Error("KernelSvm: K(X*, X) has " + std::to_string(cross_kernel.cols()) + " columns, expected " + std::to_string(n));
  VectorD out(cross_kernel.rows());
  std::vector<svm_node> row(static_cast<std::size_t>(n + 2));
  for (Eigen::Index i = 0; i < cross_kernel.rows(); ++i) {
    row[0] = {0, 0.0};  // the serial number of a test row is not used
    for (Eigen::Index j = 0; j < n; ++j) row[static_cast<std::size_t>(j + 1)] = {static_cast<int>(j + 1), cross_kernel(i, j)};
    row[static_cast<std::size_t>(n + 1)] = {-1, 0.0};
    out[i] = svm_predict(state_->model, row.data());
  }
  return out;
}

RowMatrixD kernel_fit_predict(const KernelMethodSpec& spec, MatrixView<double> k_train, MatrixView<double> targets,
                              MatrixView<double> k_test_train) {
  const Eigen::Index n = k_train.rows();
  if (targets.rows() != n) throw Error("kernel_fit_predict: need one target row per training point");
  if (spec.method == KernelMethod::Svm) {
    if (targets.cols() != 1) throw Error("the SVM takes one target column; use --method ridge for several outputs");
    KernelSvm svm;
    svm.fit(k_train, targets.col(0), spec.classify, spec.reg, spec.epsilon);
    return RowMatrixD(svm.predict(k_test_train));
  }
  if (!(spec.reg >= 0)) throw Error("kernel ridge: the regularization must be >= 0");
  const double lambda = spec.reg * k_train.trace() / static_cast<double>(n);
  KernelRidge ridge;
  if (!spec.classify) {
    ridge.fit(k_train, targets, lambda);
    return ridge.predict(k_test_train);
  }
  std::vector<int> classes;
  const std::vector<int> labels = integer_labels(targets, "kernel ridge", classes);
  ridge.fit(k_train, one_hot(labels, classes), lambda);
  const RowMatrixD scores = ridge.predict(k_test_train);
  RowMatrixD out(scores.rows(), 1);
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index best = 0;
    scores.row(i).maxCoeff(&best);
    out(i, 0) = classes[static_cast<std::size_t>(best)];
  }
  return out;
}

double kernel_cross_validate(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets, int folds,
                             std::uint64_t seed) {
  const Eigen::Index n = k.rows();
  if (folds < 2 || folds > n) throw Error("cross-validation: folds must be between 2 and the number of points");
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<Eigen::Index> all_cols(static_cast<std::size_t>(targets.cols()));
  std::iota(all_cols.begin(), all_cols.end(), Eigen::Index{0});
  double total = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<Eigen::Index> fit, val;
    for (std::size_t i = 0; i < order.size(); ++i) (static_cast<int>(i % static_cast<std::size_t>(folds)) == f ? val : fit).push_back(order[i]);
    const RowMatrixD y_val = take(targets, val, all_cols);
    try {
      const RowMatrixD pred = kernel_fit_predict(spec, take(k, fit, fit), take(targets, fit, all_cols), take(k, val, fit));
      total += spec.classify ? (pred.array() == y_val.array()).cast<double>().mean()
                             : (pred - y_val).array().square().mean();
    } catch (const Error&) {
      if (!spec.classify) return std::numeric_limits<double>::infinity();
    }
  }
  return total / folds;
}

}  // namespace ntkit
