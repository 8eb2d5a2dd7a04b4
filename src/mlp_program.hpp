// The compiled form of a finite network (private): a tree of nodes mirroring the Network's
// layers, with each weight layer's (Dense, Conv) place in the parameter vector and its scales, and the three passes
// every finite-network routine is built from (forward with caches, backward with a per-Dense
// visitor, forward-mode tangents). What each layer does in each pass is in its file under
// src/layers/; the passes here only walk the tree and hand each node to its layer's rule.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ntkit/network.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "ntkit/types.hpp"

namespace ntkit::detail {

struct WindowRows;

/// One layer of a compiled finite network. The fields after `positions` are filled by the
/// layer's compile_finite rule and mean something only for that layer type.
///
/// Spatial streams (inputs with spatial axes, neural-tangents' NHWC / NLC): n examples of P
/// positions and C channels are a (n·P) x C matrix, row i·P + p (positions row-major over the
/// axes). So Dense, the activations, LayerNorm and the fan-in layers — which act on the
/// channels at every position — run unchanged on them, and Flatten is a reshape.
struct MlpNode {
  Layer layer;
  int id = 0;                          // index of this node's cache in MlpPass
  bool after_params = false;           // a parameter lies upstream: backward must return an input cotangent
  std::vector<int> in_dims, out_dims;  // positions per spatial axis of the (first) input and the output; empty: flat
  Eigen::Index positions = 1;          // positions of the output (product of out_dims): rows per example
  // Feature counts of the (first) input and of the output; for Conv, `in` is the patch width
  // |filter|·C (the columns of its W), as its parameters are those of a Dense on the patches.
  int in = 0, out = 0;
  // Dense, Conv: z = w_scale · W h + b_scale · b (Conv: h a patch); parameters initialized
  // N(0, w_init²), N(0, b_init²).
  Eigen::Index w_offset = 0, b_offset = -1;
  double w_scale = 1, b_scale = 1, w_init = 1, b_init = 1;
  double W_std = 1, b_std = 0;                            // the layer's own values (the readout kernel needs them)
  std::shared_ptr<const PointwiseActivation> activation;  // activations
  std::vector<int> input_widths;                          // layers with several inputs
  std::vector<std::vector<MlpNode>> branches;             // parallel(...)
  std::shared_ptr<const WindowRows> windows;              // Conv, pools: where each window reads (window_rows.hpp)
};

struct MlpProgram {
  Network network;
  std::vector<int> input_shape;                            // one example: {d}, {L, C} or {H, W, C}
  int input_dim = 0, output_dim = 0, node_count = 0;       // per example: product of input_shape; outputs (P·C if spatial)
  Eigen::Index input_positions = 1, output_positions = 1;  // rows per example of the first / last stream
  Eigen::Index parameter_count = 0;
  std::vector<MlpNode> nodes;
  std::vector<const MlpNode*> dense;  // every weight layer (Dense, Conv), in parameter order
};

/// Validates and compiles for examples of `input_shape` ({d} flat, {L, C}, {H, W, C}); throws
/// ntkit::Error.
std::shared_ptr<const MlpProgram> compile_mlp(const Network& network, const std::vector<int>& input_shape);

/// What backward needs from forward, per node id (each layer's forward rule decides).
struct NodeCache {
  RowMatrixD a;
  VectorD v;
};

struct MlpPass {
  std::vector<NodeCache> caches;
  RowMatrixD output;  // n x O
};

/// Called at every weight layer during backward with its input H ((n·P) x in, P = node.positions;
/// Conv: its patches) and the cotangent of its output G ((n·P·stack) x out, row r·stack + s
/// belongs to row r of H).
using DenseVisitor = std::function<void(const MlpNode& dense, const RowMatrixD& h, const RowMatrixD& g)>;

/// The forward pass's context: the parameters and, if kept, each node's cache.
class ForwardPass {
 public:
  ForwardPass(const double* parameters, MlpPass& pass, bool keep) : params(parameters), pass_(pass), keep_(keep) {}
  void run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& streams);
  /// This node's cache, or nullptr when backward will not run.
  NodeCache* cache(const MlpNode& node) { return keep_ ? &pass_.caches[static_cast<std::size_t>(node.id)] : nullptr; }
  const double* const params;

 private:
  MlpPass& pass_;
  bool keep_;
};

