// The lecture's two-layer network (docs/mathematics.md §2–§4) against independent references: finite
// differences for gradients, explicit per-parameter Jacobians for the empirical NTK, the
// infinite-width kernel for the m^(-1/2) law, and the discrete kernel dynamics for the
// linearized network.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <numeric>

#include "ntkit/error.hpp"
#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/two_layer_net.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

const Activation kAll[] = {Activation::Relu, Activation::Erf, Activation::Tanh, Activation::Identity};

double loss(const TwoLayerNet& net, const RowMatrixD& x, const VectorD& y) {
  return 0.5 * (net.forward(x) - y).squaredNorm();
}

TEST(TwoLayerNet, GradientsMatchFiniteDifferences) {
  const RowMatrixD x = gaussian_matrix(6, 3, 1);
  const VectorD y = gaussian_matrix(6, 1, 2);
  for (Activation act : kAll) {
    const TwoLayerNet net(3, 5, act, 3);
    const TwoLayerNet::Gradient g = net.loss_gradient(x, y);
    const double h = 1e-6;
    for (Eigen::Index i = 0; i < 5; ++i) {
      for (Eigen::Index k = 0; k < 3; ++k) {
        RowMatrixD ap = net.a(), am = net.a();
        ap(i, k) += h;
        am(i, k) -= h;
        const double fd = (loss(TwoLayerNet(ap, net.b(), act), x, y) - loss(TwoLayerNet(am, net.b(), act), x, y)) / (2 * h);
        EXPECT_NEAR(g.a(i, k), fd, 1e-6 * (1 + std::abs(fd))) << activation_name(act) << " a" << i << k;
      }
      VectorD bp = net.b(), bm = net.b();
      bp[i] += h;
      bm[i] -= h;
      const double fd = (loss(TwoLayerNet(net.a(), bp, act), x, y) - loss(TwoLayerNet(net.a(), bm, act), x, y)) / (2 * h);
      EXPECT_NEAR(g.b[i], fd, 1e-6 * (1 + std::abs(fd))) << activation_name(act) << " b" << i;
    }
  }
}

// J for one input, split into the a-block (m·d) and b-block (m), from the docs/mathematics.md §2 formulas
// written entry by entry: ∂f/∂a_ik = b_i σ'(a_i·x) x_k / √m, ∂f/∂b_i = σ(a_i·x) / √m.
void jacobian_rows(const TwoLayerNet& net, const RowMatrixD& x, RowMatrixD& ja, RowMatrixD& jb) {
  const Eigen::Index m = net.width(), d = net.input_dim();
  ja.resize(x.rows(), m * d);
  jb.resize(x.rows(), m);
  const double s = 1.0 / std::sqrt(static_cast<double>(m));
  const PointwiseActivation sigma(net.activation().layer());
  for (Eigen::Index j = 0; j < x.rows(); ++j)
    for (Eigen::Index i = 0; i < m; ++i) {
      double z = 0;
      for (Eigen::Index k = 0; k < d; ++k) z += net.a()(i, k) * x(j, k);
      for (Eigen::Index k = 0; k < d; ++k) ja(j, i * d + k) = s * net.b()[i] * sigma.derivative(z) * x(j, k);
      jb(j, i) = s * sigma.value(z);
    }
}

TEST(TwoLayerNet, EmpiricalNtkEqualsExplicitJacobianProducts) {
  const RowMatrixD x1 = gaussian_matrix(7, 4, 4), x2 = gaussian_matrix(5, 4, 5);
  for (Activation act : kAll) {
    const TwoLayerNet net(4, 33, act, 6);
    RowMatrixD ja1, jb1, ja2, jb2;
    jacobian_rows(net, x1, ja1, jb1);
    jacobian_rows(net, x2, ja2, jb2);
    const NtkParts k = net.empirical_ntk(x1, x2);
    EXPECT_LT(max_relative_error(k.a, ja1 * ja2.transpose()), 1e-12) << activation_name(act);
    EXPECT_LT(max_relative_error(k.b, jb1 * jb2.transpose()), 1e-12) << activation_name(act);
    const NtkParts ks = net.empirical_ntk(x1);
    EXPECT_LT(max_relative_error(ks.total(), ja1 * ja1.transpose() + jb1 * jb1.transpose()), 1e-12);
    EXPECT_TRUE((ks.a.array() == ks.a.transpose().array()).all());
  }
}

TEST(TwoLayerNet, SameSeedSameNetworkWhateverTheThreadCount) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const TwoLayerNet one(5, 100, Activation::Relu, 42);
  omp_set_num_threads(std::max(2, before));
  const TwoLayerNet two(5, 100, Activation::Relu, 42);
  omp_set_num_threads(before);
  EXPECT_EQ(one.a(), two.a());
  EXPECT_EQ(one.b(), two.b());
  const TwoLayerNet other(5, 100, Activation::Relu, 43);
  EXPECT_NE(one.b(), other.b());
}

// log-log slope of y against x by least squares.
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

TEST(TwoLayerNet, EmpiricalKernelErrorFallsLikeInverseSquareRootOfWidth) {
  const RowMatrixD x = gaussian_matrix(20, 3, 7);
  for (Activation act : {Activation::Relu, Activation::Erf}) {
    const RowMatrixD k_inf = two_layer_ntk(act, x).total();
    std::vector<double> widths, errors;
    for (int m : {64, 256, 1024, 4096, 16384}) {
      double mean_error = 0;
      const int seeds = 8;
      for (int s = 0; s < seeds; ++s) {
        const TwoLayerNet net(3, m, act, static_cast<std::uint64_t>(1000 * m + s));
        mean_error += (net.empirical_ntk(x).total() - k_inf).norm() / k_inf.norm() / seeds;
      }
      widths.push_back(m);
      errors.push_back(mean_error);
    }
    const double slope = loglog_slope(widths, errors);
    EXPECT_GT(slope, -0.6) << activation_name(act);
    EXPECT_LT(slope, -0.4) << activation_name(act);
  }
}

