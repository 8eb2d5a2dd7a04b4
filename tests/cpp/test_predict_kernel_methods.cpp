// Kernel classification and regression (predict_kernel_methods.hpp): labels, one-hot ridge
// against a dense solve, the libsvm SVM on problems whose answer is known, cross-validation.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "ntkit/error.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/predict_kernel_methods.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;

// Three well-separated Gaussian blobs in the plane (centres 10 apart, unit spread): every
// reasonable classifier is perfect on them.
struct Blobs {
  RowMatrixD x, labels;
};

Blobs blobs(Eigen::Index per_class, std::uint64_t seed) {
  const RowMatrixD noise = gaussian_matrix(3 * per_class, 2, seed);
  Blobs b{RowMatrixD(3 * per_class, 2), RowMatrixD(3 * per_class, 1)};
  const double centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  for (Eigen::Index i = 0; i < 3 * per_class; ++i) {
    const auto c = static_cast<int>(i % 3);
    b.x(i, 0) = centres[c][0] + noise(i, 0);
    b.x(i, 1) = centres[c][1] + noise(i, 1);
    b.labels(i, 0) = 2 * c - 1;  // -1, 1, 3: any integers
  }
  return b;
}

const KernelSpec kRbf{KernelKind::Rbf, 2, 1.0, 0.05, 1};

TEST(IntegerLabels, AcceptsIntegersAndNamesTheFirstBadRow) {
  RowMatrixD y(4, 1);
  y << 2, 0, 2, -1;
  std::vector<int> classes;
  EXPECT_EQ(integer_labels(y, "y.npy", classes), (std::vector<int>{2, 0, 2, -1}));
  EXPECT_EQ(classes, (std::vector<int>{-1, 0, 2}));
  EXPECT_EQ(one_hot({2, 0, -1}, classes), (RowMatrixD(3, 3) << 0, 0, 1, 0, 1, 0, 1, 0, 0).finished());
  y(2, 0) = 0.5;
  try {
    integer_labels(y, "y.npy", classes);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("y.npy"), std::string::npos) << what;
    EXPECT_NE(what.find("row 3"), std::string::npos) << what;
    EXPECT_NE(what.find("integers"), std::string::npos) << what;
  }
  EXPECT_THROW(integer_labels(RowMatrixD::Zero(3, 2), "y", classes), Error);
}

TEST(KernelMethods, RidgeClassifierIsArgmaxOfDenseOneHotSolve) {
  const Blobs train = blobs(10, 1), test = blobs(4, 2);
  const RowMatrixD k = kernel_matrix<double>(kRbf, train.x), kt = kernel_matrix<double>(kRbf, test.x, train.x);
  const KernelMethodSpec spec{KernelMethod::Ridge, true, 0.01, 0.1};
  const RowMatrixD pred = kernel_fit_predict(spec, k, train.labels, kt);
  // Reference: (K + λI)⁻¹ one-hot by LU, λ = 0.01 tr(K)/n, then the class of the largest score.
  const double lambda = 0.01 * k.trace() / 30;
  RowMatrixD onehot = RowMatrixD::Zero(30, 3);
  for (Eigen::Index i = 0; i < 30; ++i) onehot(i, static_cast<Eigen::Index>((train.labels(i, 0) + 1) / 2)) = 1;
  const Eigen::MatrixXd scores =
      Eigen::MatrixXd(kt) *
      (Eigen::MatrixXd(k) + lambda * Eigen::MatrixXd::Identity(30, 30)).fullPivLu().solve(Eigen::MatrixXd(onehot));
  for (Eigen::Index i = 0; i < pred.rows(); ++i) {
    Eigen::Index best = 0;
    scores.row(i).maxCoeff(&best);
    EXPECT_EQ(pred(i, 0), 2.0 * static_cast<double>(best) - 1) << i;
    EXPECT_EQ(pred(i, 0), test.labels(i, 0)) << i;  // and the blobs are separable
  }
}

TEST(KernelMethods, SvmSeparatesBlobsAndFitsALine) {
  const Blobs train = blobs(10, 3), test = blobs(5, 4);
  const RowMatrixD k = kernel_matrix<double>(kRbf, train.x), kt = kernel_matrix<double>(kRbf, test.x, train.x);
  KernelSvm svm;
  svm.fit(k, train.labels.col(0), true, 10.0);
  EXPECT_EQ(RowMatrixD(svm.predict(kt)), test.labels);
  // ε-SVR with the linear kernel on exact data y = 2 x0 - x1 + 0.5 (libsvm's bias absorbs the
  // 0.5): with a large C the fit is within the tube, ε = 0.01, plus libsvm's tolerance.
  const RowMatrixD x = gaussian_matrix(40, 2, 5), xt = gaussian_matrix(10, 2, 6);
  const RowMatrixD kl = kernel_matrix<double>({KernelKind::Linear}, x),
                   klt = kernel_matrix<double>({KernelKind::Linear}, xt, x);
  const VectorD y = (2 * x.col(0) - x.col(1)).array() + 0.5, yt = (2 * xt.col(0) - xt.col(1)).array() + 0.5;
  KernelSvm svr;
  svr.fit(kl, y, false, 1000.0, 0.01);
  EXPECT_LT((svr.predict(klt) - yt).cwiseAbs().maxCoeff(), 0.05);
  // A kernel of the wrong width is an error, not a crash.
  EXPECT_THROW(svr.predict(RowMatrixD::Zero(2, 39)), Error);
  KernelSvm unfitted;
  EXPECT_THROW(unfitted.predict(klt), Error);
  EXPECT_THROW(svr.fit(kl, y, false, 0.0), Error);
}