/// The backward pass's context: streams hold cotangents, `stack` rows per row of the forward
/// stream (row r·stack + s for row r: example i's position p is r = i·P + p), so a rule that
/// reads its cache at row r / stack works on flat and spatial streams alike; an empty matrix
/// means "not needed upstream" (no parameter lies there).
class BackwardPass {
 public:
  BackwardPass(const double* parameters, const MlpPass& pass, Eigen::Index rows_per_example, const DenseVisitor& visitor)
      : params(parameters), stack(rows_per_example), visit(visitor), pass_(pass) {}
  void run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& cotangents);
  const NodeCache& cache(const MlpNode& node) const { return pass_.caches[static_cast<std::size_t>(node.id)]; }
  const double* const params;
  const Eigen::Index stack;
  const DenseVisitor& visit;

 private:
  const MlpPass& pass_;
};

/// A stream of the forward-mode pass: value h and tangent t (empty: zero).
struct TangentStream {
  RowMatrixD h, t;
};

class TangentPass {
 public:
  TangentPass(const double* parameters, const double* direction) : params(parameters), tangent(direction) {}
  void run(const std::vector<MlpNode>& nodes, std::vector<TangentStream>& streams);
  const double* const params;
  const double* const tangent;
};

/// Runs X (n x d) through the network; fills pass.output and, if keep_caches, pass.caches.
void forward_pass(const MlpProgram& program, const double* params, MatrixView<double> x, MlpPass& pass, bool keep_caches);

/// Pulls `stack` cotangents per example back through a pass made with keep_caches:
/// cotangent is (n·stack) x O, row i·stack + s for example i.
void backward_pass(const MlpProgram& program, const double* params, const MlpPass& pass, RowMatrixD cotangent,
                   Eigen::Index stack, const DenseVisitor& visit);

/// Σ over rows of the parameter gradient: adds Σ_r G(r)·∂f/∂w for one backward into `grad`.
void accumulate_gradient(const MlpProgram& program, const double* params, const MlpPass& pass, const RowMatrixD& cotangent,
                         double* grad);

/// Forward-mode pass: returns J(X)·tangent (n x O) and fills `outputs` with f(X).
RowMatrixD tangent_pass(const MlpProgram& program, const double* params, const double* tangent, MatrixView<double> x,
                        RowMatrixD& outputs);

/// The finite-width rules of a weight layer (Dense, and Conv as a Dense on its patches) that
/// the kernels and training reuse (src/layers/dense.cpp): its parameters drawn from
/// `normal()`, its gradient term.
void initialize_dense(const MlpNode& dense, double* params, const std::function<double()>& normal);
/// grad += ∂(Σ G ⊙ f)/∂(W, b) of this layer, for its input H and output cotangent G (one
/// cotangent row per row of H: Σ over examples and positions).
void add_dense_gradient(const MlpNode& dense, const RowMatrixD& h, const RowMatrixD& g, double* grad);

/// A weight layer's term of the empirical NTK between the batch's examples [0, n1) and
/// [second, second + n2) (src/mlp_weight_ntk.cpp), added to `ntk`, for the visitor's H and G
/// with G holding `out_dim` cotangent rows per row of H (one per logit). full_logits: every
/// logit pair, (n1·O) x (n2·O); else summed over logits, n1 x n2 (mlp_kernel.hpp).
struct WeightNtkScratch {
  RowMatrixD hh, gg, j1, j2;
};
void add_weight_ntk_term(const MlpNode& layer, const RowMatrixD& h, const RowMatrixD& g, Eigen::Index n1, Eigen::Index second,
                         Eigen::Index n2, Eigen::Index out_dim, bool full_logits, WeightNtkScratch& scratch, RowMatrixD& ntk);

/// Between the network's flat rows and spatial streams: an (n·P) x C stream is the n x (P·C)
/// matrix of its examples flattened in C order, the same memory (Flatten, and the ends of the
/// passes). The cotangent of a flat (n·stack) x (P·C) stream (row i·stack + s) becomes the
/// (n·P·stack) x C cotangent of the spatial stream (row (i·P + p)·stack + s).
RowMatrixD reshape_rows(RowMatrixD m, Eigen::Index rows, Eigen::Index cols);
RowMatrixD unflatten_cotangent(const RowMatrixD& g, Eigen::Index positions, Eigen::Index stack);

/// C = alpha · op(A) op(B) + beta · C (row-major); BLAS for large products, Eigen for small
/// ones (OpenBLAS's threads cost more than they save on tiny products).
void gemm(double alpha, MatrixView<double> a, bool transpose_a, MatrixView<double> b, bool transpose_b, double beta,
          Eigen::Ref<RowMatrixD> c);

/// Throws ntkit::Error naming `who` and `name` unless X is n x input_dim, n ≥ 1, finite.
void require_inputs(MatrixView<double> x, int input_dim, const char* who, const char* name);

}  // namespace ntkit::detail