TEST(LinearizedTwoLayerNet, TrainingEqualsDiscreteKernelDynamics) {
  const RowMatrixD x = gaussian_matrix(12, 3, 8), xt = gaussian_matrix(5, 3, 9);
  const VectorD y = gaussian_matrix(12, 1, 10);
  for (Activation act : kAll) {
    const TwoLayerNet net(3, 64, act, 11);
    LinearizedTwoLayerNet lin(net);
    const RowMatrixD k = net.empirical_ntk(x).total();
    const RowMatrixD kt = net.empirical_ntk(xt, x).total();
    const KernelDynamics dyn(k, y);
    const double lr = 0.5 * dyn.max_stable_learning_rate();
    const RowMatrixD f0 = net.forward(x), f0t = net.forward(xt);
    // At w0 the linearization is the network itself.
    EXPECT_LT((lin.forward(x) - net.forward(x)).cwiseAbs().maxCoeff(), 1e-14);
    for (int s = 0; s <= 60; ++s) {
      if (s % 20 == 0) {
        EXPECT_LT((RowMatrixD(lin.forward(x)) - dyn.train_after_steps(s, lr, f0)).cwiseAbs().maxCoeff(), 1e-8)
            << activation_name(act) << " step " << s;
        EXPECT_LT((RowMatrixD(lin.forward(xt)) - dyn.test_after_steps(s, lr, kt, f0, f0t)).cwiseAbs().maxCoeff(), 1e-8)
            << activation_name(act) << " step " << s;
      }
      lin.gradient_step(x, y, lr);
    }
  }
}

// Train for a fixed time t = η·T and measure max_t ‖f_NN(t) - f_NTK(t)‖ / ‖y‖ against the
// infinite-width kernel's discrete dynamics from the network's own f(0).
double network_vs_ntk_gap(int width, std::uint64_t seed, double* weight_change) {
  const RowMatrixD x = gaussian_matrix(16, 3, 12), xt = gaussian_matrix(6, 3, 13);
  const VectorD y = gaussian_matrix(16, 1, 14);
  const RowMatrixD k = two_layer_ntk(Activation::Relu, x).total();
  const RowMatrixD kt = two_layer_ntk(Activation::Relu, xt, x).total();
  const KernelDynamics dyn(k, y);
  const double lr = 0.5 * dyn.max_stable_learning_rate();
  TwoLayerNet net(3, width, Activation::Relu, seed);
  const RowMatrixD f0 = net.forward(x), f0t = net.forward(xt);
  const TwoLayerTrace trace = train_two_layer(net, x, y, xt, {lr, 200, 20});
  double gap = 0;
  for (std::size_t r = 0; r < trace.steps.size(); ++r) {
    const RowMatrixD ntk = dyn.test_after_steps(trace.steps[r], lr, kt, f0, f0t);
    gap = std::max(gap, (RowMatrixD(trace.test_outputs[r]) - ntk).norm() / y.norm());
    const RowMatrixD ntk_train = dyn.train_after_steps(trace.steps[r], lr, f0);
    gap = std::max(gap, (RowMatrixD(trace.train_outputs[r]) - ntk_train).norm() / y.norm());
  }
  *weight_change = trace.weight_rel_change.back();
  return gap;
}

TEST(TwoLayerNet, TrainedNetworkApproachesNtkPredictionAsWidthGrows) {
  double change_small = 0, change_large = 0, gap_small = 0, gap_large = 0;
  const int seeds = 4;
  for (std::uint64_t s = 0; s < seeds; ++s) {
    double c = 0;
    gap_small += network_vs_ntk_gap(512, 100 + s, &c) / seeds;
    change_small += c / seeds;
    gap_large += network_vs_ntk_gap(8192, 200 + s, &c) / seeds;
    change_large += c / seeds;
  }
  // 16x the width: both should shrink by about √16 = 4; demand at least 2 (seed noise).
  EXPECT_LT(gap_large, gap_small / 2) << gap_small << " -> " << gap_large;
  EXPECT_LT(change_large, change_small / 2) << change_small << " -> " << change_large;
}

TEST(TwoLayerNet, Errors) {
  EXPECT_THROW(TwoLayerNet(0, 5, Activation::Relu, 1), Error);
  EXPECT_THROW(TwoLayerNet(3, 0, Activation::Relu, 1), Error);
  const TwoLayerNet net(3, 5, Activation::Relu, 1);
  EXPECT_THROW(net.forward(gaussian_matrix(2, 4, 1)), Error);
  EXPECT_THROW(net.loss_gradient(gaussian_matrix(2, 3, 1), VectorD::Zero(3)), Error);
  TwoLayerNet copy = net;
  const RowMatrixD x = gaussian_matrix(4, 3, 2);
  const VectorD y = VectorD::Ones(4);
  EXPECT_THROW(train_two_layer(copy, x, y, RowMatrixD(0, 3), {-1.0, 10, 1}), Error);
  try {
    train_two_layer(copy, x, y, RowMatrixD(0, 3), {1e6, 50, 1});
    FAIL() << "expected divergence to be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_activation("softsign"), Error);
  EXPECT_EQ(parse_activation("ReLU"), Activation::Relu);
}

}  // namespace
}  // namespace ntkit
