// Kernel dynamics (docs/mathematics.md §4) against brute force: the matrix exponential by Padé scaling and
// squaring (Eigen's unsupported MatrixFunctions, not an eigendecomposition), explicit
// step-by-step gradient descent, and kernel regression by a dense solve.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <unsupported/Eigen/MatrixFunctions>

#include "ntkit/error.hpp"
#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/linear_model.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

struct Problem {
  RowMatrixD k, k_test, y, f0, f0_test;
};

Problem make_problem(std::uint64_t seed) {
  const RowMatrixD x = gaussian_matrix(30, 3, seed), xt = gaussian_matrix(9, 3, seed + 1);
  const KernelSpec spec{KernelKind::ArcCos, 2, 1.0, 1.0, 1};
  return {kernel_matrix<double>(spec, x), kernel_matrix<double>(spec, xt, x), gaussian_matrix(30, 2, seed + 2),
          gaussian_matrix(30, 2, seed + 3, 0.3), gaussian_matrix(9, 2, seed + 4, 0.3)};
}

TEST(KernelDynamics, GradientFlowMatchesMatrixExponential) {
  const Problem p = make_problem(1);
  const KernelDynamics dyn(p.k, p.y);
  const Eigen::MatrixXd k = p.k;
  for (double t : {0.0, 0.05, 0.7, 5.0}) {
    const Eigen::MatrixXd e = (-k * t).exp();
    const RowMatrixD expect_train = p.y + RowMatrixD(e * Eigen::MatrixXd(p.f0 - p.y));
    EXPECT_LT(max_relative_error(dyn.train_at_time(t, p.f0), expect_train), 1e-9) << t;
    const Eigen::MatrixXd id = Eigen::MatrixXd::Identity(30, 30);
    const Eigen::MatrixXd m = k.fullPivLu().solve(id - e);  // K⁻¹(I - e^(-Kt))
    const RowMatrixD expect_test = p.f0_test + RowMatrixD(Eigen::MatrixXd(p.k_test) * m * Eigen::MatrixXd(p.y - p.f0));
    EXPECT_LT(max_relative_error(dyn.test_at_time(t, p.k_test, p.f0, p.f0_test), expect_test), 1e-8) << t;
  }
}

TEST(KernelDynamics, GradientDescentMatchesExplicitSteps) {
  const Problem p = make_problem(2);
  const KernelDynamics dyn(p.k, p.y);
  const double lr = 0.9 * dyn.max_stable_learning_rate();
  // Brute force: the dual model of linear_model.hpp stepping one step at a time.
  DualKernelRegression gd(p.k, p.y, p.f0);
  for (long s = 0; s <= 200; ++s) {
    if (s % 40 == 0) {
      EXPECT_LT(max_relative_error(dyn.train_after_steps(s, lr, p.f0), gd.train_outputs()), 1e-9) << s;
      EXPECT_LT(max_relative_error(dyn.test_after_steps(s, lr, p.k_test, p.f0, p.f0_test), gd.predict(p.k_test, p.f0_test)),
                1e-9)
          << s;
    }
    gd.step(lr);
  }
}

TEST(KernelDynamics, LimitsAtZeroAndInfinity) {
  const Problem p = make_problem(3);
  const KernelDynamics dyn(p.k, p.y);
  EXPECT_LT(max_relative_error(dyn.train_at_time(0.0, p.f0), p.f0), 1e-12);
  EXPECT_LT(max_relative_error(dyn.test_at_time(0.0, p.k_test, p.f0, p.f0_test), p.f0_test), 1e-12);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(dyn.train_at_time(inf, p.f0), p.y);
  // t = ∞ is kernel regression from f0: f0* + K* K⁻¹ (Y - f0), here by a dense LU solve.
  const Eigen::MatrixXd alpha = Eigen::MatrixXd(p.k).fullPivLu().solve(Eigen::MatrixXd(p.y - p.f0));
  const RowMatrixD expect = p.f0_test + RowMatrixD(Eigen::MatrixXd(p.k_test) * alpha);
  EXPECT_LT(max_relative_error(dyn.test_at_time(inf, p.k_test, p.f0, p.f0_test), expect), 1e-8);
  // A long finite time approaches it.
  EXPECT_LT(max_relative_error(dyn.test_at_time(1e6, p.k_test, p.f0, p.f0_test), expect), 1e-6);
}

