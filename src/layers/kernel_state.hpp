// The kernel state that every layer maps at infinite width (private), and the compiled network
// the kernel engine walks.
//
// For a chunk of entries (pairs (x, x') in one row of the output, or single points x in the
// diagonal pass), one stream's state is
//   nngp[e] = K(x, x'),  ntk[e] = Θ(x, x'),  width = the feature count of the layer output,
// and the per-point variances q1 = K(x, x), q2 = K(x', x') that activations and LayerNorm read.
// The variances travel with the state: `variances_after` names the node whose output they are
// (−1: the network's input), and KernelPass::variances() finds them there — in the diagonal
// pass they are the stream's own nngp, in the pair pass the values the diagonal pass recorded
// for that node. Every node that leaves a single stream records its output under its own id,
// so no layer depends on the order in which others are visited.
//
// A layer with several inputs (after FanOut) sees several streams; parallel(...) maps stream b
// through branch b.
//
// With spatial inputs (images, signals) each entry holds a stream's spatial state: `layout`
// says which pairs of positions are stored (spatial_layout.hpp), entry e's values are
// [e·S, (e + 1)·S) with S = layout->values, and the variances are per position. Layers that act
// on channels (Dense, activations, LayerNorm, the fan-in layers) apply their rule to every value
// alike; Conv, the pools and Flatten map the layout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ntkit/dual_activation.hpp"
#include "ntkit/network.hpp"
#include "ntkit/types.hpp"
#include "spatial_layout.hpp"

namespace ntkit::detail {

/// Entries per chunk (at most): the state arrays of a chunk stay in L1/L2 through all layers.
inline constexpr Eigen::Index kKernelChunk = 256;

/// One stream's state over a chunk of entries.
struct KernelStream {
  std::vector<double> nngp, ntk;
  int width = 0;
  int variances_after = -1;               // node id whose output variances describe this stream; −1: input
  const SpatialLayout* layout = nullptr;  // the stored pairs of positions; nullptr: flat (1 value)
};

/// One layer of the network compiled for the kernel engine.
struct KernelNode {
  Layer layer;
  int id = 0;
  // What a layer's rule needs beyond its description, filled by its compile rule:
  std::shared_ptr<const DualActivation> dual;     // activations: T and Ṫ
  bool fixed = false;                             // Dense: not trained (AnalyticOptions::fixed_layers)
  std::vector<std::vector<KernelNode>> branches;  // parallel(...)
  // Spatial layers (filled by compile_kernel, then by plan_kernel once the needed offsets are known):
  std::vector<int> in_dims, out_dims;                              // the positions per axis of the input and output
  int inputs = 1;                                                  // the streams the layer receives
  std::vector<AxisWindow> windows;                                 // Conv, pools: per axis
  std::shared_ptr<const SpatialLayout> out_layout;                 // the layout this layer makes
  SpatialMap map;                                                  // Conv, pools, Flatten, global pools: in → out
  std::vector<std::shared_ptr<const SpatialLayout>> copy_layouts;  // FanOut: each copy's layout
  std::vector<std::shared_ptr<const SpatialMap>> copy_maps;        // FanOut: nullptr = unchanged
};

struct KernelProgram {
  Network network;
  std::vector<KernelNode> nodes;
  int node_count = 0;
  bool ntk = true;  // Θ is computed (else only K)
  // Inputs: `channels` features at each position of `input_dims` (empty: flat inputs).
  std::vector<int> input_dims;
  int channels = 0;
  std::shared_ptr<const SpatialLayout> input_layout;  // nullptr: flat
  /// Positions of each node's output, by node id + 1 (0: the input): the variances per point.
  std::vector<Eigen::Index> positions_after;
  /// Pairs of points per chunk: about kKernelChunk values of the largest state stay in cache.
  Eigen::Index chunk = kKernelChunk;
  bool spatial() const { return input_layout != nullptr; }
};

/// Compiles a validated network for inputs of `input_shape` (one example without the batch
/// axis: {d}, {L, C} or {H, W, C}): node ids, dual activations (quadrature_degree as
/// AnalyticOptions), the fixed Dense/Conv layers (the first `fixed_layers` in written order),
/// and the spatial layouts (only the pairs of positions that later layers need). Throws
/// ntkit::Error for a shape the network cannot take.
KernelProgram compile_kernel_program(const Network& network, bool ntk, int quadrature_degree, int fixed_layers,
                                     const std::vector<int>& input_shape);

/// The variances recorded by the diagonal pass: by node id + 1 (0: the input), per point its
/// positions' variances (positions_after values each).
using VarianceTable = std::vector<VectorD>;

/// One chunk's walk through the layers. In the diagonal pass (`record` set) the entries are
/// single points and every node's output variances are recorded into `record`; in the pair
/// pass entry e is the pair (row, column0 + e) and the variances are read from the tables.
class KernelPass {
 public:
  KernelPass(const KernelProgram& program, Eigen::Index len) : program_(program), len_(len) {}

  /// Diagonal pass over points [column0, column0 + len): records into `record`.
  void diagonal(VarianceTable* record, Eigen::Index column0) {
    record_ = record;
    column0_ = column0;
  }
  /// Pair pass for row `row`, columns [column0, column0 + len).
  void pairs(const VarianceTable* side1, const VarianceTable* side2, Eigen::Index row, Eigen::Index column0) {
    side1_ = side1, side2_ = side2, row_ = row, column0_ = column0;
  }

  Eigen::Index len() const { return len_; }
  bool ntk() const { return program_.ntk; }
  /// The values of `stream` over the chunk: len() entries of stream.layout->values each.
  Eigen::Index size(const KernelStream& stream) const { return len_ * (stream.layout ? stream.layout->values : 1); }

  /// Applies `nodes` in order to `streams`.
  void run(const std::vector<KernelNode>& nodes, std::vector<KernelStream>& streams);

  /// q1[i], q2[i]: the variances of the two sides (and positions) of value begin + i of
  /// `stream`, for i < count.
  void variances(const KernelStream& stream, Eigen::Index begin, Eigen::Index count, double* q1, double* q2) const;

  /// Maps every entry's values of `stream` (K and Θ) by `map` into the layout `out`.
  void remap(KernelStream& stream, const SpatialMap& map, const SpatialLayout* out) const;

  /// Watching: after each layer, checks that every value is finite and remembers the first
  /// layer (innermost, in order) after which one is not (for error messages).
  void watch() { watch_ = true; }
  const std::string& first_non_finite_layer() const { return first_non_finite_; }

 private:
  bool all_finite(const std::vector<KernelStream>& streams) const;

  const KernelProgram& program_;
  Eigen::Index len_;
  VarianceTable* record_ = nullptr;
  const VarianceTable *side1_ = nullptr, *side2_ = nullptr;
  Eigen::Index row_ = 0, column0_ = 0;
  bool watch_ = false;
  std::string first_non_finite_;
};

}  // namespace ntkit::detail
