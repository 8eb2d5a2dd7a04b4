// Predictions and inference (predict.hpp) against brute force: matrix exponentials by Padé
// scaling and squaring (Eigen's MatrixFunctions, no eigendecomposition), explicit heavy-ball
// gradient descent on the weights of a linear model with known features, covariances from the
// joint Gaussian of the initial outputs by direct algebra, dense LU solves, and a fixed-step
// RK4 integration for the cross-entropy ODE.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <unsupported/Eigen/MatrixFunctions>

#include "ntkit/error.hpp"
#include "ntkit/kernels.hpp"
#include "ntkit/predict.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;
using Dense = Eigen::MatrixXd;

const double kInf = std::numeric_limits<double>::infinity();

// An NNGP-like K and an NTK-like Θ on train and test points: positive definite kernels of the
// same points (arc-cosine order 1 plus a constant; Θ = K + (X Xᵀ) ⊙ arc-cosine order 0, PSD by
// the Schur product theorem). The algebra under test does not care where they come from.
struct Blocks {
  RowMatrixD k, k_st, k_ss, th, th_st, th_ss, y;
};

Blocks make_blocks(Eigen::Index n, Eigen::Index m, Eigen::Index outputs, std::uint64_t seed) {
  const RowMatrixD x = gaussian_matrix(n, 3, seed), xt = gaussian_matrix(m, 3, seed + 1);
  const KernelSpec a1{KernelKind::ArcCos, 2, 1.0, 1.0, 1}, a0{KernelKind::ArcCos, 2, 1.0, 1.0, 0};
  const KernelSpec lin{KernelKind::Linear};
  auto k = [&](const RowMatrixD& p, const RowMatrixD& q) {
    return RowMatrixD(kernel_matrix<double>(a1, p, q).array() + 0.1);
  };
  auto th = [&](const RowMatrixD& p, const RowMatrixD& q) {
    return RowMatrixD(k(p, q).array() + kernel_matrix<double>(lin, p, q).array() * kernel_matrix<double>(a0, p, q).array());
  };
  return {k(x, x), k(xt, x), k(xt, xt), th(x, x), th(xt, x), th(xt, xt), gaussian_matrix(n, outputs, seed + 2)};
}

Dense expm(const Dense& a) { return a.exp(); }

double min_eigenvalue(const RowMatrixD& c) { return Eigen::SelfAdjointEigenSolver<Dense>(Dense(c)).eigenvalues().minCoeff(); }

TEST(PredictMse, ManyTimesMatchMatrixExponentialAndDenseSolve) {
  const Blocks b = make_blocks(25, 7, 3, 1);
  const RowMatrixD f0 = gaussian_matrix(25, 3, 10, 0.3), f0t = gaussian_matrix(7, 3, 11, 0.3);
  const std::vector<double> times{0.0, 0.05, 0.7, 4.0, kInf};
  const Trajectory tr = predict_mse(b.th, b.th_st, b.y, times, {}, f0, f0t);
  ASSERT_EQ(tr.train.size(), times.size());
  const Dense k = b.th, id = Dense::Identity(25, 25);
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const Dense e = expm(-k * times[i]);
    const RowMatrixD train = b.y + RowMatrixD(e * Dense(f0 - b.y));
    const RowMatrixD test = f0t + RowMatrixD(Dense(b.th_st) * k.fullPivLu().solve(id - e) * Dense(b.y - f0));
    EXPECT_LT(max_relative_error(tr.train[i], train), 1e-9) << times[i];
    EXPECT_LT(max_relative_error(tr.test[i], test), 1e-8) << times[i];
  }
  // t = ∞: interpolation on the train points, kernel regression from f0 on the test points.
  EXPECT_EQ(tr.train.back(), b.y);
  const RowMatrixD regression = f0t + RowMatrixD(Dense(b.th_st) * k.fullPivLu().solve(Dense(b.y - f0)));
  EXPECT_LT(max_relative_error(tr.test.back(), regression), 1e-8);
  // t = 0 returns the initial outputs, and the default f0 is zero.
  EXPECT_LT(max_relative_error(tr.test.front(), f0t), 1e-14);
  const Trajectory zero = predict_mse(b.th, b.th_st, b.y, {0.0}, {});
  EXPECT_EQ(zero.test.front().cwiseAbs().maxCoeff(), 0.0);
  // −inf used to be taken for +inf (std::isinf has no sign); negative times and NaN are errors.
  for (const double bad : {-std::numeric_limits<double>::infinity(), -1.0, std::nan("")}) {
    EXPECT_THROW(predict_mse(b.th, b.th_st, b.y, {1.0, bad}, {}), Error) << bad;
  }
}

