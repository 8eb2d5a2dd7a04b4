// A finite-width network of network.hpp (docs/mathematics.md §5): the same description as the analytic
// kernels, with widths from Dense(n, …) and parameters drawn per parameterization, as
// neural-tangents' stax.Dense does:
//
//   'ntk'       W, b ~ N(0, 1),                 z = (W_std/√n_in) W h + b_std b
//   'standard'  W ~ N(0, W_std²/n_in), b ~ N(0, b_std²),   z = W h + b
//
// (b_std = None: no bias parameter.) Gradients, Jacobians and kernels are taken with respect
// to these stored parameters, so the NTK of the two parameterizations differs as in docs/mathematics.md §5.
// Every layer with a finite form runs forward and backward: Dense, every activation
// (pointwise_activation.hpp), LayerNorm ((x − mean)/√(var + eps) over the features of each
// example), Identity, FanOut / parallel / FanInSum (residual branches).
//
// Batched over examples: inputs X are n × d (one example per row), outputs n × O where O is the
// out_dim of the network's final layer. Dense layers are one BLAS product per batch.
//
//   Mlp net(parse_network("Dense(512), Relu, Dense(1)"), /*input_dim=*/10, /*seed=*/0);
//   RowMatrixD f = net.forward(x);                     // n x 1
//   VectorD g = net.vjp(x, cotangent);                 // Σ_ij cotangent_ij ∂f_ij/∂w
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit {

namespace detail {
struct MlpProgram;
}

class Mlp {
 public:
  /// Compiles `network` (validated: throws ntkit::Error as validate() does) for inputs of
  /// dimension input_dim ≥ 1 and draws its parameters from a generator seeded by `seed`: one
  /// Dense after another in the order the layers are written (branches in order), W (row by
  /// row) before b, sequentially — so the same seed gives the same network whatever the
  /// thread count.
  Mlp(const Network& network, int input_dim, std::uint64_t seed);

  int input_dim() const;
  int output_dim() const;
  const Network& network() const;

  /// All parameters in one vector (length parameter_count()); where each Dense's W and b lie
  /// is in dense_parameters().
  const VectorD& parameters() const { return parameters_; }
  Eigen::Index parameter_count() const { return parameters_.size(); }
  /// Replaces all parameters (same length, finite).
  void set_parameters(VectorD parameters);

  /// One Dense layer's parameters inside parameters(): W is out x in, row-major at
  /// weight_offset (W(i, j) at weight_offset + i·in + j); b has out entries at bias_offset
  /// (−1 if the layer has no bias). In the order the parameters are drawn.
  struct DenseParameters {
    int in = 0, out = 0;
    Eigen::Index weight_offset = 0, bias_offset = -1;
  };
  std::vector<DenseParameters> dense_parameters() const;

  /// f(X): n x O for X n x d.
  RowMatrixD forward(MatrixView<double> x) const;

  /// Vector-Jacobian product Σ_i Σ_o G(i, o) ∂f_o(x_i)/∂w (length parameter_count()) for
  /// X n x d and G n x O. With G = ∂L/∂f it is the gradient of a loss L(f(X)).
  VectorD vjp(MatrixView<double> x, MatrixView<double> cotangent) const;

  /// Jacobian-vector product: J(X) v (n x O), v of length parameter_count(); also returns
  /// f(X) in `outputs` if given (one pass computes both).
  RowMatrixD jvp(MatrixView<double> x, const VectorD& tangent, RowMatrixD* outputs = nullptr) const;

  /// The compiled layers (shared between copies; read-only). For the library's own kernels
  /// and training code.
  const detail::MlpProgram& program() const { return *program_; }

 private:
  std::shared_ptr<const detail::MlpProgram> program_;
  VectorD parameters_;
};

}  // namespace ntkit
