// Training finite networks (mlp_train.hpp): losses against finite differences, the optimizers
// against hand-written updates, the linearized network against kernel gradient descent
// (KernelDynamics), and wide networks approaching the NTK prediction as width grows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/kernel_dynamics.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/mlp_train.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;

RowMatrixD one_hot(const std::vector<int>& labels, int classes) {
  RowMatrixD y = RowMatrixD::Zero(static_cast<Eigen::Index>(labels.size()), classes);
  for (std::size_t i = 0; i < labels.size(); ++i) y(static_cast<Eigen::Index>(i), labels[i]) = 1.0;
  return y;
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  const RowMatrixD f = gaussian_matrix(4, 3, 1);
  RowMatrixD probabilities = gaussian_matrix(4, 3, 2).array().exp();
  for (Eigen::Index i = 0; i < 4; ++i) probabilities.row(i) /= probabilities.row(i).sum();
  for (Loss loss : {Loss::MseSum, Loss::MseMean, Loss::CrossEntropy}) {
    const RowMatrixD y = loss == Loss::CrossEntropy ? probabilities : gaussian_matrix(4, 3, 3);
    const RowMatrixD g = loss_gradient(loss, f, y);
    const double h = 1e-6;
    for (Eigen::Index k = 0; k < f.size(); ++k) {
      RowMatrixD plus = f, minus = f;
      plus.data()[k] += h;
      minus.data()[k] -= h;
      const double fd = (loss_value(loss, plus, y) - loss_value(loss, minus, y)) / (2 * h);
      EXPECT_NEAR(g.data()[k], fd, 1e-8);
    }
  }
  // Independent values: ½Σ(f − y)² of a 1 x 2 residual (1, 2) is 2.5, its mean form 2.5/2;
  // cross-entropy of logits (0, ln 3) for class 1 is −ln(3/4).
  const RowMatrixD f1 = (RowMatrixD(1, 2) << 1.0, 2.0).finished(), y0 = RowMatrixD::Zero(1, 2);
  EXPECT_DOUBLE_EQ(loss_value(Loss::MseSum, f1, y0), 2.5);
  EXPECT_DOUBLE_EQ(loss_value(Loss::MseMean, f1, y0), 1.25);
  const RowMatrixD logits = (RowMatrixD(1, 2) << 0.0, std::log(3.0)).finished();
  EXPECT_NEAR(loss_value(Loss::CrossEntropy, logits, one_hot({1}, 2)), -std::log(0.75), 1e-15);
  EXPECT_EQ(parse_loss("MSE"), Loss::MseMean);
  EXPECT_EQ(parse_loss("mse-sum"), Loss::MseSum);
  EXPECT_EQ(parse_optimizer("Momentum"), Optimizer::Momentum);
  EXPECT_THROW(parse_loss("l2"), Error);
  EXPECT_THROW(parse_optimizer("adam"), Error);
}

// Gd: w1 = w0 − η Jᵀ ∂L/∂f; Momentum: v1 = g0, w1 = w0 − η g0, v2 = μ v1 + g1, w2 = w1 − η v2 —
// computed here with Mlp::vjp and loss_gradient.
TEST(Train, OptimizersMatchHandWrittenUpdates) {
  const Network network = parse_network("Dense(8, b_std=0.1), Tanh, Dense(2)");
  const RowMatrixD x = gaussian_matrix(6, 3, 4), y = gaussian_matrix(6, 2, 5);
  const RowMatrixD none(0, 3);
  const double lr = 0.3, mu = 0.8;
  const auto grad = [&](const Mlp& net) { return net.vjp(x, loss_gradient(Loss::MseMean, net.forward(x), y)); };

  Mlp gd(network, 3, 9);
  const Mlp start = gd;
  TrainOptions options;
  options.learning_rate = lr;
  options.steps = 1;
  train(gd, x, y, none, options);
  EXPECT_LT(test::max_relative_error(gd.parameters(), start.parameters() - lr * grad(start)), 1e-13);

  Mlp momentum = start;
  options.optimizer = Optimizer::Momentum;
  options.momentum = mu;
  options.steps = 2;
  train(momentum, x, y, none, options);
  Mlp manual = start;
  const VectorD v1 = grad(manual);
  manual.set_parameters(manual.parameters() - lr * v1);
  const VectorD v2 = mu * v1 + grad(manual);
  manual.set_parameters(manual.parameters() - lr * v2);
  EXPECT_LT(test::max_relative_error(momentum.parameters(), manual.parameters()), 1e-13);
}