// t = ∞ comes from the eigenvalues when K is safely positive definite (above) and from a
// Cholesky solve otherwise: a singular K (a duplicated training point) is still an error that
// names the fix, and with diag_reg the eigenvalue path agrees with a dense solve.
TEST(PredictMse, InfiniteTimeOnASingularKernelNamesDiagReg) {
  Blocks b = make_blocks(10, 4, 2, 3);
  b.th.row(9) = b.th.row(8);  // point 9 a copy of point 8: rows and columns equal
  b.th.col(9) = b.th.col(8);
  b.th_st.col(9) = b.th_st.col(8);
  const std::string message = test::error_of([&] { predict_mse(b.th, b.th_st, b.y, {1.0, kInf}, {}); });
  EXPECT_NE(message.find("diag_reg"), std::string::npos) << message;
  DynamicsOptions opt;
  opt.diag_reg = 1e-6;
  opt.diag_reg_absolute = true;
  const Trajectory tr = predict_mse(b.th, b.th_st, b.y, {1.0, kInf}, opt);
  const Dense k = Dense(b.th) + 1e-6 * Dense::Identity(10, 10);
  const RowMatrixD regression = RowMatrixD(Dense(b.th_st) * k.fullPivLu().solve(Dense(b.y)));
  EXPECT_LT(max_relative_error(tr.test.back(), regression), 1e-8);
  EXPECT_EQ(tr.train.back(), b.y);
}

// Heavy-ball gradient descent on the weights of f(x) = φ(x)ᵀw + f0(x), the linearized model
// whose NTK is ΦΦᵀ: v ← βv - η Φᵀ(f(X) - Y) · scale, w ← w + v.
struct LinearModel {
  RowMatrixD phi, phi_test, y, f0, f0_test, w, v;
  RowMatrixD train() const { return f0 + phi * w; }
  RowMatrixD test() const { return f0_test + phi_test * w; }
  void step(double lr, double beta, double scale) {
    v = beta * v - lr * scale * (phi.transpose() * (train() - y));
    w += v;
  }
};

void check_against_weight_space(Eigen::Index features, double beta, LossNormalization norm) {
  const Eigen::Index n = 20, m = 6, o = 2;
  LinearModel lm{gaussian_matrix(n, features, 30), gaussian_matrix(m, features, 31), gaussian_matrix(n, o, 32),
                 gaussian_matrix(n, o, 33, 0.5),   gaussian_matrix(m, o, 34, 0.5),   RowMatrixD::Zero(features, o),
                 RowMatrixD::Zero(features, o)};
  const RowMatrixD k = lm.phi * lm.phi.transpose(), k_st = lm.phi_test * lm.phi.transpose();
  DynamicsOptions opt;
  opt.normalization = norm;
  opt.momentum = beta;
  opt.learning_rate = 1.0;  // only to ask for the stable limit below
  const double scale = norm == LossNormalization::Mean ? 1.0 / static_cast<double>(n * o) : 1.0;
  opt.learning_rate = 0.8 * KernelDynamics(k, lm.y, opt).max_stable_learning_rate();
  const KernelDynamics dyn(k, lm.y, opt);
  for (long s = 0; s <= 120; ++s) {
    if (s % 30 == 0) {
      const auto t = static_cast<double>(s);
      EXPECT_LT(max_relative_error(dyn.train_at(t, lm.f0), lm.train()), 1e-9) << s << " beta " << beta;
      EXPECT_LT(max_relative_error(dyn.test_at(t, k_st, lm.f0, lm.f0_test), lm.test()), 1e-9) << s << " beta " << beta;
    }
    lm.step(opt.learning_rate, beta, scale);
  }
}

