// Training finite networks (mlp.hpp) and their linearizations (docs/mathematics.md §3–§4): full-batch gradient
// descent, minibatch SGD, heavy-ball momentum; squared-error losses ('sum' and 'mean') and
// softmax cross-entropy; a trace of the loss, the outputs on training and test points, the
// relative weight change and the relative drift of the empirical NTK at chosen steps.
//
// Losses of outputs F (n x O) and targets Y (n x O):
//   MseSum        L = ½ Σ (F − Y)²                    (the lecture's; KernelDynamics 'sum')
//   MseMean       L = ½ Σ (F − Y)² / (n·O)            (neural-tangents' gradient_descent_mse;
//                                                       KernelDynamics 'mean')
//   CrossEntropy  L = (1/n) Σ_i [logsumexp(F_i) − Y_i·F_i]  for rows Y_i of probabilities
//                 (one-hot labels), O ≥ 2.
// On a minibatch the same formula is taken over the batch's rows.
// Optimizers (w ← parameters, g ← ∂L/∂w on the step's batch):
//   Gd        w ← w − η g on the whole training set
//   Sgd       the same on minibatches: each epoch a fresh permutation of the rows (from `seed`),
//             cut into consecutive batches of batch_size (the last may be smaller)
//   Momentum  v ← μ v + g, w ← w − η v (jax's optimizers.momentum), minibatches as Sgd when
//             batch_size > 0, else full batch
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "ntkit/mlp.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

enum class Loss { MseSum, MseMean, CrossEntropy };
enum class Optimizer { Gd, Sgd, Momentum };

/// "mse" (MseMean), "mse-sum", "cross-entropy"; throws ntkit::Error listing the names.
Loss parse_loss(std::string_view name);
/// "gd", "sgd", "momentum".
Optimizer parse_optimizer(std::string_view name);

/// L(F, Y) and ∂L/∂F for outputs and targets of the same shape (n x O).
double loss_value(Loss loss, const RowMatrixD& outputs, const RowMatrixD& targets);
RowMatrixD loss_gradient(Loss loss, const RowMatrixD& outputs, const RowMatrixD& targets);

struct TrainOptions {
  double learning_rate = 0.0;  // η > 0
  int steps = 0;               // T ≥ 0
  Optimizer optimizer = Optimizer::Gd;
  Loss loss = Loss::MseMean;
  int batch_size = 0;               // Sgd: examples per step (0: min(32, n)); Momentum: 0 = full batch; Gd: 0
  double momentum = 0.9;            // μ in [0, 1)
  int record_every = 1;             // record steps 0, K, 2K, …, and T
  bool record_kernel_drift = true;  // empirical NTK on the training set at each record: O(n² Σ widths)
  std::uint64_t seed = 0;           // minibatch order
};

/// What training recorded, at steps[r] for every record r.
struct TrainTrace {
  std::vector<int> steps;
  std::vector<double> loss;               // on the whole training set
  std::vector<RowMatrixD> train_outputs;  // f(X), n x O
  std::vector<RowMatrixD> test_outputs;   // f(X*), n* x O; empty when X* has no rows
  std::vector<double> weight_rel_change;  // ‖w(t) − w(0)‖ / ‖w(0)‖
  std::vector<double> kernel_rel_drift;   // ‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F on X (logit-averaged); empty if not recorded
};

/// Trains `net` in place on (X n x d, Y n x O); X* (n* x d, may have zero rows) is only
/// evaluated. Calls progress(step) after every step if given. Throws ntkit::Error for bad
/// options or data, and if training diverges (non-finite loss or parameters), naming the step.
TrainTrace train(Mlp& net, MatrixView<double> x, MatrixView<double> y, MatrixView<double> x_test, const TrainOptions& options,
                 const std::function<void(int)>& progress = {});

/// The first-order Taylor expansion of a network around its parameters w0 (docs/mathematics.md §3):
///   f_lin(w, x) = f(w0, x) + J(x)(w − w0),   J = ∂f/∂w at w0,
/// linear in w. Trained by gradient descent on MseSum it follows kernel gradient descent with
/// the empirical NTK Θ(w0) exactly: u(s) = (I − ηΘ)^s u(0) (full per-logit blocks for O > 1).
class LinearizedMlp {
 public:
  explicit LinearizedMlp(Mlp initial);

  /// f_lin(w, X), n x O.
  RowMatrixD forward(MatrixView<double> x) const;
  /// J(X)ᵀ G: the gradient of ⟨G, f_lin⟩, the same for every w.
  VectorD vjp(MatrixView<double> x, MatrixView<double> cotangent) const { return initial_.vjp(x, cotangent); }

  const Mlp& initial() const { return initial_; }
  const VectorD& parameters() const { return parameters_; }
  void set_parameters(VectorD parameters);
  Eigen::Index parameter_count() const { return parameters_.size(); }

 private:
  Mlp initial_;
  VectorD parameters_;  // w (starts at w0)
};

/// Trains the linearized network in place, as train() does (its kernel never drifts: the
/// drift is recorded as 0).
TrainTrace train(LinearizedMlp& net, MatrixView<double> x, MatrixView<double> y, MatrixView<double> x_test,
                 const TrainOptions& options, const std::function<void(int)>& progress = {});

}  // namespace ntkit