// One epoch of SGD visits every example exactly once: with a tiny rate its total update equals
// one full-batch step on the 'sum' loss up to O(η²); with batch_size ≥ n it is gradient descent.
TEST(Train, SgdEpochVisitsEveryExampleOnce) {
  const Network network = parse_network("Dense(8, b_std=0.1), Relu, Dense(1)");
  const RowMatrixD x = gaussian_matrix(12, 3, 6), y = gaussian_matrix(12, 1, 7);
  const Mlp start(network, 3, 10);
  TrainOptions options;
  options.loss = Loss::MseSum;
  options.learning_rate = 1e-7;
  options.steps = 1;
  Mlp gd = start;
  train(gd, x, y, RowMatrixD(0, 3), options);
  options.optimizer = Optimizer::Sgd;
  options.batch_size = 4;
  options.steps = 3;
  Mlp sgd = start;
  train(sgd, x, y, RowMatrixD(0, 3), options);
  const VectorD full = gd.parameters() - start.parameters(), epoch = sgd.parameters() - start.parameters();
  EXPECT_LT((epoch - full).norm() / full.norm(), 1e-5);
  // Two epochs with different seeds visit the examples in different orders (different weights).
  options.steps = 6;
  options.learning_rate = 0.05;
  Mlp a = start, b = start;
  train(a, x, y, RowMatrixD(0, 3), options);
  options.seed = 1;
  train(b, x, y, RowMatrixD(0, 3), options);
  EXPECT_GT((a.parameters() - b.parameters()).norm(), 1e-6);
}

TEST(Train, TraceRecordsTheChosenSteps) {
  const Network network = parse_network("Dense(16, b_std=0.1), Relu, Dense(1)");
  const RowMatrixD x = gaussian_matrix(10, 3, 8), y = gaussian_matrix(10, 1, 9), xt = gaussian_matrix(4, 3, 10);
  Mlp net(network, 3, 11);
  const Mlp start = net;
  TrainOptions options;
  options.learning_rate = 0.5;
  options.steps = 25;
  options.record_every = 10;
  int calls = 0;
  const TrainTrace trace = train(net, x, y, xt, options, [&](int) { ++calls; });
  EXPECT_EQ(calls, 25);
  EXPECT_EQ(trace.steps, (std::vector<int>{0, 10, 20, 25}));
  ASSERT_EQ(trace.test_outputs.size(), 4u);
  EXPECT_EQ(trace.weight_rel_change.front(), 0.0);
  EXPECT_EQ(trace.kernel_rel_drift.front(), 0.0);
  EXPECT_GT(trace.kernel_rel_drift.back(), 0.0);
  EXPECT_LT(trace.loss.back(), trace.loss.front());
  EXPECT_EQ(trace.train_outputs.front(), start.forward(x));
  EXPECT_EQ(trace.test_outputs.back(), net.forward(xt));
  EXPECT_DOUBLE_EQ(trace.loss.back(), loss_value(Loss::MseMean, net.forward(x), y));
  EXPECT_NEAR(trace.weight_rel_change.back(), (net.parameters() - start.parameters()).norm() / start.parameters().norm(),
              1e-15);
}

TEST(Train, CrossEntropyLearnsSeparableClasses) {
  // Two classes split by the sign of the first input.
  const RowMatrixD x = gaussian_matrix(40, 2, 12);
  std::vector<int> labels;
  for (Eigen::Index i = 0; i < x.rows(); ++i) labels.push_back(x(i, 0) > 0 ? 1 : 0);
  const RowMatrixD y = one_hot(labels, 2);
  Mlp net(parse_network("Dense(32, b_std=0.1), Relu, Dense(2)"), 2, 13);
  TrainOptions options;
  options.loss = Loss::CrossEntropy;
  options.optimizer = Optimizer::Momentum;
  options.learning_rate = 0.5;
  options.steps = 200;
  options.record_every = 200;
  options.record_kernel_drift = false;
  const TrainTrace trace = train(net, x, y, RowMatrixD(0, 2), options);
  EXPECT_TRUE(trace.kernel_rel_drift.empty());
  EXPECT_LT(trace.loss.back(), 0.2 * trace.loss.front());
  const RowMatrixD f = net.forward(x);
  int correct = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) correct += (f(i, 1) > f(i, 0)) == (labels[static_cast<std::size_t>(i)] == 1);
  EXPECT_GE(correct, 38);
}

