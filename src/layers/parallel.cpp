// parallel(branch, …): branch b maps input b (one input: every branch maps a copy of it). A
// branch is itself a serial network; every pass runs each branch's layers through the same
// rules as the whole network. Written as text by the grammar (network_parse.cpp), since its
// arguments are networks.
#include "layer_rules.hpp"

namespace ntkit::detail {

std::vector<std::string> layer_names(const ParallelLayer*) { return {}; }  // the grammar's "parallel"

Layer parse_layer(const ParallelLayer*, const Call& text) {
  throw ParseError{text.offset, "parallel {at} is read by the grammar"};  // not reached: no names
}

std::string print_layer(const ParallelLayer& parallel) {
  if (parallel.branches.empty()) return "parallel()";
  std::string out = "parallel(";
  for (std::size_t b = 0; b < parallel.branches.size(); ++b) {
    if (b > 0) out += ", ";
    const Network& branch = parallel.branches[b];
    if (branch.layers.size() == 1) {
      out += to_string(branch.layers.front());
    } else {
      out += "serial(" + to_string(branch) + ")";
    }
  }
  return out + ")";
}

void check_arguments(const ParallelLayer&, std::string*) {}

std::optional<NetworkProblem> check_structure(const ParallelLayer& parallel, const std::vector<int>& path,
                                              StructureWalk& walk) {
  const std::size_t k = parallel.branches.size();
  if (k == 0) return NetworkProblem{path, "parallel() {at} has no branches"};
  // path alternates layer and branch indices: one pair per enclosing parallel.
  if (path.size() / 2 >= static_cast<std::size_t>(kMaxNesting)) {
    return NetworkProblem{
        path, "parallel(...) {at} is nested more than " + std::to_string(kMaxNesting) + " levels deep: flatten the network"};
  }
  if (walk.streams.size() != k && !(walk.streams.size() == 1 && k == 1)) {
    if (walk.streams.size() == 1) {
      return NetworkProblem{path, "parallel(...) {at} has " + std::to_string(k) +
                                      " branches but only one input: put FanOut(" + std::to_string(k) + ") before it"};
    }
    return NetworkProblem{path, "parallel(...) {at} has " + std::to_string(k) + " branches but the preceding FanOut(" +
                                    std::to_string(walk.last_fan_out_num) + ") makes " + std::to_string(walk.streams.size()) +
                                    " inputs; the counts must match"};
  }
  std::vector<StructureStream> outputs;
  for (std::size_t i = 0; i < k; ++i) {
    std::vector<int> branch_path = path;
    branch_path.push_back(static_cast<int>(i));
    if (parallel.branches[i].layers.empty()) {
      return NetworkProblem{
          branch_path, "branch " + std::to_string(i + 1) + " of parallel(...) {at} is empty; use Identity for a shortcut"};
    }
    StructureWalk branch;
    branch.streams = {walk.streams[walk.streams.size() == 1 ? 0 : i]};
    if (auto problem = check_structure(parallel.branches[i], branch_path, branch)) return problem;
    walk.any_dense = walk.any_dense || branch.any_dense;
    outputs.push_back(branch.streams.front());
  }
  walk.streams = std::move(outputs);
  return std::nullopt;
}

void compile_kernel(const ParallelLayer& parallel, KernelNode& node, KernelCompiler& compiler) {
  const std::vector<std::vector<int>> inputs = compiler.dims;  // each branch's compile replaces dims
  std::vector<std::vector<int>> outputs;
  for (std::size_t b = 0; b < parallel.branches.size(); ++b) {
    const std::vector<int>& input = inputs[inputs.size() == 1 ? 0 : b];
    compiler.dims.assign(1, input);
    node.branches.push_back(compiler.compile(parallel.branches[b]));
    outputs.push_back(compiler.dims.front());
  }
  compiler.dims = std::move(outputs);
}

void plan_kernel(const ParallelLayer&, KernelNode& node, KernelPlanner& planner, std::vector<Radii>& needs) {
  for (std::size_t b = 0; b < node.branches.size(); ++b) {
    std::vector<Radii> branch{needs[b]};
    planner.plan(node.branches[b], branch);
    needs[b] = branch.front();
  }
}

void apply_kernel(const ParallelLayer&, const KernelNode& node, KernelPass& pass, std::vector<KernelStream>& streams) {
  for (std::size_t b = 0; b < node.branches.size(); ++b) {
    std::vector<KernelStream> single{std::move(streams[b])};
    pass.run(node.branches[b], single);
    streams[b] = std::move(single.front());
  }
}

void compile_finite(const ParallelLayer& parallel, MlpNode& node, FiniteCompiler& compiler,
                    std::vector<StreamShape>& streams) {
  node.in = streams.front().width;
  std::vector<StreamShape> outputs;
  for (std::size_t b = 0; b < parallel.branches.size(); ++b) {
    std::vector<StreamShape> branch{streams[streams.size() == 1 ? 0 : b]};
    node.branches.push_back(compiler.compile(parallel.branches[b], branch));
    outputs.push_back(branch.front());
  }
  streams = outputs;
  node.out = streams.front().width;
}

void forward(const ParallelLayer&, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams) {
  for (std::size_t b = 0; b < node.branches.size(); ++b) {
    std::vector<RowMatrixD> single{std::move(streams[b])};
    pass.run(node.branches[b], single);
    streams[b] = std::move(single.front());
  }
}

void backward(const ParallelLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  for (std::size_t b = node.branches.size(); b-- > 0;) {
    std::vector<RowMatrixD> single{std::move(cotangents[b])};
    pass.run(node.branches[b], single);
    cotangents[b] = std::move(single.front());
  }
}

void tangent(const ParallelLayer&, const MlpNode& node, TangentPass& pass, std::vector<TangentStream>& streams) {
  for (std::size_t b = 0; b < node.branches.size(); ++b) {
    std::vector<TangentStream> single{std::move(streams[b])};
    pass.run(node.branches[b], single);
    streams[b] = std::move(single.front());
  }
}

}  // namespace ntkit::detail