// predict_mse from prebuilt dynamics (what `ntkit predict` calls) is the same computation, and
// agrees with the single-time path; an unstable learning rate is an error only where the
// outputs overflow or at t = inf (no limit), not for a few finite steps.
TEST(PredictMse, FromDynamicsMatchesSingleTimesAndAllowsFewUnstableSteps) {
  const Blocks b = make_blocks(12, 5, 2, 12);
  DynamicsOptions opt;
  opt.learning_rate = 1.5 * max_learning_rate(b.th, LossNormalization::Sum, b.y.size());  // unstable
  const KernelDynamics dyn(b.th, b.y, opt);
  const std::vector<double> steps{0.0, 1.0, 3.0};
  const Trajectory tr = predict_mse(dyn, b.th_st, steps);
  const Trajectory same = predict_mse(b.th, b.th_st, b.y, steps, opt);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(tr.train[i], same.train[i]);
    EXPECT_EQ(tr.test[i], same.test[i]);
    // Against max |Y| as well: at step 0 the training outputs are 0 up to rounding.
    const double scale = b.y.cwiseAbs().maxCoeff();
    EXPECT_LT((tr.train[i] - dyn.train_at(steps[i])).cwiseAbs().maxCoeff(), 1e-10 * scale) << steps[i];
    EXPECT_LT((tr.test[i] - dyn.test_at(steps[i], b.th_st)).cwiseAbs().maxCoeff(), 1e-10 * scale) << steps[i];
  }
  EXPECT_THROW(predict_mse(dyn, b.th_st, {1.0, kInf}), Error);
}

TEST(KernelDynamicsSchedules, GradientDescentAndMomentumMatchWeightSpaceTraining) {
  check_against_weight_space(50, 0.0, LossNormalization::Sum);  // K full rank
  check_against_weight_space(50, 0.9, LossNormalization::Sum);
  check_against_weight_space(50, 0.5, LossNormalization::Mean);
  check_against_weight_space(8, 0.7, LossNormalization::Sum);  // rank 8 < n: zero eigenvalues
}

TEST(KernelDynamicsSchedules, MomentumStableLimitIsTwoOnePlusBetaOverLambdaMax) {
  RowMatrixD k(2, 2);
  k << 2, 1, 1, 2;  // λ = 1, 3
  const RowMatrixD y = RowMatrixD::Ones(2, 1);
  DynamicsOptions opt;
  opt.momentum = 0.5;
  opt.learning_rate = 0.99 * 2 * 1.5 / 3;  // just inside 2(1 + β)/λ_max = 1
  EXPECT_NEAR(KernelDynamics(k, y, opt).max_stable_learning_rate(), 1.0, 1e-15);
  EXPECT_LT(max_relative_error(KernelDynamics(k, y, opt).train_at(20000), y), 1e-8);  // converges
  opt.learning_rate = 1.01;  // just outside: diverges, reported as an error
  try {
    KernelDynamics(k, y, opt).train_at(20000);
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverges"), std::string::npos) << e.what();
  }
  EXPECT_THROW(KernelDynamics(k, y, opt).train_at(kInf), Error);  // no limit either
  EXPECT_THROW(KernelDynamics(k, y, opt).train_at(2.5), Error);   // steps are whole numbers
}

TEST(MaxLearningRate, MatchesEigenvaluesAndNormalization) {
  const Blocks b = make_blocks(30, 1, 2, 4);
  const double top = Eigen::SelfAdjointEigenSolver<Dense>(Dense(b.th)).eigenvalues().maxCoeff();
  EXPECT_NEAR(max_learning_rate(b.th, LossNormalization::Sum, 60), 2 / top, 1e-12 / top);
  EXPECT_NEAR(max_learning_rate(b.th, LossNormalization::Mean, 60), 2 * 60 / top, 1e-10 / top);
  EXPECT_NEAR(max_learning_rate(b.th, LossNormalization::Sum, 60, 0.9), 2 * 1.9 / top, 1e-12 / top);
  // The same number as KernelDynamics' own limit for the same normalization.
  DynamicsOptions mean;
  mean.normalization = LossNormalization::Mean;
  EXPECT_NEAR(KernelDynamics(b.th, b.y, mean).max_stable_learning_rate(),
              max_learning_rate(b.th, LossNormalization::Mean, b.y.size()), 1e-9);
}

// Brute force for the ensemble: f_t(X*) = f0(X*) + Θ_* M (Y - f0(X)) is affine in the initial
// outputs (f0(X), f0(X*)) ~ N(0, [[K, K_*ᵀ], [K_*, K_**]]), so its mean is Θ_* M Y and its
// covariance A Σ Aᵀ with A = [-Θ_* M, I]. M from the Padé exponential and an LU solve.
struct Reference {
  RowMatrixD mean, cov, train_cov;
};

