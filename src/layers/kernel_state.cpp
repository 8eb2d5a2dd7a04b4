// The kernel engine's walk: compiling a network into nodes and running a chunk's streams
// through them, each node by its layer's rule (kernel_state.hpp).
#include "kernel_state.hpp"

#include <cmath>

#include "layer_rules.hpp"

namespace ntkit::detail {

std::vector<KernelNode> KernelCompiler::compile(const Network& network) {
  std::vector<KernelNode> nodes;
  for (const Layer& layer : network.layers) {
    KernelNode node;
    node.layer = layer;
    node.id = program_.node_count++;
    std::visit([&](const auto& l) { compile_kernel(l, node, *this); }, layer);
    nodes.push_back(std::move(node));
  }
  return nodes;
}

KernelProgram compile_kernel_program(const Network& network, bool ntk, int quadrature_degree, int fixed_layers) {
  KernelProgram program;
  program.network = network;
  program.ntk = ntk;
  KernelCompiler compiler(program, quadrature_degree, fixed_layers);
  program.nodes = compiler.compile(program.network);
  return program;
}

void KernelPass::run(const std::vector<KernelNode>& nodes, std::vector<KernelStream>& streams) {
  for (const KernelNode& node : nodes) {
    std::visit([&](const auto& layer) { apply_kernel(layer, node, *this, streams); }, node.layer);
    // A node that leaves one stream owns the variances of its output: recorded in the
    // diagonal pass, looked up by the pair pass.
    if (streams.size() == 1) {
      KernelStream& s = streams.front();
      s.variances_after = node.id;
      if (record_ != nullptr) {
        VectorD& table = (*record_)[static_cast<std::size_t>(node.id) + 1];
        for (Eigen::Index e = 0; e < len_; ++e) table[column0_ + e] = s.nngp[e];
      }
    }
    if (watch_ && first_non_finite_.empty() && !all_finite(streams)) first_non_finite_ = to_string(node.layer);
  }
}

void KernelPass::variances(const KernelStream& stream, double* q1, double* q2) const {
  if (record_ != nullptr) {  // diagonal pass: each entry is one point, K(x, x) itself
    for (Eigen::Index e = 0; e < len_; ++e) q1[e] = q2[e] = stream.nngp[e];
    return;
  }
  const auto table = static_cast<std::size_t>(stream.variances_after + 1);
  const double qi = (*side1_)[table][row_];
  const double* qj = (*side2_)[table].data() + column0_;
  for (Eigen::Index e = 0; e < len_; ++e) {
    q1[e] = qi;
    q2[e] = qj[e];
  }
}

bool KernelPass::all_finite(const std::vector<KernelStream>& streams) const {
  for (const KernelStream& s : streams) {
    for (Eigen::Index e = 0; e < len_; ++e) {
      if (!std::isfinite(s.nngp[e]) || !std::isfinite(s.ntk[e])) return false;
    }
  }
  return true;
}

}  // namespace ntkit::detail
