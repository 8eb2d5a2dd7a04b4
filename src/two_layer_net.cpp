#include "ntkit/two_layer_net.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include "blas.hpp"
#include "ntkit/error.hpp"

namespace ntkit {

// One pass over a data set: pre-activations Z = X Aᵀ (n x m), σ(Z), σ'(Z).
struct TwoLayerNet::Pass {
  RowMatrixD z, s, ds;
};

namespace {

using Pass = TwoLayerNet::Pass;

// Fills `p`, reusing its buffers: training calls this every step with n x m matrices of tens
// of megabytes, and fresh allocations of that size are fresh pages from the kernel each time.
// Z = X Aᵀ: for small d (the lecture's data) through Eigen, single-threaded: OpenBLAS's worker
// threads keep spinning (sched_yield) after each call and steal the cores from the OpenMP
// loops that follow; in training that made each step several times slower. For large d the
// product dominates and goes to the threaded BLAS.
void run_pass(const RowMatrixD& a, const Activation& activation, MatrixView<double> x, bool derivative, Pass& p) {
  if (x.cols() >= 64) {
    detail::gemm_abt<double>(x, a, p.z);
  } else {
    p.z.resize(x.rows(), a.rows());
    p.z.noalias() = x * a.transpose();
  }
  if (derivative) activate_both(activation, p.z, p.s, p.ds);
  else activate(activation, p.z, p.s);
}

Pass run_pass(const RowMatrixD& a, const Activation& activation, MatrixView<double> x, bool derivative) {
  Pass p;
  run_pass(a, activation, x, derivative, p);
  return p;
}

void require_inputs(MatrixView<double> x, int input_dim, const char* who, const char* name) {
  if (x.cols() != input_dim) {
    std::ostringstream msg;
    msg << who << ": " << name << " has " << x.cols() << " columns but the network takes d = " << input_dim << " inputs";
    throw Error(msg.str());
  }
  if (!x.allFinite()) throw Error(std::string(who) + ": " + name + " contains NaN or Inf");
}

void require_targets(const VectorD& y, Eigen::Index n, const char* who) {
  if (y.size() != n) {
    std::ostringstream msg;
    msg << who << ": " << n << " inputs but " << y.size() << " targets; need one target per input";
    throw Error(msg.str());
  }
  if (!y.allFinite()) throw Error(std::string(who) + ": targets contain NaN or Inf");
}

void require_learning_rate(double lr, const char* who) {
  if (!(lr > 0) || !std::isfinite(lr)) {
    std::ostringstream msg;
    msg << who << ": learning rate must be a finite number > 0, got " << lr;
    throw Error(msg.str());
  }
}

// ∇_w of ½ Σ r_j² where r = outputs - y, given the pass over X at weights (a, b):
// ∇_b = σ(Z)ᵀ r / √m,  ∇_{a_i} = b_i Σ_j r_j σ'(z_ji) x_j / √m.
// Overwrites p.ds with r_j σ'(z_ji) (no n x m temporary).
TwoLayerNet::Gradient gradient_from_pass(Pass& p, const VectorD& b, MatrixView<double> x, const VectorD& residual) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(b.size()));
  TwoLayerNet::Gradient g;
  g.b = scale * (p.s.transpose() * residual);
  p.ds.array().colwise() *= residual.array();  // n x m: r_j σ'(z_ji)
  g.a = p.ds.transpose() * x;                  // m x d
  g.a.array().colwise() *= (scale * b).array();
  return g;
}

}  // namespace

TwoLayerNet::TwoLayerNet(int input_dim, int width, const Activation& activation, std::uint64_t seed)
    : activation_(activation) {
  if (input_dim < 1) throw Error("TwoLayerNet: input dimension d must be >= 1, got " + std::to_string(input_dim));
  if (width < 1) throw Error("TwoLayerNet: width m must be >= 1, got " + std::to_string(width));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  a_.resize(width, input_dim);
  b_.resize(width);
  for (Eigen::Index i = 0; i < a_.size(); ++i) a_.data()[i] = normal(rng);
  for (Eigen::Index i = 0; i < b_.size(); ++i) b_[i] = normal(rng);
}