Reference ensemble_reference(const Blocks& b, bool ntk, const Dense& decay_of_kernel) {
  const Dense kt = ntk ? Dense(b.th) : Dense(b.k), drive = ntk ? Dense(b.th_st) : Dense(b.k_st);
  const Eigen::Index n = kt.rows(), m = drive.rows();
  const Dense mt = kt.fullPivLu().solve(Dense::Identity(n, n) - decay_of_kernel);  // M_t
  Dense sigma(n + m, n + m);
  sigma << Dense(b.k), Dense(b.k_st).transpose(), Dense(b.k_st), Dense(b.k_ss);
  Dense a(m, n + m);
  a << -drive * mt, Dense::Identity(m, m);
  Dense train_a(n, n + m);  // f_t(X) = Y + E (f0(X) - Y)
  train_a << decay_of_kernel, Dense::Zero(n, m);
  return {RowMatrixD(drive * mt * Dense(b.y)), RowMatrixD(a * sigma * a.transpose()),
          RowMatrixD(train_a * sigma * train_a.transpose())};
}

TEST(EnsemblePredictor, MeanAndCovarianceMatchTheJointGaussianOfInitialOutputs) {
  const Blocks b = make_blocks(18, 6, 2, 5);
  for (const bool ntk : {true, false}) {
    const EnsemblePredictor ens(ntk ? EnsembleKind::Ntk : EnsembleKind::Nngp, b.k, b.th, b.y);
    const std::vector<double> times{0.0, 0.3, 3.0};
    const auto test = ens.test(times, b.k_st, b.th_st, b.k_ss);
    const auto train = ens.train(times, true);
    for (std::size_t i = 0; i < times.size(); ++i) {
      const Dense kt = ntk ? Dense(b.th) : Dense(b.k);
      const Reference ref = ensemble_reference(b, ntk, expm(-kt * times[i]));
      EXPECT_LT(max_relative_error(test[i].mean, ref.mean), 1e-8) << ntk << " t " << times[i];
      EXPECT_LT(max_relative_error(test[i].covariance, ref.cov), 1e-8) << ntk << " t " << times[i];
      EXPECT_LT(max_relative_error(train[i].covariance, ref.train_cov), 1e-8) << ntk << " t " << times[i];
      EXPECT_EQ(test[i].covariance, test[i].covariance.transpose());
      EXPECT_GT(min_eigenvalue(test[i].covariance), -1e-10 * b.k_ss.maxCoeff());
      EXPECT_GT(min_eigenvalue(train[i].covariance), -1e-10 * b.k.maxCoeff());
    }
    // t = 0: the prior, N(0, K_**).
    EXPECT_LT(max_relative_error(test[0].covariance, b.k_ss), 1e-12);
    EXPECT_EQ(test[0].mean.cwiseAbs().maxCoeff(), 0.0);
  }
}

TEST(EnsemblePredictor, GradientDescentStepsUseTheMatrixPower) {
  const Blocks b = make_blocks(15, 4, 1, 6);
  DynamicsOptions opt;
  opt.learning_rate = 0.5 * max_learning_rate(b.th, LossNormalization::Sum, b.y.size());
  const EnsemblePredictor ens(EnsembleKind::Ntk, b.k, b.th, b.y, opt);
  const Dense step = Dense::Identity(15, 15) - opt.learning_rate * Dense(b.th);
  Dense power = Dense::Identity(15, 15);
  for (int s = 0; s < 7; ++s) power = power * step;
  const Reference ref = ensemble_reference(b, true, power);
  const auto got = ens.test({7.0}, b.k_st, b.th_st, b.k_ss);
  EXPECT_LT(max_relative_error(got[0].mean, ref.mean), 1e-9);
  EXPECT_LT(max_relative_error(got[0].covariance, ref.cov), 1e-9);
}

