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
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ntkit/dual_activation.hpp"
#include "ntkit/network.hpp"
#include "ntkit/types.hpp"

namespace ntkit::detail {

/// Entries per chunk (at most): the state arrays of a chunk stay in L1/L2 through all layers.
inline constexpr Eigen::Index kKernelChunk = 256;

/// One stream's state over a chunk of entries.
struct KernelStream {
  std::vector<double> nngp, ntk;
  int width = 0;
  int variances_after = -1;  // node id whose output variances describe this stream; −1: input
};

/// One layer of the network compiled for the kernel engine.
struct KernelNode {
  Layer layer;
  int id = 0;
  // What a layer's rule needs beyond its description, filled by its compile rule:
  std::shared_ptr<const DualActivation> dual;     // activations: T and Ṫ
  bool fixed = false;                             // Dense: not trained (AnalyticOptions::fixed_layers)
  std::vector<std::vector<KernelNode>> branches;  // parallel(...)
};

struct KernelProgram {
  Network network;
  std::vector<KernelNode> nodes;
  int node_count = 0;
  bool ntk = true;  // Θ is computed (else only K)
};

/// Compiles a validated network: node ids, dual activations (quadrature_degree as
/// AnalyticOptions), the fixed Dense layers (the first `fixed_layers` in written order).
KernelProgram compile_kernel_program(const Network& network, bool ntk, int quadrature_degree, int fixed_layers);

/// The variances recorded by the diagonal pass: by node id + 1 (0: the input), one per point.
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

  /// Applies `nodes` in order to `streams`.
  void run(const std::vector<KernelNode>& nodes, std::vector<KernelStream>& streams);

  /// q1[e], q2[e]: the variances of the two sides of entry e of `stream` (len entries each).
  void variances(const KernelStream& stream, double* q1, double* q2) const;

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
