// Gradient descent in feature space and in the dual give the same predictions at every step
// (docs/mathematics.md §1), and both behave like gradient descent should.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Dense>

#include "ntkit/error.hpp"
#include "ntkit/feature_map.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/linear_model.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;

TEST(PrimalVersusDual, SamePredictionsAtEveryStep) {
  const RowMatrixD x = gaussian_matrix(40, 3, 1, 0.7), x_test = gaussian_matrix(15, 3, 2, 0.7);
  const RowMatrixD y = gaussian_matrix(40, 2, 3);  // two outputs
  const PolynomialFeatureMap map(3, 3, 1.0);
  const RowMatrixD phi = map.transform(x), phi_test = map.transform(x_test);
  const KernelSpec poly{KernelKind::Polynomial, 3, 1.0};
  const RowMatrixD k = kernel_matrix<double>(poly, x), k_test = kernel_matrix<double>(poly, x_test, x);
  // A nonzero starting point w0: the dual carries it as the initial outputs f0 = Φw0.
  const RowMatrixD w0 = gaussian_matrix(static_cast<Eigen::Index>(map.output_dim()), 2, 4, 0.1);

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k, Eigen::EigenvaluesOnly);
  const double lr = 1.5 / eig.eigenvalues().maxCoeff();
  FeatureSpaceRegression primal(phi, y, w0);
  DualKernelRegression dual(k, y, phi * w0);
  const RowMatrixD f0_test = phi_test * w0;
  double worst = 0;
  for (int t = 0; t <= 300; ++t) {
    worst = std::max(worst, (primal.train_outputs() - dual.train_outputs()).cwiseAbs().maxCoeff());
    worst = std::max(worst, (primal.predict(phi_test) - dual.predict(k_test, f0_test)).cwiseAbs().maxCoeff());
    EXPECT_NEAR(primal.loss(), dual.loss(), 1e-10 * (1 + primal.loss()));
    primal.step(lr);
    dual.step(lr);
  }
  EXPECT_LT(worst, 1e-10);
}

TEST(DualKernelRegression, ConvergesToKernelInterpolation) {
  const RowMatrixD x = gaussian_matrix(20, 4, 5);
  const RowMatrixD y = gaussian_matrix(20, 1, 6);
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Rbf, 2, 1.0, 0.5}, x);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k, Eigen::EigenvaluesOnly);
  const double lr = 1.0 / eig.eigenvalues().maxCoeff();
  DualKernelRegression dual(k, y);
  double previous = dual.loss();
  for (int t = 0; t < 20000; ++t) {
    dual.step(lr);
    // Monotone for lr < 2 / λ_max, until the loss reaches rounding level.
    if (previous > 1e-20) {
      ASSERT_LE(dual.loss(), previous * (1 + 1e-12));
    }
    previous = dual.loss();
  }
  // The fixed point is α = K⁻¹y (computed here by an LU solve, not by the library).
  const Eigen::MatrixXd alpha = Eigen::MatrixXd(k).fullPivLu().solve(Eigen::MatrixXd(y));
  const double rel = (Eigen::MatrixXd(dual.coefficients()) - alpha).norm() / alpha.norm();
  // Convergence along the smallest eigenvector is (1 - lr λ_min)^t.
  const double contraction = std::pow(1 - lr * eig.eigenvalues().minCoeff(), 20000);
  EXPECT_LT(rel, std::max(1e-6, 10 * contraction * (1 / eig.eigenvalues().minCoeff())));
  EXPECT_LT(dual.loss(), 1e-6);
}

TEST(LinearModels, ShapeErrors) {
  const RowMatrixD phi = gaussian_matrix(5, 3, 1), y = gaussian_matrix(4, 1, 2);
  EXPECT_THROW(FeatureSpaceRegression(phi, y), Error);
  EXPECT_THROW(DualKernelRegression(gaussian_matrix(5, 4, 3), gaussian_matrix(5, 1, 4)), Error);
  DualKernelRegression dual(RowMatrixD::Identity(5, 5), gaussian_matrix(5, 1, 5));
  EXPECT_THROW(dual.step(-1.0), Error);
  EXPECT_THROW(dual.predict(gaussian_matrix(2, 4, 6)), Error);
}

}  // namespace
}  // namespace ntkit
