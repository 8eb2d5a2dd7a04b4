// The compiled form of a finite network (private): a tree of nodes mirroring the Network's
// layers, with each Dense's place in the parameter vector and its scales, and the passes that
// every finite-network routine is built from (forward with caches, backward with a per-Dense
// visitor, forward-mode tangents).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ntkit/network.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "ntkit/types.hpp"

namespace ntkit::detail {

struct MlpNode {
  enum class Kind { Dense, Activation, LayerNorm, Identity, FanOut, Parallel, FanInSum };
  Kind kind = Kind::Identity;
  int id = 0;                 // index of this node's cache in MlpPass
  bool after_params = false;  // a parameter lies upstream: backward must return an input cotangent
  // Dense: z = w_scale · W h + b_scale · b; parameters initialized N(0, w_init²), N(0, b_init²).
  int in = 0, out = 0;
  Eigen::Index w_offset = 0, b_offset = -1;
  double w_scale = 1, b_scale = 1, w_init = 1, b_init = 1;
  double W_std = 1, b_std = 0;  // the layer's own values (the readout kernel needs them)
  std::shared_ptr<const PointwiseActivation> activation;
  double eps = 0;  // LayerNorm
  int num = 1;     // FanOut: copies; FanInSum: inputs summed
  std::vector<std::vector<MlpNode>> branches;  // Parallel
};

struct MlpProgram {
  Network network;
  int input_dim = 0, output_dim = 0, node_count = 0;
  Eigen::Index parameter_count = 0;
  std::vector<MlpNode> nodes;
  std::vector<const MlpNode*> dense;  // every Dense, in parameter order
};

/// Validates and compiles; throws ntkit::Error.
std::shared_ptr<const MlpProgram> compile_mlp(const Network& network, int input_dim);

/// What backward needs from forward, per node id. Dense: a = its input h (n x in).
/// Activation: a = φ'(z) (n x w). LayerNorm: a = its output y, v = 1/√(var + eps) per row.
struct NodeCache {
  RowMatrixD a;
  VectorD v;
};

struct MlpPass {
  std::vector<NodeCache> caches;
  RowMatrixD output;  // n x O
};

/// Runs X (n x d) through the network; fills pass.output and, if keep_caches, pass.caches.
void forward_pass(const MlpProgram& program, const double* params, MatrixView<double> x,
                  MlpPass& pass, bool keep_caches);

/// Called at every Dense during backward with its input H (n x in) and the cotangent of its
/// output G ((n·stack) x out, row i·stack + s belongs to example i).
using DenseVisitor = std::function<void(const MlpNode& dense, const RowMatrixD& h, const RowMatrixD& g)>;

/// Pulls `stack` cotangents per example back through a pass made with keep_caches:
/// cotangent is (n·stack) x O, row i·stack + s for example i.
void backward_pass(const MlpProgram& program, const double* params, const MlpPass& pass,
                   RowMatrixD cotangent, Eigen::Index stack, const DenseVisitor& visit);

/// Σ over rows of the parameter gradient: adds Σ_r G(r)·∂f/∂w for one backward into `grad`.
void accumulate_gradient(const MlpProgram& program, const double* params, const MlpPass& pass,
                         const RowMatrixD& cotangent, double* grad);

/// Forward-mode pass: returns J(X)·tangent (n x O) and fills `outputs` with f(X).
RowMatrixD tangent_pass(const MlpProgram& program, const double* params, const double* tangent,
                        MatrixView<double> x, RowMatrixD& outputs);

/// C = alpha · op(A) op(B) + beta · C (row-major); BLAS for large products, Eigen for small
/// ones (OpenBLAS's threads cost more than they save on tiny products).
void gemm(double alpha, MatrixView<double> a, bool transpose_a, MatrixView<double> b,
          bool transpose_b, double beta, Eigen::Ref<RowMatrixD> c);

/// Throws ntkit::Error naming `who` and `name` unless X is n x input_dim, n ≥ 1, finite.
void require_inputs(MatrixView<double> x, int input_dim, const char* who, const char* name);

}  // namespace ntkit::detail