TEST(LinearizedMlp, IsTheFirstOrderTaylorExpansion) {
  const Mlp net(parse_network("Dense(6, b_std=0.2), LayerNorm, Erf, Dense(2, b_std=0.1)"), 3, 14);
  LinearizedMlp lin(net);
  const RowMatrixD x = gaussian_matrix(5, 3, 15);
  EXPECT_LT(test::max_relative_error(lin.forward(x), net.forward(x)), 1e-15);
  const VectorD v = gaussian_matrix(net.parameter_count(), 1, 16).col(0);
  lin.set_parameters(net.parameters() + v);
  const RowMatrixD step1 = lin.forward(x) - net.forward(x);
  lin.set_parameters(net.parameters() + 3 * v);
  const RowMatrixD step3 = lin.forward(x) - net.forward(x);
  EXPECT_LT(test::max_relative_error(step3, 3 * step1), 1e-13);  // linear in w
  // Close to the network for a small displacement: f(w0 + εv) − f_lin = O(ε²).
  Mlp moved = net;
  moved.set_parameters(net.parameters() + 1e-4 * v);
  lin.set_parameters(net.parameters() + 1e-4 * v);
  EXPECT_LT((moved.forward(x) - lin.forward(x)).cwiseAbs().maxCoeff(), 1e-6);
  EXPECT_GT((moved.forward(x) - net.forward(x)).cwiseAbs().maxCoeff(), 1e-5);
}

// Gradient descent on the linearized network is kernel gradient descent with Θ(w0), exactly:
// f(X) after s steps = Y + (I − ηΘ)^s (f0(X) − Y), and the matching test-point formula.
// Multi-output 'mean' loss: the full per-logit kernel on the flattened targets, divided by n·O.
TEST(LinearizedMlp, TrainingEqualsKernelGradientDescent) {
  const RowMatrixD x = gaussian_matrix(8, 3, 17), xt = gaussian_matrix(3, 3, 18);
  for (int outputs : {1, 2}) {
    SCOPED_TRACE(outputs);
    const Mlp net(parse_network("Dense(16, W_std=1.4, b_std=0.2), Relu, Residual(Dense(16), Tanh), Dense(" +
                                std::to_string(outputs) + ", b_std=0.1)"),
                  3, 19);
    const RowMatrixD y = gaussian_matrix(8, outputs, 20);
    EmpiricalOptions full;
    full.full_logits = true;
    full.nngp = false;
    const RowMatrixD k = empirical_kernels(net, x, full).ntk, kt = empirical_kernels(net, xt, x, full).ntk;
    const auto flat = [](const RowMatrixD& m) { return RowMatrixD(Eigen::Map<const RowMatrixD>(m.data(), m.size(), 1)); };
    DynamicsOptions dynamics;
    dynamics.normalization = outputs == 1 ? LossNormalization::Sum : LossNormalization::Mean;
    const KernelDynamics kernel(k, flat(y), dynamics);
    const double lr = 0.5 * kernel.max_stable_learning_rate();
    LinearizedMlp lin(net);
    TrainOptions options;
    options.loss = outputs == 1 ? Loss::MseSum : Loss::MseMean;
    options.learning_rate = lr;
    options.steps = 40;
    options.record_every = 20;
    const TrainTrace trace = train(lin, x, y, xt, options);
    const RowMatrixD f0 = flat(net.forward(x)), f0t = flat(net.forward(xt));
    for (std::size_t r = 0; r < trace.steps.size(); ++r) {
      const RowMatrixD train_pred = kernel.train_after_steps(trace.steps[r], lr, f0);
      const RowMatrixD test_pred = kernel.test_after_steps(trace.steps[r], lr, kt, f0, f0t);
      EXPECT_LT((flat(trace.train_outputs[r]) - train_pred).cwiseAbs().maxCoeff(), 1e-9);
      EXPECT_LT((flat(trace.test_outputs[r]) - test_pred).cwiseAbs().maxCoeff(), 1e-9);
      EXPECT_EQ(trace.kernel_rel_drift[r], 0.0);
    }
    EXPECT_LT(trace.loss.back(), 0.5 * trace.loss.front());
  }
}