TEST(KernelDynamics, MeanNormalizationIsSumAtRescaledTime) {
  const Problem p = make_problem(4);
  DynamicsOptions mean;
  mean.normalization = LossNormalization::Mean;
  const KernelDynamics dyn_sum(p.k, p.y), dyn_mean(p.k, p.y, mean);
  const double n = static_cast<double>(p.y.size());  // 60 = 30 points x 2 outputs
  EXPECT_LT(max_relative_error(dyn_mean.test_at_time(n * 0.3, p.k_test, p.f0, p.f0_test),
                               dyn_sum.test_at_time(0.3, p.k_test, p.f0, p.f0_test)),
            1e-10);
}

TEST(KernelDynamics, DiagRegAndSingularKernels) {
  RowMatrixD x = gaussian_matrix(8, 2, 5);
  x.row(4) = x.row(1);                                                  // duplicate: singular kernel
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Linear}, x);  // rank 2
  const RowMatrixD y = gaussian_matrix(8, 1, 6);
  const KernelDynamics dyn(k, y);
  EXPECT_TRUE(dyn.test_at_time(10.0, k).allFinite());  // finite t is fine when singular
  try {
    dyn.test_at_time(std::numeric_limits<double>::infinity(), k);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diag_reg"), std::string::npos) << e.what();
  }
  DynamicsOptions reg;
  reg.diag_reg = 0.1;  // relative: adds 0.1 · tr(K)/n
  const KernelDynamics dyn_reg(k, y, reg);
  const double shift = 0.1 * k.trace() / 8.0;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd(k) + shift * Eigen::MatrixXd::Identity(8, 8));
  EXPECT_NEAR(dyn_reg.eigenvalues().minCoeff(), eig.eigenvalues().minCoeff(), 1e-10);
  EXPECT_TRUE(dyn_reg.test_at_time(std::numeric_limits<double>::infinity(), k).allFinite());
  EXPECT_GE(dyn.eigenvalues().minCoeff(), 0.0);  // rounding negatives clipped
}

TEST(KernelDynamics, InputErrors) {
  const Problem p = make_problem(7);
  EXPECT_THROW(KernelDynamics(p.k, gaussian_matrix(29, 1, 1)), Error);
  EXPECT_THROW(KernelDynamics(p.k_test, p.y), Error);
  const KernelDynamics dyn(p.k, p.y);
  EXPECT_THROW(dyn.train_at_time(-1.0), Error);
  EXPECT_THROW(dyn.test_at_time(1.0, RowMatrixD(p.k.block(0, 0, 3, 5))), Error);  // wrong width
  EXPECT_THROW(dyn.train_after_steps(3, -0.1), Error);
  EXPECT_THROW(parse_loss_normalization("median"), Error);
}

}  // namespace
}  // namespace ntkit

namespace ntkit {
namespace {

TEST(KernelDynamics, UnstableLearningRateIsAnErrorNotNaN) {
  RowMatrixD k(2, 2);
  k << 2, 1, 1, 2;  // λ_max = 3: stable for η < 2/3
  const RowMatrixD y = RowMatrixD::Ones(2, 1);
  const KernelDynamics dyn(k, y);
  EXPECT_NEAR(dyn.max_stable_learning_rate(), 2.0 / 3.0, 1e-15);
  try {
    dyn.train_after_steps(100000, 10.0);
    FAIL() << "expected divergence to be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverges"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dyn.test_after_steps(100000, 10.0, k), Error);
}

TEST(KernelDynamics, TinyEigenvaluesOverManyStepsKeepTheirDigits) {
  // λ = 1e-13, η = 1, s = 2e13 steps: (1 - ηλ)^s = e^(-2) to ~1e-13, so both the train output
  // and the test output (test kernel = K) are 1 - e^(-2) = 0.8646647...
  RowMatrixD k = RowMatrixD::Zero(2, 2);
  k(0, 0) = 1.0;
  k(1, 1) = 1e-13;
  const RowMatrixD y = RowMatrixD::Ones(2, 1);
  const KernelDynamics dyn(k, y);
  const double expect = -std::expm1(-2.0);
  EXPECT_NEAR(dyn.train_after_steps(20000000000000L, 1.0)(1, 0), expect, 1e-9);
  EXPECT_NEAR(dyn.test_after_steps(20000000000000L, 1.0, k)(1, 0), expect, 1e-9);
}

TEST(KernelDynamics, RejectsANonSymmetricKernel) {
  RowMatrixD k(2, 2);
  k << 2, 1, 0.5, 2;
  EXPECT_THROW(KernelDynamics(k, RowMatrixD::Ones(2, 1)), Error);
}

}  // namespace
}  // namespace ntkit