TwoLayerNet::TwoLayerNet(RowMatrixD a, VectorD b, const Activation& activation)
    : a_(std::move(a)), b_(std::move(b)), activation_(activation) {
  if (a_.rows() < 1 || a_.cols() < 1) throw Error("TwoLayerNet: a must be m x d with m, d >= 1");
  if (b_.size() != a_.rows()) {
    throw Error("TwoLayerNet: a has " + std::to_string(a_.rows()) + " rows (neurons) but b has " + std::to_string(b_.size()) +
                " entries");
  }
  if (!a_.allFinite() || !b_.allFinite()) throw Error("TwoLayerNet: weights contain NaN or Inf");
}

VectorD TwoLayerNet::forward(MatrixView<double> x) const {
  require_inputs(x, input_dim(), "TwoLayerNet::forward", "x");
  const Pass p = run_pass(a_, activation_, x, false);
  return (p.s * b_) / std::sqrt(static_cast<double>(width()));
}

TwoLayerNet::Gradient TwoLayerNet::loss_gradient(MatrixView<double> x, const VectorD& y) const {
  require_inputs(x, input_dim(), "TwoLayerNet::loss_gradient", "x");
  require_targets(y, x.rows(), "TwoLayerNet::loss_gradient");
  Pass p = run_pass(a_, activation_, x, true);
  const VectorD residual = (p.s * b_) / std::sqrt(static_cast<double>(width())) - y;
  return gradient_from_pass(p, b_, x, residual);
}

void TwoLayerNet::gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate) {
  Workspace workspace;
  gradient_step(x, y, learning_rate, workspace);
}

void TwoLayerNet::gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate, Workspace& workspace) {
  require_learning_rate(learning_rate, "TwoLayerNet::gradient_step");
  require_inputs(x, input_dim(), "TwoLayerNet::gradient_step", "x");
  require_targets(y, x.rows(), "TwoLayerNet::gradient_step");
  if (!workspace.pass) workspace.pass = std::make_shared<Pass>();
  Pass& p = *workspace.pass;
  run_pass(a_, activation_, x, true, p);
  const VectorD residual = (p.s * b_) / std::sqrt(static_cast<double>(width())) - y;
  const Gradient g = gradient_from_pass(p, b_, x, residual);
  a_ -= learning_rate * g.a;
  b_ -= learning_rate * g.b;
}

NtkParts TwoLayerNet::empirical_ntk(MatrixView<double> x1, MatrixView<double> x2) const {
  require_inputs(x1, input_dim(), "TwoLayerNet::empirical_ntk", "x1");
  require_inputs(x2, input_dim(), "TwoLayerNet::empirical_ntk", "x2");
  const double inv_m = 1.0 / static_cast<double>(width());
  const Pass p1 = run_pass(a_, activation_, x1, true);
  const Pass p2 = run_pass(a_, activation_, x2, true);
  NtkParts k;
  detail::gemm_abt<double>(p1.s, p2.s, k.b);
  k.b *= inv_m;
  const RowMatrixD d1 = p1.ds.array().rowwise() * b_.transpose().array();  // σ'(Z1) B
  const RowMatrixD d2 = p2.ds.array().rowwise() * b_.transpose().array();
  RowMatrixD gram;
  detail::gemm_abt<double>(x1, x2, gram);
  detail::gemm_abt<double>(d1, d2, k.a);
  k.a = (k.a.array() * gram.array()) * inv_m;
  return k;
}

NtkParts TwoLayerNet::empirical_ntk(MatrixView<double> x) const {
  require_inputs(x, input_dim(), "TwoLayerNet::empirical_ntk", "x");
  const double inv_m = 1.0 / static_cast<double>(width());
  const Pass p = run_pass(a_, activation_, x, true);
  NtkParts k;
  detail::syrk_upper<double>(p.s, k.b);
  const RowMatrixD d = p.ds.array().rowwise() * b_.transpose().array();
  RowMatrixD gram;
  detail::syrk_upper<double>(x, gram);
  detail::syrk_upper<double>(d, k.a);
  k.a = (k.a.array() * gram.array()) * inv_m;
  k.b *= inv_m;
  detail::mirror_upper_to_lower(k.a);
  detail::mirror_upper_to_lower(k.b);
  return k;
}

double TwoLayerNet::parameter_norm() const { return std::sqrt(a_.squaredNorm() + b_.squaredNorm()); }

double TwoLayerNet::parameter_distance(const TwoLayerNet& other) const {
  if (other.a_.rows() != a_.rows() || other.a_.cols() != a_.cols())
    throw Error("TwoLayerNet::parameter_distance: networks have different shapes");
  return std::sqrt((a_ - other.a_).squaredNorm() + (b_ - other.b_).squaredNorm());
}