TEST(EnsemblePredictor, InfiniteTimeIsGpInferenceAndTheLimitOfLongTimes) {
  const Blocks b = make_blocks(16, 5, 2, 7);
  for (const bool ntk : {true, false}) {
    const EnsemblePredictor ens(ntk ? EnsembleKind::Ntk : EnsembleKind::Nngp, b.k, b.th, b.y);
    const auto got = ens.test({kInf, 1e6}, b.k_st, b.th_st, b.k_ss);
    const GaussianOutputs gp = gp_inference(ntk ? GpKind::Ntk : GpKind::Nngp, {b.k, b.th}, {b.k_st, b.th_st}, {b.k_ss, {}},
                                            b.y);
    EXPECT_LT(max_relative_error(got[0].mean, gp.mean), 1e-9);
    EXPECT_LT(max_relative_error(got[0].covariance, gp.covariance), 1e-8);
    EXPECT_LT(max_relative_error(got[1].mean, gp.mean), 1e-6);
    EXPECT_LT((got[1].covariance - gp.covariance).cwiseAbs().maxCoeff(), 1e-6 * b.k_ss.maxCoeff());
    const auto train = ens.train({kInf}, true);
    EXPECT_EQ(train[0].mean, b.y);
    EXPECT_EQ(train[0].covariance.cwiseAbs().maxCoeff(), 0.0);
  }
}

TEST(GpInference, PosteriorsMatchDenseSolves) {
  const Blocks b = make_blocks(20, 6, 2, 8);
  const Dense k = b.k, ks = b.k_st, th = b.th, ths = b.th_st;
  // NNGP: the Bayesian posterior.
  const GaussianOutputs nngp = gp_inference(GpKind::Nngp, {b.k, {}}, {b.k_st, {}}, {b.k_ss, {}}, b.y);
  EXPECT_LT(max_relative_error(nngp.mean, RowMatrixD(ks * k.fullPivLu().solve(Dense(b.y)))), 1e-9);
  EXPECT_LT(max_relative_error(nngp.covariance, RowMatrixD(Dense(b.k_ss) - ks * k.fullPivLu().solve(ks.transpose()))), 1e-8);
  // NTK-GP: the GP with Θ as its prior.
  const GaussianOutputs ntkgp = gp_inference(GpKind::NtkGp, {{}, b.th}, {{}, b.th_st}, {{}, b.th_ss}, b.y);
  EXPECT_LT(max_relative_error(ntkgp.mean, RowMatrixD(ths * th.fullPivLu().solve(Dense(b.y)))), 1e-9);
  EXPECT_LT(max_relative_error(ntkgp.covariance, RowMatrixD(Dense(b.th_ss) - ths * th.fullPivLu().solve(ths.transpose()))),
            1e-8);
  EXPECT_GT(min_eigenvalue(ntkgp.covariance), -1e-10 * b.th_ss.maxCoeff());
  // NTK: docs/mathematics.md §4's formula written out.
  const GaussianOutputs ntk = gp_inference(GpKind::Ntk, {b.k, b.th}, {b.k_st, b.th_st}, {b.k_ss, {}}, b.y);
  const Dense m = th.inverse();
  const Dense cov = Dense(b.k_ss) + ths * m * k * m * ths.transpose() - (ths * m * ks.transpose() + ks * m * ths.transpose());
  EXPECT_LT(max_relative_error(ntk.covariance, RowMatrixD(cov)), 1e-8);
  // Means only when no test-test block is given.
  EXPECT_EQ(gp_inference(GpKind::Nngp, {b.k, {}}, {b.k_st, {}}, {}, b.y).covariance.size(), 0);
}

TEST(GpInference, DiagRegRelativeIsAbsoluteTimesMeanDiagonal) {
  const Blocks b = make_blocks(12, 4, 1, 9);
  DynamicsOptions rel, abs;
  rel.diag_reg = 0.1;
  abs.diag_reg = 0.1 * b.k.trace() / 12;
  abs.diag_reg_absolute = true;
  const auto a = gp_inference(GpKind::Nngp, {b.k, {}}, {b.k_st, {}}, {b.k_ss, {}}, b.y, rel);
  const auto c = gp_inference(GpKind::Nngp, {b.k, {}}, {b.k_st, {}}, {b.k_ss, {}}, b.y, abs);
  EXPECT_LT(max_relative_error(a.mean, c.mean), 1e-12);
  const Dense kreg = Dense(b.k) + abs.diag_reg * Dense::Identity(12, 12);
  EXPECT_LT(max_relative_error(a.mean, RowMatrixD(Dense(b.k_st) * kreg.fullPivLu().solve(Dense(b.y)))), 1e-9);
}

