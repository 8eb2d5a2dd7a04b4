// Training loops for finite networks and their linearizations (mlp_train.hpp): losses,
// optimizers, minibatches and the trace. One loop serves both models; each model supplies its
// outputs, its loss gradient on a batch and (the network only) its empirical NTK.
#include "ntkit/mlp_train.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <sstream>

#include "mlp_program.hpp"
#include "ntkit/error.hpp"
#include "ntkit/mlp_kernel.hpp"

namespace ntkit {
namespace {

using Index = Eigen::Index;

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Row-wise log-sum-exp, shifted by the row maximum so that nothing overflows.
VectorD logsumexp_rows(const RowMatrixD& f) {
  VectorD out(f.rows());
  for (Index i = 0; i < f.rows(); ++i) {
    const double top = f.row(i).maxCoeff();
    out[i] = top + std::log((f.row(i).array() - top).exp().sum());
  }
  return out;
}

void require_targets(MatrixView<double> y, Index rows, int outputs, Loss loss, const char* who) {
  if (y.rows() != rows || y.cols() != outputs) {
    std::ostringstream msg;
    msg << who << ": targets are " << y.rows() << " x " << y.cols() << " but must be " << rows << " x " << outputs
        << " (one row per training example, one column per network output)";
    throw Error(msg.str());
  }
  if (!y.allFinite()) throw Error(std::string(who) + ": targets contain NaN or Inf");
  if (loss != Loss::CrossEntropy) return;
  if (outputs < 2) {
    throw Error(std::string(who) +
                ": cross-entropy needs a network with at least 2 outputs (one logit per class), "
                "got 1; end the network with Dense(number of classes)");
  }
  for (Index i = 0; i < y.rows(); ++i) {
    if ((y.row(i).array() < 0).any() || std::abs(y.row(i).sum() - 1.0) > 1e-6) {
      std::ostringstream msg;
      msg << who << ": cross-entropy targets must be one-hot rows (or class probabilities summing to 1); row " << i
          << " (0-based) is not";
      throw Error(msg.str());
    }
  }
}

void require_options(const TrainOptions& o, Index n, const char* who) {
  const std::string w = who;
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    std::ostringstream msg;
    msg << who << ": learning rate must be a finite number > 0, got " << o.learning_rate;
    throw Error(msg.str());
  }
  if (o.steps < 0) throw Error(w + ": steps must be >= 0, got " + std::to_string(o.steps));
  if (o.record_every < 1) throw Error(w + ": record_every must be >= 1, got " + std::to_string(o.record_every));
  if (o.batch_size < 0) throw Error(w + ": batch size must be >= 0, got " + std::to_string(o.batch_size));
  if (o.optimizer == Optimizer::Gd && o.batch_size != 0 && o.batch_size < n) {
    throw Error(w + ": gradient descent ('gd') uses the full batch; for minibatches of " + std::to_string(o.batch_size) +
                " choose the optimizer 'sgd' or 'momentum'");
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) {
    std::ostringstream msg;
    msg << who << ": momentum must be in [0, 1), got " << o.momentum;
    throw Error(msg.str());
  }
}

RowMatrixD gather_rows(MatrixView<double> m, const std::vector<Index>& rows) {
  RowMatrixD out(static_cast<Index>(rows.size()), m.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) out.row(static_cast<Index>(r)) = m.row(rows[r]);
  return out;
}

// Minibatches: epochs of a Fisher–Yates permutation (written out, so the order is the same on
// every standard library), cut into consecutive batches.
class Batches {
 public:
  Batches(Index n, Index batch, std::uint64_t seed) : n_(n), batch_(batch), rng_(seed), order_(static_cast<std::size_t>(n)) {
    for (Index i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
  }
  std::vector<Index> next() {
    if (position_ == 0) {
      for (std::size_t i = order_.size(); i-- > 1;) std::swap(order_[i], order_[rng_() % (i + 1)]);
    }
    const Index end = std::min(position_ + batch_, n_);
    std::vector<Index> rows(order_.begin() + position_, order_.begin() + end);
    position_ = end == n_ ? 0 : end;
    return rows;
  }

 private:
  Index n_, batch_, position_ = 0;
  std::mt19937_64 rng_;
  std::vector<Index> order_;
};

// The network as a training model.
struct NetworkModel {
  Mlp& net;
  const VectorD& parameters() const { return net.parameters(); }
  void set_parameters(VectorD w) { net.set_parameters(std::move(w)); }
  RowMatrixD outputs(MatrixView<double> x) const { return net.forward(x); }
  VectorD gradient(MatrixView<double> x, MatrixView<double> y, Loss loss) const {
    detail::MlpPass pass;
    detail::forward_pass(net.program(), net.parameters().data(), x, pass, true);
    const RowMatrixD g = loss_gradient(loss, pass.output, y);
    VectorD grad = VectorD::Zero(net.parameter_count());
    detail::accumulate_gradient(net.program(), net.parameters().data(), pass, g, grad.data());
    return grad;
  }
  bool has_kernel() const { return true; }
  RowMatrixD ntk(MatrixView<double> x) const {
    EmpiricalOptions options;
    options.nngp = false;
    return empirical_kernels(net, x, options).ntk;
  }
};

// The linearized network as a training model: its kernel is fixed, so no drift to record.
struct LinearModel {
  LinearizedMlp& net;
  const VectorD& parameters() const { return net.parameters(); }
  void set_parameters(VectorD w) { net.set_parameters(std::move(w)); }
  RowMatrixD outputs(MatrixView<double> x) const { return net.forward(x); }
  VectorD gradient(MatrixView<double> x, MatrixView<double> y, Loss loss) const {
    return net.vjp(x, loss_gradient(loss, net.forward(x), y));
  }
  bool has_kernel() const { return false; }
  RowMatrixD ntk(MatrixView<double>) const { return {}; }
};

template <class Model>
TrainTrace train_model(Model model, int input_dim, int output_dim, MatrixView<double> x, MatrixView<double> y,
                       MatrixView<double> x_test, const TrainOptions& options, const std::function<void(int)>& progress) {
  const char* who = "train";
  detail::require_inputs(x, input_dim, who, "training inputs");
  if (x_test.rows() > 0) detail::require_inputs(x_test, input_dim, who, "test inputs");  // none: no rows
  require_targets(y, x.rows(), output_dim, options.loss, who);
  require_options(options, x.rows(), who);

  const Index n = x.rows();
  Index batch = options.batch_size;
  if (options.optimizer == Optimizer::Sgd && batch == 0) batch = std::min<Index>(32, n);
  if (options.optimizer == Optimizer::Gd || batch >= n) batch = 0;  // 0: full batch
  Batches batches(n, std::max<Index>(batch, 1), options.seed);

  const VectorD w0 = model.parameters();
  const double w0_norm = w0.norm();
  const bool drift = options.record_kernel_drift && model.has_kernel();
  const RowMatrixD ntk0 = drift ? model.ntk(x) : RowMatrixD();
  VectorD velocity = VectorD::Zero(w0.size());

  TrainTrace trace;
  const auto record = [&](int step) {
    const RowMatrixD f = model.outputs(x);
    const double loss = loss_value(options.loss, f, y);
    if (!std::isfinite(loss)) {
      std::ostringstream msg;
      msg << who << ": training diverged (loss " << loss << " at step " << step << ", learning rate " << options.learning_rate
          << "); lower the learning rate";
      throw Error(msg.str());
    }
    trace.steps.push_back(step);
    trace.loss.push_back(loss);
    trace.train_outputs.push_back(f);
    if (x_test.rows() > 0) trace.test_outputs.push_back(model.outputs(x_test));
    trace.weight_rel_change.push_back((model.parameters() - w0).norm() / (w0_norm > 0 ? w0_norm : 1.0));
    if (drift) trace.kernel_rel_drift.push_back((model.ntk(x) - ntk0).norm() / ntk0.norm());
    else if (options.record_kernel_drift) trace.kernel_rel_drift.push_back(0.0);
  };

  record(0);
  for (int step = 1; step <= options.steps; ++step) {
    VectorD grad;
    if (batch == 0) {
      grad = model.gradient(x, y, options.loss);
    } else {
      const std::vector<Index> rows = batches.next();
      grad = model.gradient(gather_rows(x, rows), gather_rows(y, rows), options.loss);
    }
    const VectorD* update = &grad;
    if (options.optimizer == Optimizer::Momentum) {
      velocity = options.momentum * velocity + grad;
      update = &velocity;
    }
    VectorD w = model.parameters() - options.learning_rate * *update;
    if (!w.allFinite()) {
      std::ostringstream msg;
      msg << who << ": training diverged (parameters overflowed at step " << step << ", learning rate "
          << options.learning_rate << "); lower the learning rate";
      throw Error(msg.str());
    }
    model.set_parameters(std::move(w));
    if (step % options.record_every == 0 || step == options.steps) record(step);
    if (progress) progress(step);
  }
  return trace;
}

}  // namespace

Loss parse_loss(std::string_view name) {
  const std::string n = lowercase(name);
  if (n == "mse") return Loss::MseMean;
  if (n == "mse-sum") return Loss::MseSum;
  if (n == "cross-entropy") return Loss::CrossEntropy;
  throw Error("unknown loss '" + std::string(name) +
              "'; choose mse (½Σ/(n·O), neural-tangents'), mse-sum "
              "(½Σ, the lecture's) or cross-entropy (softmax)");
}

Optimizer parse_optimizer(std::string_view name) {
  const std::string n = lowercase(name);
  if (n == "gd") return Optimizer::Gd;
  if (n == "sgd") return Optimizer::Sgd;
  if (n == "momentum") return Optimizer::Momentum;
  throw Error("unknown optimizer '" + std::string(name) + "'; choose gd, sgd or momentum");
}

double loss_value(Loss loss, const RowMatrixD& f, const RowMatrixD& y) {
  switch (loss) {
    case Loss::MseSum: return 0.5 * (f - y).squaredNorm();
    case Loss::MseMean: return 0.5 * (f - y).squaredNorm() / static_cast<double>(y.size());
    case Loss::CrossEntropy: {
      const VectorD lse = logsumexp_rows(f);
      double sum = 0;
      for (Index i = 0; i < f.rows(); ++i) sum += y.row(i).sum() * lse[i] - y.row(i).dot(f.row(i));
      return sum / static_cast<double>(f.rows());
    }
  }
  return 0.0;
}

RowMatrixD loss_gradient(Loss loss, const RowMatrixD& f, const RowMatrixD& y) {
  switch (loss) {
    case Loss::MseSum: return f - y;
    case Loss::MseMean: return (f - y) / static_cast<double>(y.size());
    case Loss::CrossEntropy: {
      // ∂/∂F_i of (Σ_o Y_io) lse(F_i) − Y_i·F_i is (Σ_o Y_io) softmax(F_i) − Y_i.
      const VectorD lse = logsumexp_rows(f);
      RowMatrixD g(f.rows(), f.cols());
      for (Index i = 0; i < f.rows(); ++i) {
        g.row(i) = y.row(i).sum() * (f.row(i).array() - lse[i]).exp().matrix() - y.row(i);
      }
      return g / static_cast<double>(f.rows());
    }
  }
  return {};
}

TrainTrace train(Mlp& net, MatrixView<double> x, MatrixView<double> y, MatrixView<double> x_test, const TrainOptions& options,
                 const std::function<void(int)>& progress) {
  return train_model(NetworkModel{net}, net.input_dim(), net.output_dim(), x, y, x_test, options, progress);
}

TrainTrace train(LinearizedMlp& net, MatrixView<double> x, MatrixView<double> y, MatrixView<double> x_test,
                 const TrainOptions& options, const std::function<void(int)>& progress) {
  return train_model(LinearModel{net}, net.initial().input_dim(), net.initial().output_dim(), x, y, x_test, options,
                     progress);
}

}  // namespace ntkit
