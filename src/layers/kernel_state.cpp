// The kernel engine's walk: compiling a network into nodes and running a chunk's streams
// through them, each node by its layer's rule (kernel_state.hpp).
#include "kernel_state.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "layer_rules.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {

Eigen::Index product(const std::vector<int>& dims) {
  Eigen::Index p = 1;
  for (int n : dims) p *= n;
  return p;
}

std::string shape_text(const std::vector<int>& dims) {
  std::string out;
  for (std::size_t a = 0; a < dims.size(); ++a) out += (a > 0 ? " × " : "") + std::to_string(dims[a]);
  return out;
}

}  // namespace

std::vector<KernelNode> KernelCompiler::compile(const Network& network) {
  std::vector<KernelNode> nodes;
  for (const Layer& layer : network.layers) {
    KernelNode node;
    node.layer = layer;
    node.id = program_.node_count++;
    node.inputs = static_cast<int>(dims.size());
    node.in_dims = dims.front();
    std::visit([&](const auto& l) { compile_kernel(l, node, *this); }, layer);
    node.out_dims = dims.front();
    program_.positions_after.resize(static_cast<std::size_t>(program_.node_count) + 1, 1);
    if (dims.size() == 1) program_.positions_after[static_cast<std::size_t>(node.id) + 1] = product(dims.front());
    nodes.push_back(std::move(node));
  }
  return nodes;
}

void join_spatial_shapes(const std::string& layer, std::vector<std::vector<int>>& dims) {
  for (std::size_t b = 1; b < dims.size(); ++b) {
    if (dims[b] != dims.front()) {
      throw Error(layer + ": branch 1 has " +
                  (dims.front().empty() ? "a flat output" : shape_text(dims.front()) + " positions") + " but branch " +
                  std::to_string(b + 1) + " has " + (dims[b].empty() ? "a flat output" : shape_text(dims[b]) + " positions") +
                  "; the joined branches need the same spatial shape");
    }
  }
  dims.resize(1);
}

std::vector<AxisWindow> make_windows(const std::string& layer, const std::vector<int>& in_dims,
                                     const std::vector<int>& window, const std::vector<int>& strides, Padding padding) {
  if (in_dims.size() != window.size()) {
    const std::string axes = std::to_string(window.size()) + "-D window";
    if (in_dims.empty()) {
      throw Error(layer + " has a " + axes + " but its input is flat: give inputs with spatial axes (images of shape " +
                  "(N, H, W, C), signals (N, L, C)), and put it before Flatten or a global pool");
    }
    throw Error(layer + " has a " + axes + " but its input has " + std::to_string(in_dims.size()) + " spatial axes (" +
                shape_text(in_dims) + "); give one window size per spatial axis");
  }
  std::vector<AxisWindow> out;
  for (std::size_t a = 0; a < window.size(); ++a) {
    out.push_back(make_axis_window(layer, in_dims[a], window[a], strides.empty() ? 1 : strides[a], padding));
  }
  return out;
}

void KernelPlanner::plan(std::vector<KernelNode>& nodes, std::vector<Radii>& needs) {
  for (auto node = nodes.rbegin(); node != nodes.rend(); ++node) {
    std::visit([&](const auto& l) { plan_kernel(l, *node, *this, needs); }, node->layer);
  }
}

std::shared_ptr<const SpatialLayout> KernelPlanner::layout(const std::vector<int>& dims, const Radii& radii) {
  // Each thread holds K and Θ of this layout for a pair, and the layout its positions: a state
  // of more than 2²⁷ values (1 GiB per array) is a mistake, not a computation.
  double values = 1;
  for (std::size_t a = 0; a < dims.size(); ++a) {
    const double r = std::min(radii.at(a), dims[a] - 1);
    values *= dims[a] * (2.0 * r + 1) - r * (r + 1.0);  // pairs with |i' − i| ≤ r
  }
  if (values > static_cast<double>(Eigen::Index{1} << 27)) {
    std::ostringstream msg;
    msg << "analytic kernels: the spatial state of one pair of inputs would hold " << static_cast<long long>(values)
        << " values (positions " << shape_text(dims) << ", every pair of positions within " << shape_text(radii)
        << " of each other): too large to compute; pool or stride down earlier, end with Flatten rather than a global "
           "pool, or use smaller inputs";
    throw Error(msg.str());
  }
  auto made = make_layout(dims, radii);
  if (made) max_values = std::max(max_values, made->values);
  return made;
}

