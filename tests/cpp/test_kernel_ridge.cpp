// Kernel ridge regression by Cholesky against an independent dense solve, and its errors.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Dense>

#include "ntkit/error.hpp"
#include "ntkit/kernel_ridge.hpp"
#include "ntkit/kernels.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

TEST(KernelRidge, MatchesDenseSolve) {
  const RowMatrixD x = gaussian_matrix(60, 5, 1), xt = gaussian_matrix(13, 5, 2);
  const RowMatrixD y = gaussian_matrix(60, 3, 3);
  const KernelSpec spec{KernelKind::ArcCos, 2, 1.0, 1.0, 1};
  const RowMatrixD k = kernel_matrix<double>(spec, x), kt = kernel_matrix<double>(spec, xt, x);
  for (double lambda : {0.0, 1e-3, 1.0}) {
    KernelRidge model;
    model.fit(k, y, lambda);
    const Eigen::MatrixXd a = Eigen::MatrixXd(k) + lambda * Eigen::MatrixXd::Identity(60, 60);
    const Eigen::MatrixXd alpha = a.fullPivLu().solve(Eigen::MatrixXd(y));
    EXPECT_LT(max_relative_error(model.dual_coef(), RowMatrixD(alpha)), 1e-8) << lambda;
    EXPECT_LT(max_relative_error(model.predict(kt), RowMatrixD(Eigen::MatrixXd(kt) * alpha)), 1e-8);
  }
}

TEST(KernelRidge, SingularKernelSuggestsLambda) {
  RowMatrixD x = gaussian_matrix(10, 3, 4);
  x.row(5) = x.row(2);                                                  // duplicated input: K is singular
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Linear}, x);  // rank 3 < 10
  KernelRidge model;
  try {
    model.fit(k, gaussian_matrix(10, 1, 5), 0.0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lambda > 0"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(model.fitted());
  EXPECT_NO_THROW(model.fit(k, gaussian_matrix(10, 1, 5), 1e-6));
}

TEST(KernelRidge, InputErrors) {
  KernelRidge model;
  const RowMatrixD k = RowMatrixD::Identity(4, 4);
  EXPECT_THROW(model.predict(k), Error);  // before fit
  EXPECT_THROW(model.fit(k, gaussian_matrix(3, 1, 1), 0.0), Error);
  EXPECT_THROW(model.fit(k, gaussian_matrix(4, 1, 1), -1.0), Error);
  RowMatrixD bad = k;
  bad(0, 1) = NAN;
  EXPECT_THROW(model.fit(bad, gaussian_matrix(4, 1, 1), 0.0), Error);
}

TEST(SelectRidgeLambda, MatchesManualCrossValidationAndPrefersRegularizationOnNoise) {
  const RowMatrixD x = gaussian_matrix(50, 4, 6);
  const RowMatrixD noise = gaussian_matrix(50, 1, 7);
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Rbf, 2, 1.0, 0.25}, x);
  const std::vector<double> grid{1e-8, 1e-2, 1.0, 100.0};
  const RidgeSelection sel = select_ridge_lambda(k, noise, grid, 5, 11);
  ASSERT_EQ(sel.mean_squared_error.size(), grid.size());
  // Pure-noise targets: interpolating them is worse than shrinking toward zero.
  EXPECT_GT(sel.lambda, 1e-8);
  EXPECT_GT(sel.mean_squared_error[0], sel.mean_squared_error[3]);
  EXPECT_THROW(select_ridge_lambda(k, noise, {}, 5, 1), Error);
  EXPECT_THROW(select_ridge_lambda(k, noise, grid, 1, 1), Error);
}

}  // namespace
}  // namespace ntkit

namespace ntkit {
namespace {

TEST(SelectRidgeLambda, ReportsTheRealInputError) {
  RowMatrixD k = RowMatrixD::Identity(6, 6);
  RowMatrixD y = RowMatrixD::Ones(6, 1);
  y(2, 0) = NAN;
  try {
    select_ridge_lambda(k, y, {1.0}, 3, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("targets contain NaN"), std::string::npos) << e.what();
  }
  EXPECT_THROW(select_ridge_lambda(k, RowMatrixD::Ones(6, 1), {-1.0}, 3, 1), Error);
  k(0, 1) = 0.5;  // not symmetric
  KernelRidge model;
  EXPECT_THROW(model.fit(k, RowMatrixD::Ones(6, 1), 0.0), Error);
}

}  // namespace
}  // namespace ntkit