// A wide network trained by gradient descent stays close to the infinite-width NTK prediction
// of the same descent, started from its own outputs, and the gap shrinks as width grows
// (theory: O(m^(-1/2))). d = 10 > n = 8 keeps the kernel well conditioned: with more points
// than dimensions its small eigenvalues fall below the O(m^(-1/2)) kernel fluctuations, and the
// slow modes then magnify them.
TEST(Train, WideNetworksApproachTheNtkPrediction) {
  const RowMatrixD x = gaussian_matrix(8, 10, 21), xt = gaussian_matrix(4, 10, 22), y = gaussian_matrix(8, 1, 23);
  const auto arch = [](int m) {
    return "Dense(" + std::to_string(m) + ", W_std=1.5, b_std=0.1), Relu, Dense(" + std::to_string(m) +
           ", W_std=1.5, b_std=0.1), Relu, Dense(1, b_std=0.1)";
  };
  const AnalyticKernels k = analytic_kernels(parse_network(arch(1)), x), kt = analytic_kernels(parse_network(arch(1)), xt, x);
  const KernelDynamics dynamics(k.ntk, y);
  const double lr = 0.5 * dynamics.max_stable_learning_rate();
  const int steps = 10;
  std::vector<double> gaps;
  for (int m : {64, 256, 1024}) {
    double gap = 0;
    const int seeds = 2;
    for (int s = 0; s < seeds; ++s) {
      Mlp net(parse_network(arch(m)), 10, static_cast<std::uint64_t>(31 * m + s));
      const RowMatrixD f0 = net.forward(x), f0t = net.forward(xt);
      TrainOptions options;
      options.loss = Loss::MseSum;
      options.learning_rate = lr;
      options.steps = steps;
      options.record_every = steps;
      options.record_kernel_drift = false;
      const TrainTrace trace = train(net, x, y, xt, options);
      const RowMatrixD pred = dynamics.train_after_steps(steps, lr, f0);
      const RowMatrixD pred_t = dynamics.test_after_steps(steps, lr, kt.ntk, f0, f0t);
      // Relative to how far the prediction moves the outputs.
      gap += ((trace.train_outputs.back() - pred).norm() / (pred - f0).norm() +
              (trace.test_outputs.back() - pred_t).norm() / (pred_t - f0t).norm()) /
             (2 * seeds);
    }
    gaps.push_back(gap);
  }
  std::printf("gap to the NTK prediction at m = 64, 256, 1024: %.4f %.4f %.4f\n", gaps[0], gaps[1], gaps[2]);
  EXPECT_LT(gaps[2], 0.08);
  EXPECT_LT(gaps[1], gaps[0]);
  EXPECT_LT(gaps[2], 0.7 * gaps[1]);
}

TEST(Train, Errors) {
  const RowMatrixD x = gaussian_matrix(6, 2, 0), y = gaussian_matrix(6, 1, 1), none(0, 2);
  Mlp net(parse_network("Dense(4), Relu, Dense(1)"), 2, 0);
  TrainOptions options;
  options.steps = 2;
  EXPECT_THROW(train(net, x, y, none, options), Error);  // learning rate 0
  options.learning_rate = 0.1;
  EXPECT_THROW(train(net, x, gaussian_matrix(5, 1, 1), none, options), Error);
  EXPECT_THROW(train(net, x, gaussian_matrix(6, 2, 1), none, options), Error);
  EXPECT_THROW(train(net, x, y, gaussian_matrix(2, 3, 1), options), Error);
  options.batch_size = 2;
  EXPECT_THROW(train(net, x, y, none, options), Error);  // gd with minibatches
  options.batch_size = 0;
  options.momentum = 1.0;
  EXPECT_THROW(train(net, x, y, none, options), Error);
  options.momentum = 0.9;
  options.loss = Loss::CrossEntropy;
  EXPECT_THROW(train(net, x, y, none, options), Error);  // one output
  Mlp two(parse_network("Dense(4), Relu, Dense(2)"), 2, 0);
  EXPECT_THROW(train(two, x, gaussian_matrix(6, 2, 1), none, options), Error);  // not probabilities
  options.loss = Loss::MseSum;
  options.learning_rate = 1e6;
  options.steps = 50;
  try {
    train(net, x, y, none, options);
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ntkit