KernelProgram compile_kernel_program(const Network& network, bool ntk, int quadrature_degree, int fixed_layers,
                                     const std::vector<int>& input_shape) {
  KernelProgram program;
  program.network = network;
  program.ntk = ntk;
  if (input_shape.size() > 1) {
    program.input_dims.assign(input_shape.begin(), input_shape.end() - 1);
    program.channels = input_shape.back();
  } else {
    program.channels = input_shape.empty() ? 0 : input_shape.front();
  }
  if (program.input_dims.size() > 2) {
    throw Error("analytic kernels: inputs of shape " + shape_text(input_shape) + " have " +
                std::to_string(program.input_dims.size()) +
                " spatial axes; ntkit takes flat inputs (N, d), signals (N, L, C) and images (N, H, W, C)");
  }
  program.positions_after.assign(1, product(program.input_dims));
  KernelCompiler compiler(program, quadrature_degree, fixed_layers);
  compiler.dims.assign(1, program.input_dims);
  program.nodes = compiler.compile(program.network);
  if (!compiler.dims.front().empty()) {
    throw Error("analytic kernels: the network's output still has spatial axes (" + shape_text(compiler.dims.front()) +
                " positions); end it with Flatten, GlobalAvgPool or GlobalSumPool (and a Dense) to get one kernel "
                "value per pair of inputs");
  }
  // The output is flat; backwards, each layer says which pairs of positions its inputs need.
  KernelPlanner planner;
  std::vector<Radii> needs(1);
  planner.plan(program.nodes, needs);
  program.input_layout = planner.layout(program.input_dims, needs.front());
  // About 16 Ki values of the largest state per chunk (flat networks: kKernelChunk pairs).
  program.chunk = std::clamp<Eigen::Index>(16384 / planner.max_values, 1, kKernelChunk);
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
        if (s.layout == nullptr) {
          for (Eigen::Index e = 0; e < len_; ++e) table[column0_ + e] = s.nngp[e];
        } else {
          const Eigen::Index positions = s.layout->positions, values = s.layout->values;
          for (Eigen::Index e = 0; e < len_; ++e)
            for (Eigen::Index p = 0; p < positions; ++p)
              table[(column0_ + e) * positions + p] = s.nngp[e * values + s.layout->diagonal[p]];
        }
      }
    }
    if (watch_ && first_non_finite_.empty() && !all_finite(streams)) first_non_finite_ = to_string(node.layer);
  }
}

void KernelPass::variances(const KernelStream& stream, Eigen::Index begin, Eigen::Index count, double* q1, double* q2) const {
  const SpatialLayout* layout = stream.layout;
  if (layout == nullptr) {
    if (record_ != nullptr) {  // diagonal pass: each entry is one point, K(x, x) itself
      for (Eigen::Index i = 0; i < count; ++i) q1[i] = q2[i] = stream.nngp[begin + i];
      return;
    }
    const auto table = static_cast<std::size_t>(stream.variances_after + 1);
    const double qi = (*side1_)[table][row_];
    const double* qj = (*side2_)[table].data() + column0_;
    for (Eigen::Index i = 0; i < count; ++i) {
      q1[i] = qi;
      q2[i] = qj[begin + i];
    }
    return;
  }
  // Spatial: the variances recorded for the node that made the stream (in the diagonal pass,
  // the point's own record — not its state's diagonal, which a layer may be rewriting).
  const Eigen::Index values = layout->values, positions = layout->positions;
  const auto table = static_cast<std::size_t>(stream.variances_after + 1);
  const bool diagonal_pass = record_ != nullptr;
  const VectorD& first = diagonal_pass ? (*record_)[table] : (*side1_)[table];
  const VectorD& second = diagonal_pass ? (*record_)[table] : (*side2_)[table];
  Eigen::Index e = begin / values, v = begin % values;
  const int* position1 = layout->position1.data();
  const int* position2 = layout->position2.data();
  for (Eigen::Index i = 0; i < count;) {
    // The values of entry e from v on, up to the block's end.
    const Eigen::Index run = std::min(count - i, values - v);
    const double* q1_row = first.data() + (diagonal_pass ? column0_ + e : row_) * positions;
    const double* q2_row = second.data() + (column0_ + e) * positions;
    for (Eigen::Index t = 0; t < run; ++t) {
      q1[i + t] = q1_row[position1[v + t]];
      q2[i + t] = q2_row[position2[v + t]];
    }
    i += run;
    ++e;
    v = 0;
  }
}

void KernelPass::remap(KernelStream& stream, const SpatialMap& map, const SpatialLayout* out) const {
  thread_local std::vector<double> next_nngp, next_ntk, scratch;
  const auto in_values = map.in_values, out_values = map.out_values;
  next_nngp.resize(static_cast<std::size_t>(len_ * out_values));
  next_ntk.resize(next_nngp.size());
  scratch.resize(static_cast<std::size_t>(map.scratch_values));
  for (Eigen::Index e = 0; e < len_; ++e) {
    map.apply(stream.nngp.data() + e * in_values, next_nngp.data() + e * out_values, scratch.data());
    if (ntk()) map.apply(stream.ntk.data() + e * in_values, next_ntk.data() + e * out_values, scratch.data());
  }
  stream.nngp.swap(next_nngp);
  if (ntk()) stream.ntk.swap(next_ntk);
  else stream.ntk.resize(stream.nngp.size());
  stream.layout = out;
}

bool KernelPass::all_finite(const std::vector<KernelStream>& streams) const {
  for (const KernelStream& s : streams) {
    for (Eigen::Index e = 0; e < size(s); ++e) {
      if (!std::isfinite(s.nngp[e]) || !std::isfinite(s.ntk[e])) return false;
    }
  }
  return true;
}

}  // namespace ntkit::detail