TEST(GpInference, SingularKernelSuggestsDiagReg) {
  RowMatrixD x = gaussian_matrix(6, 2, 12);
  x.row(3) = x.row(0);
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Linear}, x);
  const RowMatrixD y = gaussian_matrix(6, 1, 13);
  for (auto call : {+[](const RowMatrixD&kk, const RowMatrixD&yy) {
                      gp_inference(GpKind::Nngp, {kk, {}}, {kk, {}}, {}, yy);
                    },
                    +[](const RowMatrixD&kk, const RowMatrixD&yy) {
                      EnsemblePredictor(EnsembleKind::Nngp, kk, RowMatrixD(), yy).test({kInf}, kk, kk, {});
                    }}) {
    try {
      call(k, y);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("diag_reg"), std::string::npos) << e.what();
    }
  }
}

TEST(PredictInputs, BadShapesNegativeTimesAndNaNTargetsAreErrors) {
  const Blocks b = make_blocks(10, 3, 1, 14);
  EXPECT_THROW(predict_mse(b.k, b.k_st, b.y, {-1.0}), Error);
  EXPECT_THROW(predict_mse(b.k, b.k_st, b.y, {}), Error);
  EXPECT_THROW(predict_mse(b.k, RowMatrixD(b.k_st.leftCols(9)), b.y, {1.0}), Error);
  EXPECT_THROW(predict_mse(b.k, b.k_st, RowMatrixD(b.y.topRows(9)), {1.0}), Error);
  RowMatrixD nan_y = b.y;
  nan_y(2, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(predict_mse(b.k, b.k_st, nan_y, {1.0}), Error);
  const EnsemblePredictor ens(EnsembleKind::Ntk, b.k, b.th, b.y);
  EXPECT_THROW(ens.test({1.0}, b.k_st, RowMatrixD(b.th_st.leftCols(9)), {}), Error);
  EXPECT_THROW(ens.test({1.0}, b.k_st, b.th_st, RowMatrixD(b.k_ss.leftCols(2))), Error);
  EXPECT_THROW(ens.test({-2.0}, b.k_st, b.th_st, {}), Error);
  EXPECT_THROW(parse_gp_kind("ntk-gp"), Error);
  EXPECT_THROW(parse_ensemble_kind("both"), Error);
  DynamicsOptions bad;
  bad.momentum = 0.5;  // momentum without a learning rate
  EXPECT_THROW(KernelDynamics(b.k, b.y, bad), Error);
}

// ---- the ODE solver -------------------------------------------------------------------

TEST(PredictOde, SquaredLossMatchesClosedFormFlow) {
  const Blocks b = make_blocks(20, 5, 2, 15);
  const RowMatrixD f0 = gaussian_matrix(20, 2, 16, 0.3), f0t = gaussian_matrix(5, 2, 17, 0.3);
  OdeOptions opt;
  opt.loss = OdeLoss::SquaredError;
  opt.normalization = LossNormalization::Mean;
  opt.learning_rate = 3.0;                               // times are in units of the learning rate (neural-tangents')
  const std::vector<double> times{2.0, 0.0, 0.5, 40.0};  // any order
  const Trajectory ode = predict_ode(b.th, b.th_st, b.y, times, opt, f0, f0t);
  DynamicsOptions mean;
  mean.normalization = LossNormalization::Mean;
  const KernelDynamics dyn(b.th, b.y, mean);
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double t = 3.0 * times[i];
    EXPECT_LT(max_relative_error(ode.train[i], dyn.train_at(t, f0)), 1e-7) << times[i];
    EXPECT_LT(max_relative_error(ode.test[i], dyn.test_at(t, b.th_st, f0, f0t)), 1e-7) << times[i];
  }
}

