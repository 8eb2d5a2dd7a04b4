// Kernel classification and regression on precomputed kernels (the NTK as a kernel for small
// data): kernel ridge regression (one-hot targets for classes, argmax to predict) and a kernel
// SVM through libsvm's precomputed-kernel mode (C-SVC, one-vs-one for several classes; ε-SVR),
// with k-fold cross-validation for their hyperparameters.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit {

/// Class labels from an n x 1 matrix whose values must all be integers (a clear error naming
/// `what`, the row and the value otherwise). Returns the labels; `classes` receives the sorted
/// distinct values.
std::vector<int> integer_labels(MatrixView<double> labels, const std::string& what, std::vector<int>& classes);

/// n x C matrix with 1 in the column of each label's class (classes sorted, as from
/// integer_labels), 0 elsewhere.
RowMatrixD one_hot(const std::vector<int>& labels, const std::vector<int>& classes);

enum class KernelMethod { Ridge, Svm };

struct KernelMethodSpec {
  KernelMethod method = KernelMethod::Ridge;
  bool classify = true;
  /// Ridge: λ = reg · tr(K) / n (relative, as diag_reg). SVM: the cost C.
  double reg = 1e-3;
  double epsilon = 0.1;  // ε-SVR's tube half-width (regression with the SVM)
};

/// A kernel SVM on a precomputed kernel (libsvm). Targets: class labels (classify) or one
/// column of values (ε-SVR).
class KernelSvm {
 public:
  KernelSvm();
  ~KernelSvm();
  KernelSvm(const KernelSvm&) = delete;
  KernelSvm& operator=(const KernelSvm&) = delete;
  /// kernel: K(X, X) (n x n); targets: n values; classify: C-SVC, else ε-SVR.
  void fit(MatrixView<double> kernel, const VectorD& targets, bool classify, double c, double epsilon = 0.1);
  /// cross_kernel: K(X*, X) (m x n) → m predictions (labels or values).
  VectorD predict(MatrixView<double> cross_kernel) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Fits on K(X, X) and targets (n x 1 labels when classifying, n x o values otherwise) and
/// predicts on K(X*, X): m x 1 labels, or m x o values (the SVM takes one output column).
RowMatrixD kernel_fit_predict(const KernelMethodSpec& spec, MatrixView<double> k_train, MatrixView<double> targets,
                              MatrixView<double> k_test_train);

/// The mean over `folds` folds (seeded shuffle) of the validation score: accuracy when
/// classifying, mean squared error otherwise. A fold whose fit fails (e.g. a singular kernel
/// with reg = 0) scores 0 accuracy / infinite error.
double kernel_cross_validate(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets, int folds,
                             std::uint64_t seed);

/// Which validation fold each point is in: fold[i] in 0 … count − 1, or −1 for a point that is
/// only ever trained on (outside a fixed validation split).
struct FoldAssignment {
  int count = 0;
  std::vector<int> fold;
};

/// k folds from a seeded shuffle (as kernel_cross_validate). Error unless 2 ≤ folds ≤ n.
FoldAssignment shuffled_folds(Eigen::Index n, int folds, std::uint64_t seed);

/// Stratified k folds: each class's points, shuffled (seeded), are dealt to the folds in turn,
/// continuing from class to class, so every fold holds each class in proportion and the fold
/// sizes differ by at most one. `classes`: each point's class 0 … C − 1. Error unless
/// 2 ≤ folds ≤ n.
FoldAssignment stratified_folds(const std::vector<int>& classes, int folds, std::uint64_t seed);

/// One fixed split: the points `validation` (distinct indices into 0 … n − 1) form the single
/// validation fold, the others are trained on. Errors name the offending index.
FoldAssignment validation_split(Eigen::Index n, const std::vector<Eigen::Index>& validation);

/// Validation scores of every regularization `regs` (ridge: diag_reg; SVM: C) for one
/// precomputed K(X, X): each fold's sub-kernels are taken from `k` (the kernel is computed
/// once for all folds and values), and the (fold, value) fits run in parallel on OpenMP's
/// threads. Returns one mean score per value, as kernel_cross_validate; `done` (optional)
/// is called from the calling thread with the fraction of fits finished.
std::vector<double> kernel_cross_validate_grid(const KernelMethodSpec& spec, MatrixView<double> k, MatrixView<double> targets,
                                               const FoldAssignment& folds, const std::vector<double>& regs,
                                               const std::function<void(double)>& done = {});

}  // namespace ntkit
