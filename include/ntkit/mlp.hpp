// A finite-width network of network.hpp (docs/mathematics.md §5): the same description as the analytic
// kernels, with widths from Dense(n, …) and parameters drawn per parameterization, as
// neural-tangents' stax.Dense does:
//
//   'ntk'       W, b ~ N(0, 1),                 z = (W_std/√n_in) W h + b_std b
//   'standard'  W ~ N(0, W_std²/n_in), b ~ N(0, b_std²),   z = W h + b
//
// (b_std = None: no bias parameter.) Gradients, Jacobians and kernels are taken with respect
// to these stored parameters, so the NTK of the two parameterizations differs as in docs/mathematics.md §5.
// Every layer runs forward and backward: Dense, every activation (pointwise_activation.hpp),
// LayerNorm ((x − mean)/√(var + eps) over the features of each example), Identity, FanOut /
// parallel / FanInSum / FanInConcat (residual branches), and on images (H, W, C) or signals
// (L, C) Conv, AvgPool / SumPool, GlobalAvgPool / GlobalSumPool and Flatten with
// neural-tangents' conventions: Conv scales as Dense with fan-in C·|filter|
//
//   'ntk'       W, b ~ N(0, 1),   z(p) = W_std/√(C·|filter|) Σ_{f, c} W(o, f·C + c) h(p·s + f − pad, c) + b_std b
//   'standard'  W ~ N(0, W_std²/(C·|filter|)), b ~ N(0, b_std²)
//
// where f runs over the filter's positions row-major and 'SAME' pads ⌊total/2⌋ before the
// first position (as lax). On such inputs Dense, the activations and LayerNorm act on the
// channels at every position, as in neural-tangents.
//
// Batched over examples: inputs X are n × d (one example per row; images flattened in C order,
// i.e. NHWC data, d = H·W·C), outputs n × O where O is the out_dim of the network's final layer
// (times its positions if the output still has spatial axes, flattened likewise). Dense and
// Conv layers are one BLAS product per batch (Conv on its patches).
//
//   Mlp net(parse_network("Dense(512), Relu, Dense(1)"), /*input_dim=*/10, /*seed=*/0);
//   Mlp cnn(parse_network("Conv(64, (3, 3), padding='SAME'), Relu, Flatten, Dense(1)"), {8, 8, 3}, 0);
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
  /// weight layer (Dense, Conv) after another in the order the layers are written (branches
  /// in order), W (row by row) before b, sequentially — so the same seed gives the same
  /// network whatever the thread count.
  Mlp(const Network& network, int input_dim, std::uint64_t seed);
  /// The same for examples of shape `input_shape`: {d} (as above), {L, C} signals or
  /// {H, W, C} images (each row of X one example flattened in C order). Throws ntkit::Error
  /// also when a layer does not fit the shape (a window larger than the input with 'VALID',
  /// a Conv's filter of another rank, a global pool of flat inputs).
  Mlp(const Network& network, std::vector<int> input_shape, std::uint64_t seed);

  /// Values per example (the product of input_shape()).
  int input_dim() const;
  const std::vector<int>& input_shape() const;
  int output_dim() const;
  const Network& network() const;

  /// All parameters in one vector (length parameter_count()); where each Dense's W and b lie
  /// is in dense_parameters().
  const VectorD& parameters() const { return parameters_; }
  Eigen::Index parameter_count() const { return parameters_.size(); }
  /// Replaces all parameters (same length, finite).
  void set_parameters(VectorD parameters);

  /// One weight layer's parameters inside parameters(): W is out x in, row-major at
  /// weight_offset (W(i, j) at weight_offset + i·in + j); b has out entries at bias_offset
  /// (−1 if the layer has no bias). In the order the parameters are drawn. A Conv is listed
  /// as the Dense on its patches: out = out_chan, in = |filter|·C, W(o, f·C + c) for filter
  /// position f (row-major over the filter's axes) and input channel c.
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