TEST(PredictOde, ContinuousMomentumMatchesAugmentedMatrixExponential) {
  // Linear second-order system in z = [f(X); f(X*); q(X); q(X*)] (one output column):
  // f' = q, q' = -[K; K_*](f(X) - y) - γ q, with absolute time √η t and γ = (1 - β)/√η.
  const Blocks b = make_blocks(8, 3, 1, 18);
  const double lr = 0.25, beta = 0.6, gamma = (1 - beta) / std::sqrt(lr), t = 3.0;
  const Eigen::Index n = 8, r = 11;  // r = n + m
  Dense kall(r, n);
  kall << Dense(b.th), Dense(b.th_st);
  Dense a = Dense::Zero(2 * r + 1, 2 * r + 1);  // the affine term as a last, constant coordinate
  a.block(0, r, r, r) = Dense::Identity(r, r);
  a.block(r, 0, r, n) = -kall;
  a.block(r, r, r, r) = -gamma * Dense::Identity(r, r);
  a.block(r, 2 * r, r, 1) = kall * Dense(b.y);
  Eigen::VectorXd z0 = Eigen::VectorXd::Zero(2 * r + 1);
  z0[2 * r] = 1;
  const Eigen::VectorXd z = expm(a * (std::sqrt(lr) * t)) * z0;
  OdeOptions opt;
  opt.loss = OdeLoss::SquaredError;
  opt.learning_rate = lr;
  opt.momentum = beta;
  const Trajectory ode = predict_ode(b.th, b.th_st, b.y, {t}, opt);
  EXPECT_LT(max_relative_error(ode.train[0], RowMatrixD(z.head(n))), 1e-7);
  EXPECT_LT(max_relative_error(ode.test[0], RowMatrixD(z.segment(n, 3))), 1e-7);
}

// The cross-entropy ODE by the classical fixed-step RK4, written out here.
RowMatrixD softmax_ce_gradient(const RowMatrixD& f, const RowMatrixD& y) {
  RowMatrixD g(f.rows(), f.cols());
  for (Eigen::Index i = 0; i < f.rows(); ++i) {
    const Eigen::RowVectorXd e = (f.row(i).array() - f.row(i).maxCoeff()).exp();
    g.row(i) = e / e.sum() - y.row(i);  // one-hot rows sum to 1
  }
  return g;
}

TEST(PredictOde, SoftmaxCrossEntropyMatchesFixedStepRk4) {
  const Blocks b = make_blocks(16, 4, 3, 19);
  RowMatrixD onehot = RowMatrixD::Zero(16, 3);
  for (Eigen::Index i = 0; i < 16; ++i) onehot(i, i % 3) = 1;
  Dense kall(20, 16);
  kall << Dense(b.th), Dense(b.th_st);
  auto rhs = [&](const RowMatrixD& f) { return RowMatrixD(-kall * softmax_ce_gradient(f.topRows(16), onehot)); };
  RowMatrixD f = RowMatrixD::Zero(20, 3);
  const double t = 2.0;
  const int steps = 4000;
  const double h = t / steps;
  for (int s = 0; s < steps; ++s) {
    const RowMatrixD k1 = rhs(f), k2 = rhs(f + h / 2 * k1), k3 = rhs(f + h / 2 * k2), k4 = rhs(f + h * k3);
    f += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  const Trajectory ode = predict_ode(b.th, b.th_st, onehot, {0.5, t}, OdeOptions{});
  EXPECT_LT(max_relative_error(ode.train[1], RowMatrixD(f.topRows(16))), 1e-7);
  EXPECT_LT(max_relative_error(ode.test[1], RowMatrixD(f.bottomRows(4))), 1e-7);
  // Test outputs move in the span of the training kernel: f*(t) - f*(0) = K_* K⁻¹ (f(t) - f(0)).
  const RowMatrixD through = RowMatrixD(Dense(b.th_st) * Dense(b.th).fullPivLu().solve(Dense(ode.train[1])));
  EXPECT_LT(max_relative_error(ode.test[1], through), 1e-6);
  // Training lowers the cross-entropy.
  auto loss = [&](const RowMatrixD& out) {
    double l = 0;
    for (Eigen::Index i = 0; i < 16; ++i) {
      const double mx = out.row(i).maxCoeff();
      l -= out(i, i % 3) - mx - std::log((out.row(i).array() - mx).exp().sum());
    }
    return l;
  };
  EXPECT_LT(loss(ode.train[1]), loss(ode.train[0]));
  EXPECT_LT(loss(ode.train[0]), 16 * std::log(3.0));
}

TEST(PredictOde, InfiniteTimeAndStiffLimitsAreErrors) {
  const Blocks b = make_blocks(6, 2, 2, 20);
  EXPECT_THROW(predict_ode(b.th, b.th_st, b.y, {kInf}), Error);
  EXPECT_THROW(predict_ode(b.th, b.th_st, b.y, {-1.0}), Error);
  OdeOptions few;
  few.max_steps = 3;
  try {
    predict_ode(RowMatrixD(1e4 * b.th), b.th_st, b.y, {100.0}, few);
    FAIL() << "expected the step limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stiff"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ntkit