TEST(KernelMethods, CrossValidationScoresSeparableAndNoisyProblems) {
  const Blobs b = blobs(12, 7);
  const RowMatrixD k = kernel_matrix<double>(kRbf, b.x);
  EXPECT_EQ(kernel_cross_validate({KernelMethod::Ridge, true, 0.01, 0.1}, k, b.labels, 4, 1), 1.0);
  EXPECT_EQ(kernel_cross_validate({KernelMethod::Svm, true, 10.0, 0.1}, k, b.labels, 4, 1), 1.0);
  // Labels independent of the inputs: accuracy near chance (1/3), far from 1.
  RowMatrixD shuffled = b.labels;
  for (Eigen::Index i = 0; i < shuffled.rows(); ++i) shuffled(i, 0) = 2.0 * static_cast<double>((i * 7 / 3) % 3) - 1;
  EXPECT_LT(kernel_cross_validate({KernelMethod::Ridge, true, 0.01, 0.1}, k, shuffled, 4, 1), 0.75);
  // Regression: the validation MSE of a noiseless linear target with the linear kernel is ~0.
  const RowMatrixD x = gaussian_matrix(30, 3, 8);
  const RowMatrixD y = x * (RowMatrixD(3, 1) << 1, -2, 0.5).finished();
  const RowMatrixD kl = kernel_matrix<double>({KernelKind::Linear}, x);
  EXPECT_LT(kernel_cross_validate({KernelMethod::Ridge, false, 1e-10, 0.1}, kl, y, 5, 2), 1e-12);
  EXPECT_THROW(kernel_cross_validate({KernelMethod::Ridge, false, 1e-3, 0.1}, kl, y, 1, 2), Error);
}

// Issue 18, finding 9: stratified folds hold each class in proportion, which a plain shuffle
// does not (with 10 points of a rare class in 100, a shuffled fold of 20 often has 0-1 or 4+).
TEST(Folds, StratifiedFoldsHoldEachClassInProportion) {
  std::vector<int> classes(100, 0);
  for (int i = 0; i < 10; ++i) classes[static_cast<std::size_t>(i * 10)] = 1;  // 10 rare ones
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const FoldAssignment f = stratified_folds(classes, 5, seed);
    std::vector<int> size(5, 0), rare(5, 0);
    for (std::size_t i = 0; i < classes.size(); ++i) {
      ++size[static_cast<std::size_t>(f.fold[i])];
      rare[static_cast<std::size_t>(f.fold[i])] += classes[i];
    }
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(size[static_cast<std::size_t>(k)], 20);
      EXPECT_EQ(rare[static_cast<std::size_t>(k)], 2) << "seed " << seed;
    }
  }
  // Uneven classes: fold sizes still differ by at most one.
  const FoldAssignment g = stratified_folds({0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2}, 3, 1);
  std::vector<int> sizes(3, 0);
  for (const int k : g.fold) ++sizes[static_cast<std::size_t>(k)];
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1);
  EXPECT_ERROR_CONTAINS(stratified_folds({0, 1, 0}, 4, 0), "4 folds need between 2 and the number of points (3)");
}

TEST(Folds, ValidationSplitTrainsOnTheRest) {
  const FoldAssignment f = validation_split(5, {4, 1});
  EXPECT_EQ(f.count, 1);
  EXPECT_EQ(f.fold, (std::vector<int>{-1, 0, -1, -1, 0}));
  EXPECT_ERROR_CONTAINS(validation_split(5, {5}), "index 5 is outside");
  EXPECT_ERROR_CONTAINS(validation_split(5, {1, 1}), "appears twice");
  EXPECT_ERROR_CONTAINS(validation_split(2, {0, 1}), "none is left to train on");
}

// Issue 18, finding 10: one kernel serves every fold and value, and the parallel grid scores
// equal the one-at-a-time scores bit for bit.
TEST(Folds, GridCrossValidationEqualsOneValueAtATime) {
  const Blobs b = blobs(12, 9);
  RowMatrixD noisy = b.labels;
  for (Eigen::Index i = 0; i < noisy.rows(); i += 5) noisy(i, 0) = noisy((i + 1) % noisy.rows(), 0);  // some wrong labels
  const RowMatrixD k = kernel_matrix<double>(kRbf, b.x);
  const std::vector<double> regs{1e-4, 1e-2, 1.0, 100.0};
  for (const KernelMethod method : {KernelMethod::Ridge, KernelMethod::Svm}) {
    const KernelMethodSpec spec{method, true, 0.0, 0.1};
    const FoldAssignment folds = shuffled_folds(k.rows(), 4, 3);
    std::vector<double> fractions;
    const std::vector<double> grid = kernel_cross_validate_grid(spec, k, noisy, folds, regs,
                                                                [&](double f) { fractions.push_back(f); });
    for (std::size_t r = 0; r < regs.size(); ++r) {
      KernelMethodSpec one = spec;
      one.reg = regs[r];
      EXPECT_EQ(grid[r], kernel_cross_validate(one, k, noisy, 4, 3)) << r;
    }
    ASSERT_FALSE(fractions.empty());
    EXPECT_EQ(fractions.back(), 1.0);
  }
}

}  // namespace
}  // namespace ntkit
