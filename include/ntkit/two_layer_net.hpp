// The two-layer network of the lecture (docs/mathematics.md §2–§3), at finite width m:
//
//   f(x) = m^(-1/2) Σ_{i=1..m} b_i σ(a_i·x),   a_i ~ N(0, I_d),  b_i ~ N(0, 1),  no biases,
//
// its gradients, full-batch gradient descent on L = ½ Σ_j (f(x_j) - y_j)², its empirical NTK
// split by parameter group, K_m = K_m^a + K_m^b, and its linearization around the initial
// weights. Everything works on a whole data set at once with matrix products (Z = X Aᵀ),
// O(n m d) per pass and O(n² m) for a kernel; no per-parameter Jacobian is ever formed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ntkit/activation.hpp"
#include "ntkit/two_layer_kernel.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

class TwoLayerNet {
 public:
  /// Draws a (m x d) and b (m) from N(0, 1) with a generator seeded by `seed`. Same seed,
  /// same weights, whatever the thread count (they are drawn sequentially).
  TwoLayerNet(int input_dim, int width, const Activation& activation, std::uint64_t seed);
  /// A network with given weights: a is m x d (row i is a_i), b has length m.
  TwoLayerNet(RowMatrixD a, VectorD b, const Activation& activation);

  int input_dim() const { return static_cast<int>(a_.cols()); }
  int width() const { return static_cast<int>(a_.rows()); }
  const Activation& activation() const { return activation_; }
  const RowMatrixD& a() const { return a_; }
  const VectorD& b() const { return b_; }

  /// f(x_j) for every row of X (n x d) → length n.
  VectorD forward(MatrixView<double> x) const;

  struct Gradient {
    RowMatrixD a;  // m x d
    VectorD b;     // m
  };
  /// ∇_w L for L = ½ Σ_j (f(x_j) - y_j)² (docs/mathematics.md §2):
  ///   ∇_{b_i} L = m^(-1/2) Σ_j r_j σ(a_i·x_j),  ∇_{a_i} L = m^(-1/2) b_i Σ_j r_j σ'(a_i·x_j) x_j.
  Gradient loss_gradient(MatrixView<double> x, const VectorD& y) const;
  /// w ← w - η ∇_w L.
  void gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate);

  /// Buffers reused across gradient steps on the same data (n x m matrices), so a training
  /// loop allocates them once.
  struct Pass;
  struct Workspace {
    std::shared_ptr<Pass> pass;
  };
  void gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate, Workspace& workspace);

  /// K_m^a = (X1 X2ᵀ) ⊙ (σ'(Z1)B)(σ'(Z2)B)ᵀ / m and K_m^b = σ(Z1)σ(Z2)ᵀ / m, B = diag(b).
  NtkParts empirical_ntk(MatrixView<double> x1, MatrixView<double> x2) const;
  /// K_m(X, X), exactly symmetric.
  NtkParts empirical_ntk(MatrixView<double> x) const;

  /// ‖w‖ over all parameters (a and b).
  double parameter_norm() const;
  /// ‖w - w'‖ to a network of the same shape.
  double parameter_distance(const TwoLayerNet& other) const;

 private:
  RowMatrixD a_;
  VectorD b_;
  Activation activation_;
};

/// The network's first-order Taylor expansion around its weights w0 (docs/mathematics.md §3):
///   f_lin(w, x) = f(w0, x) + ∇_w f(w0, x)·(w - w0),
/// linear in w; trained by gradient descent it is exactly kernel gradient descent with the
/// empirical NTK K_m(w0): on the training set u(s) = (I - η K_m(w0))^s u(0).
class LinearizedTwoLayerNet {
 public:
  explicit LinearizedTwoLayerNet(TwoLayerNet initial);

  /// f_lin(w, x_j) for every row of X → length n.
  VectorD forward(MatrixView<double> x) const;
  /// w ← w - η ∇_w ½ Σ_j (f_lin(w, x_j) - y_j)².
  void gradient_step(MatrixView<double> x, const VectorD& y, double learning_rate);
  /// ‖w - w0‖.
  double displacement_norm() const;
  const TwoLayerNet& initial() const { return initial_; }

 private:
  VectorD outputs_from_pass(const TwoLayerNet::Pass& pass, MatrixView<double> x) const;

  TwoLayerNet initial_;
  RowMatrixD delta_a_;  // w - w0, a part (m x d)
  VectorD delta_b_;     // w - w0, b part (m)
};

struct TwoLayerTrainOptions {
  double learning_rate = 0.0;  // η > 0
  int steps = 0;               // T >= 0
  int record_every = 1;        // record steps 0, K, 2K, ..., and T
};

/// What training recorded, at steps[k] for every k.
struct TwoLayerTrace {
  std::vector<int> steps;
  std::vector<double> loss;               // ½ Σ (f - y)² on the training set
  std::vector<VectorD> train_outputs;     // f(X) (n)
  std::vector<VectorD> test_outputs;      // f(X*) (n*), empty if there is no test set
  std::vector<double> weight_rel_change;  // ‖w(t) - w(0)‖ / ‖w(0)‖
};

/// Full-batch gradient descent of `net` (modified in place) on (X, y); records outputs on X
/// and on X* (may have zero rows). Calls `progress(step)` after each step if given.
TwoLayerTrace train_two_layer(TwoLayerNet& net, MatrixView<double> x, const VectorD& y, MatrixView<double> x_test,
                              const TwoLayerTrainOptions& options, const std::function<void(int)>& progress = {});

}  // namespace ntkit
