#include "ntkit/predict_kernel_methods.hpp"

#include <libsvm/svm.h>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "ntkit/error.hpp"
#include "ntkit/kernel_ridge.hpp"
#include "blas.hpp"  // SingleThreadedBlas
#include "parallel_errors.hpp"

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
    if (it == classes.end() || *it != labels[i])
      throw Error("one_hot: label " + std::to_string(labels[i]) + " is not among the classes");
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
  // Once per process (thread-safe static initialization): fits run in parallel and the
  // function pointer is libsvm's global.
  static const bool silenced = (svm_set_print_string_function(quiet), true);
  (void)silenced;
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

namespace {

// Trains on the points outside fold f and scores fold f: accuracy when classifying, mean
// squared error otherwise. A fit that fails (a singular kernel with reg = 0) scores 0 / inf.
double fold_score(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets, const FoldAssignment& folds,
                  int f) {
  std::vector<Eigen::Index> fit, val;
  for (std::size_t i = 0; i < folds.fold.size(); ++i)
    (folds.fold[i] == f ? val : fit).push_back(static_cast<Eigen::Index>(i));
  std::vector<Eigen::Index> all_cols(static_cast<std::size_t>(targets.cols()));
  std::iota(all_cols.begin(), all_cols.end(), Eigen::Index{0});
  const RowMatrixD y_val = take(targets, val, all_cols);
  try {
    const RowMatrixD pred = kernel_fit_predict(spec, take(k, fit, fit), take(targets, fit, all_cols), take(k, val, fit));
    return spec.classify ? (pred.array() == y_val.array()).cast<double>().mean() : (pred - y_val).array().square().mean();
  } catch (const Error&) {
    return spec.classify ? 0.0 : std::numeric_limits<double>::infinity();
  }
}

// OpenBLAS single-threaded while the fits run in parallel on OpenMP's threads: each fit's
// Cholesky factorization starting OpenBLAS's own threads as well oversubscribed the cores
// (2 fits × 2 BLAS threads on 2 cores ran 2-15x slower, most of it spinning in the kernel).
using detail::SingleThreadedBlas;

void check_fold_count(Eigen::Index n, int folds) {
  if (folds < 2 || folds > n)
    throw Error("cross-validation: " + std::to_string(folds) + " folds need between 2 and the number of points (" +
                std::to_string(n) + ") folds");
}

}  // namespace

FoldAssignment shuffled_folds(Eigen::Index n, int folds, std::uint64_t seed) {
  check_fold_count(n, folds);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  FoldAssignment out{folds, std::vector<int>(static_cast<std::size_t>(n))};
  for (std::size_t i = 0; i < order.size(); ++i)
    out.fold[static_cast<std::size_t>(order[i])] = static_cast<int>(i % static_cast<std::size_t>(folds));
  return out;
}

FoldAssignment stratified_folds(const std::vector<int>& classes, int folds, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(classes.size());
  check_fold_count(n, folds);
  int count = 0;
  for (const int c : classes) {
    if (c < 0) throw Error("stratified_folds: class numbers must be >= 0");
    count = std::max(count, c + 1);
  }
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < classes.size(); ++i) members[static_cast<std::size_t>(classes[i])].push_back(i);
  std::mt19937_64 rng(seed);
  FoldAssignment out{folds, std::vector<int>(classes.size())};
  std::size_t dealt = 0;
  for (auto& m : members) {
    std::shuffle(m.begin(), m.end(), rng);
    for (const std::size_t i : m) out.fold[i] = static_cast<int>(dealt++ % static_cast<std::size_t>(folds));
  }
  return out;
}

FoldAssignment validation_split(Eigen::Index n, const std::vector<Eigen::Index>& validation) {
  FoldAssignment out{1, std::vector<int>(static_cast<std::size_t>(n), -1)};
  for (const Eigen::Index i : validation) {
    if (i < 0 || i >= n)
      throw Error("validation split: index " + std::to_string(i) + " is outside the training set's rows 0 … " +
                  std::to_string(n - 1));
    if (out.fold[static_cast<std::size_t>(i)] == 0)
      throw Error("validation split: index " + std::to_string(i) + " appears twice");
    out.fold[static_cast<std::size_t>(i)] = 0;
  }
  if (validation.empty()) throw Error("validation split: no validation points");
  if (static_cast<Eigen::Index>(validation.size()) == n)
    throw Error("validation split: every point is a validation point; none is left to train on");
  return out;
}

double kernel_cross_validate(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets, int folds,
                             std::uint64_t seed) {
  return kernel_cross_validate_grid(spec, k, targets, shuffled_folds(k.rows(), folds, seed), {spec.reg}).front();
}

std::vector<double> kernel_cross_validate_grid(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets,
                                               const FoldAssignment& folds, const std::vector<double>& regs,
                                               const std::function<void(double)>& done) {
  if (k.rows() != k.cols() || static_cast<std::size_t>(k.rows()) != folds.fold.size() || targets.rows() != k.rows())
    throw Error("cross-validation: need a square kernel and one target row and one fold entry per point");
  if (regs.empty()) throw Error("cross-validation: no regularization values to try");
  const int tasks = folds.count * static_cast<int>(regs.size());
  std::vector<double> scores(static_cast<std::size_t>(tasks));
  std::atomic<int> finished{0};
  // An exception must not leave an OpenMP region: the first is kept and rethrown after it.
  detail::ParallelErrors errors;
  const SingleThreadedBlas one_blas_thread_per_fit;
  // Dynamic scheduling shares the (fold, value) fits out one at a time.
#pragma omp parallel for schedule(dynamic, 1)
  for (int t = 0; t < tasks; ++t) {
    errors.run([&] {
      KernelMethodSpec one = spec;
      one.reg = regs[static_cast<std::size_t>(t % static_cast<int>(regs.size()))];
      scores[static_cast<std::size_t>(t)] = fold_score(one, k, targets, folds, t / static_cast<int>(regs.size()));
      ++finished;
      if (done && omp_get_thread_num() == 0) done(static_cast<double>(finished.load()) / tasks);
    });
  }
  errors.rethrow_if_any();
  if (done) done(1.0);
  // Summed in fold order after the parallel loop: the same result for any thread count.
  std::vector<double> mean(regs.size(), 0.0);
  for (std::size_t r = 0; r < regs.size(); ++r) {
    for (int f = 0; f < folds.count; ++f) mean[r] += scores[static_cast<std::size_t>(f) * regs.size() + r];
    mean[r] /= folds.count;
  }
  return mean;
}

}  // namespace ntkit
