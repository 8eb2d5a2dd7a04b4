// Function-space training with any loss (predict.hpp: predict_ode): the ODE
//   df(X)/dτ = -K ∇_f L(f(X)),   df(X*)/dτ = -K_* ∇_f L(f(X))
// (or its momentum form) integrated by the Dormand–Prince 5(4) pair (Dormand & Prince 1980,
// "A family of embedded Runge–Kutta formulae") with per-step error control: the 5th-order
// solution is kept, the 4th-order one only estimates the error.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <string>

#include "ntkit/error.hpp"
#include "ntkit/predict.hpp"

namespace ntkit {
namespace {

// The Dormand–Prince tableau: stages a (lower triangle), 5th-order weights b (equal to the last
// stage row, "first same as last") and the difference e = b - b̂ to the 4th order. The nodes c
// are not needed: the system does not depend on time explicitly.
constexpr double kA[7][6] = {
    {},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
constexpr double kE[7] = {35.0 / 384 - 5179.0 / 57600,
                          0.0,
                          500.0 / 1113 - 7571.0 / 16695,
                          125.0 / 192 - 393.0 / 640,
                          -2187.0 / 6784 + 92097.0 / 339200,
                          11.0 / 84 - 187.0 / 2100,
                          -1.0 / 40};

// The state: outputs F = [f(X); f(X*)] ((n + m) x o) and, with momentum, their velocity Q.
struct OdeSystem {
  RowMatrixD kernel;  // [K; K_*], (n + m) x n, times the normalization's scale
  RowMatrixD targets;
  Eigen::Index n = 0;
  OdeLoss loss = OdeLoss::SoftmaxCrossEntropy;
  bool momentum = false;
  double friction = 0;  // (1 - β) / √η

  // ∇_f L on the training rows (before the scale, which is folded into `kernel`).
  RowMatrixD loss_gradient(const RowMatrixD& f) const {
    if (loss == OdeLoss::SquaredError) return f - targets;
    // Softmax cross-entropy per row: softmax(f_i) Σ_c y_ic - y_i (rows of Y need not sum to 1).
    RowMatrixD g(f.rows(), f.cols());
    for (Eigen::Index i = 0; i < f.rows(); ++i) {
      const Eigen::RowVectorXd e = (f.row(i).array() - f.row(i).maxCoeff()).exp();
      g.row(i) = e / e.sum() * targets.row(i).sum() - targets.row(i);
    }
    return g;
  }

  // The state is stored as one matrix: F on top, Q below it (with momentum).
  RowMatrixD derivative(const RowMatrixD& state) const {
    const Eigen::Index rows = kernel.rows();
    const RowMatrixD force = -kernel * loss_gradient(state.topRows(n));
    if (!momentum) return force;
    RowMatrixD d(state.rows(), state.cols());
    d.topRows(rows) = state.bottomRows(rows);
    d.bottomRows(rows) = force - friction * state.bottomRows(rows);
    return d;
  }
};

// RMS over entries of e / (atol + rtol · max(|y|, |y_new|)): <= 1 means the step is accepted.
double error_norm(const RowMatrixD& e, const RowMatrixD& y, const RowMatrixD& y_new, const OdeOptions& o) {
  const auto scale = o.absolute_tolerance + o.relative_tolerance * y.cwiseAbs().cwiseMax(y_new.cwiseAbs()).array();
  return std::sqrt((e.array() / scale).square().mean());
}

}  // namespace

Trajectory predict_ode(MatrixView<double> k_train, MatrixView<double> k_test_train, MatrixView<double> targets,
                       const std::vector<double>& times, const OdeOptions& options, const RowMatrixD& f0_train,
                       const RowMatrixD& f0_test) {
  const std::string who = "predict_ode";
  const Eigen::Index n = k_train.rows(), m = k_test_train.rows(), o = targets.cols();
  std::ostringstream msg;
  if (n == 0 || k_train.cols() != n) {
    msg << who << ": the training kernel must be square and non-empty, got " << k_train.rows() << " x " << k_train.cols();
  } else if (targets.rows() != n || o == 0) {
    msg << who << ": targets are " << targets.rows() << " x " << o << " but K(X, X) is " << n << " x " << n
        << "; need one target row per training point";
  } else if (k_test_train.cols() != n) {
    msg << who << ": K(X*, X) has " << k_test_train.cols() << " columns, expected " << n;
  } else if (!k_train.allFinite() || !k_test_train.allFinite() || !targets.allFinite()) {
    msg << who << ": kernels and targets must be finite (no NaN or Inf)";
  } else if (times.empty()) {
    msg << who << ": give at least one time";
  } else if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    msg << who << ": learning rate must be a finite number > 0, got " << options.learning_rate;
  } else if (!(options.momentum >= 0 && options.momentum < 1)) {
    msg << who << ": momentum must be in [0, 1), got " << options.momentum;
  } else if (!(options.relative_tolerance > 0) || !(options.absolute_tolerance > 0)) {
    msg << who << ": tolerances must be > 0";
  } else if ((f0_train.size() != 0 && (f0_train.rows() != n || f0_train.cols() != o)) ||
             (f0_test.size() != 0 && (f0_test.rows() != m || f0_test.cols() != o))) {
    msg << who << ": initial outputs must be " << n << " x " << o << " (train) and " << m << " x " << o << " (test)";
  }
  for (const double t : times) {
    if (msg.str().empty() && !(t >= 0 && std::isfinite(t)))
      msg << who << ": times must be finite and >= 0 (the ODE cannot reach t = inf), got " << t;
  }
  if (!msg.str().empty()) throw Error(msg.str());