LinearizedTwoLayerNet::LinearizedTwoLayerNet(TwoLayerNet initial)
    : initial_(std::move(initial)),
      delta_a_(RowMatrixD::Zero(initial_.width(), initial_.input_dim())),
      delta_b_(VectorD::Zero(initial_.width())) {}

// f_lin from the pass at w0 over X: f(w0, x) + ∇_w f(w0, x)·Δw, where
// ∇_w f(w0, x)·Δw = m^(-1/2) Σ_i [b_i σ'(a_i·x) (x·Δa_i) + σ(a_i·x) Δb_i].
VectorD LinearizedTwoLayerNet::outputs_from_pass(const Pass& p, MatrixView<double> x) const {
  RowMatrixD xda;
  detail::gemm_abt<double>(x, delta_a_, xda);  // n x m: x_j·Δa_i
  const VectorD& b = initial_.b();
  const double scale = 1.0 / std::sqrt(static_cast<double>(initial_.width()));
  return scale * (p.s * b + (p.ds.array() * xda.array()).matrix() * b + p.s * delta_b_);
}

VectorD LinearizedTwoLayerNet::forward(MatrixView<double> x) const {
  require_inputs(x, initial_.input_dim(), "LinearizedTwoLayerNet::forward", "x");
  return outputs_from_pass(run_pass(initial_.a(), initial_.activation(), x, true), x);
}

void LinearizedTwoLayerNet::gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate) {
  require_learning_rate(learning_rate, "LinearizedTwoLayerNet::gradient_step");
  require_inputs(x, initial_.input_dim(), "LinearizedTwoLayerNet::gradient_step", "x");
  require_targets(y, x.rows(), "LinearizedTwoLayerNet::gradient_step");
  // One pass at w0 serves both the outputs and the gradient: the linear model's gradient is
  // the network's gradient formula at w0, with the linear model's residual.
  Pass p = run_pass(initial_.a(), initial_.activation(), x, true);
  const VectorD residual = outputs_from_pass(p, x) - y;
  const TwoLayerNet::Gradient g = gradient_from_pass(p, initial_.b(), x, residual);
  delta_a_ -= learning_rate * g.a;
  delta_b_ -= learning_rate * g.b;
}

double LinearizedTwoLayerNet::displacement_norm() const { return std::sqrt(delta_a_.squaredNorm() + delta_b_.squaredNorm()); }

TwoLayerTrace train_two_layer(TwoLayerNet& net, MatrixView<double> x, const VectorD& y, MatrixView<double> x_test,
                              const TwoLayerTrainOptions& options, const std::function<void(int)>& progress) {
  const char* who = "train_two_layer";
  require_inputs(x, net.input_dim(), who, "training inputs");
  require_targets(y, x.rows(), who);
  if (x_test.rows() > 0) require_inputs(x_test, net.input_dim(), who, "test inputs");
  require_learning_rate(options.learning_rate, who);
  if (options.steps < 0) throw Error("train_two_layer: steps must be >= 0");
  if (options.record_every < 1) throw Error("train_two_layer: record_every must be >= 1");

  const TwoLayerNet initial = net;
  const double initial_norm = initial.parameter_norm();
  TwoLayerNet::Workspace workspace;
  TwoLayerTrace trace;
  for (int t = 0; t <= options.steps; ++t) {
    if (t % options.record_every == 0 || t == options.steps) {
      const VectorD out = net.forward(x);
      trace.steps.push_back(t);
      trace.loss.push_back(0.5 * (out - y).squaredNorm());
      trace.train_outputs.push_back(out);
      if (x_test.rows() > 0) trace.test_outputs.push_back(net.forward(x_test));
      trace.weight_rel_change.push_back(net.parameter_distance(initial) / initial_norm);
      if (!std::isfinite(trace.loss.back())) {
        std::ostringstream msg;
        msg << "train_two_layer: the loss diverged at step " << t << " (learning rate " << options.learning_rate
            << " is too large; gradient descent on the 'sum' loss is "
            << "stable for η < 2 / λ_max(K))";
        throw Error(msg.str());
      }
    }
    if (t < options.steps) {
      net.gradient_step(x, y, options.learning_rate, workspace);
      if (progress) progress(t + 1);
    }
  }
  return trace;
}

}  // namespace ntkit