  OdeSystem sys;
  sys.n = n;
  sys.loss = options.loss;
  sys.targets = targets;
  sys.kernel.resize(n + m, n);
  sys.kernel.topRows(n) = k_train;
  sys.kernel.bottomRows(m) = k_test_train;
  if (options.normalization == LossNormalization::Mean) sys.kernel /= static_cast<double>(targets.size());
  sys.momentum = options.momentum > 0;
  const double root_lr = std::sqrt(options.learning_rate);
  sys.friction = (1.0 - options.momentum) / root_lr;
  // neural-tangents' units: absolute time η t, or √η t with momentum.
  const double unit = sys.momentum ? root_lr : options.learning_rate;

  RowMatrixD y = RowMatrixD::Zero(sys.momentum ? 2 * (n + m) : n + m, o);
  if (f0_train.size() != 0) y.topRows(n) = f0_train;
  if (f0_test.size() != 0) y.middleRows(n, m) = f0_test;

  // Visit the requested times in increasing order; answer in the order given.
  std::vector<std::size_t> order(times.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
  Trajectory out;
  out.train.resize(times.size());
  out.test.resize(times.size());

  RowMatrixD k[7];
  k[0] = sys.derivative(y);
  // Initial step: about 1% of the state's scale over its rate of change (Hairer et al.'s rule of
  // thumb); the error control corrects it within a few steps.
  const double y_scale = std::max(y.cwiseAbs().maxCoeff(), 1.0), rate = k[0].cwiseAbs().maxCoeff();
  double h = rate > 0 ? 0.01 * y_scale / rate : 1.0;
  double tau = 0;
  long steps = 0;
  for (const std::size_t idx : order) {
    const double target = times[idx] * unit;
    while (tau < target) {
      if (++steps > options.max_steps) {
        std::ostringstream m2;
        m2 << who << ": more than " << options.max_steps << " steps to reach t = " << times[idx]
           << "; the problem is stiff (a large kernel eigenvalue); use a shorter time or the 'mean' normalization";
        throw Error(m2.str());
      }
      const bool last = h >= target - tau;
      const double step = last ? target - tau : h;
      for (int s = 1; s < 7; ++s) {
        RowMatrixD stage = y;
        for (int j = 0; j < s; ++j)
          if (kA[s][j] != 0) stage += (step * kA[s][j]) * k[j];
        k[s] = sys.derivative(stage);
        if (s == 6) {  // the stage point of the last row is the 5th-order solution itself
          RowMatrixD err = RowMatrixD::Zero(y.rows(), y.cols());
          for (int j = 0; j < 7; ++j)
            if (kE[j] != 0) err += (step * kE[j]) * k[j];
          const double e = error_norm(err, y, stage, options);
          if (!std::isfinite(e)) throw Error(who + ": the solution overflowed; the learning rate or time is too large");
          // Standard step-size control for a 5th-order solution: factor 0.9 e^(-1/5), within [0.2, 5].
          const double factor = e == 0 ? 5.0 : std::clamp(0.9 * std::pow(e, -0.2), 0.2, 5.0);
          if (e <= 1) {
            y = stage;
            k[0] = k[6];  // first same as last
            tau = last ? target : tau + step;
            if (!last || factor < 1) h = step * factor;
          } else {
            h = step * factor;
          }
        }
      }
    }
    out.train[idx] = y.topRows(n);
    out.test[idx] = y.middleRows(n, m);
  }
  return out;
}

}  // namespace ntkit
