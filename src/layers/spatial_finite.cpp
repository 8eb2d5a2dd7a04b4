// Finite-width rules of the layers that act on positions: Conv, AvgPool / SumPool,
// GlobalAvgPool / GlobalSumPool, Flatten (their text and infinite-width rules are in conv.cpp,
// pool.cpp, global_pool.cpp, flatten.cpp).
//
// A spatial stream is (n·P) x C, row i·P + p (mlp_program.hpp); cotangents carry `stack` rows
// per row. The windows are spatial_layout.hpp's AxisWindow, as at infinite width, made into
// per-position lists by window_rows.hpp.
//   Conv     a Dense on its patches (im2col, then Dense's own rules: one GEMM, the same
//            parameters' layout, scales, gradient and NTK term, with fan-in |filter|·C):
//            z(p) = a Σ_{f, c} W(o, f·C + c) h(p·s + f − pad, c) + c_b b(o)
//   pools    y(o) = scale(o) Σ_{f ∈ window} h(o·s + f − pad), scale 1/|window|, 1 (SumPool), or
//            1/(unpadded positions) (AvgPool with normalize_edges); linear, so the tangent is
//            the same map and backward its transpose
//   global   one window over all P positions: scale 1/P (average) or 1 (sum); the output is
//            flat (a flat input passes unchanged, as in neural-tangents)
//   Flatten  (n·P) x C → n x (P·C), the same memory (C order, as neural-tangents' NHWC reshape)
#include "layer_rules.hpp"
#include "window_rows.hpp"

namespace ntkit::detail {
namespace {

using Index = Eigen::Index;

Index product(const std::vector<int>& dims) {
  Index p = 1;
  for (int n : dims) p *= n;
  return p;
}

std::vector<int> output_dims(const std::vector<AxisWindow>& axes) {
  std::vector<int> dims;
  for (const AxisWindow& axis : axes) dims.push_back(axis.size_out);
  return dims;
}

// Conv hands its patches to Dense's rules, which read only the node.
const DenseLayer kPatchDense{};

}  // namespace

// ---- Conv ------------------------------------------------------------------------------------

void compile_finite(const ConvLayer& conv, MlpNode& node, FiniteCompiler& compiler, std::vector<StreamShape>& streams) {
  const std::vector<AxisWindow> axes = make_windows(print_layer(conv), streams.front().dims, conv.filter_shape, conv.strides,
                                                    conv.padding);
  auto windows = std::make_shared<WindowRows>(make_window_rows(axes));
  // Dense's compile with the patch width |filter|·C as its input width: the same scales
  // (fan-in |filter|·C, as neural-tangents) and one W of out_chan x |filter|·C, then b.
  StreamShape& s = streams.front();
  s.width *= static_cast<int>(windows->window);
  compile_finite(DenseLayer{conv.out_chan, conv.W_std, conv.b_std, conv.parameterization}, node, compiler, streams);
  node.windows = std::move(windows);
  streams.front().dims = output_dims(axes);
}

void forward(const ConvLayer&, const MlpNode& node, ForwardPass& pass, std::vector<RowMatrixD>& streams) {
  streams.front() = gather_patches(*node.windows, streams.front());
  forward(kPatchDense, node, pass, streams);  // keeps the patches for backward
}

void backward(const ConvLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  backward(kPatchDense, node, pass, cotangents);  // visits with the patches; cotangent of the patches
  RowMatrixD& g = cotangents.front();
  if (g.size() != 0) g = scatter_patches(*node.windows, g, pass.stack);
}

void tangent(const ConvLayer&, const MlpNode& node, TangentPass& pass, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  s.h = gather_patches(*node.windows, s.h);
  if (s.t.size() != 0) s.t = gather_patches(*node.windows, s.t);  // the patches are linear in h
  tangent(kPatchDense, node, pass, streams);
}

// ---- AvgPool, SumPool --------------------------------------------------------------------------

void compile_finite(const PoolLayer& pool, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  const std::vector<AxisWindow> axes = make_windows(print_layer(pool), streams.front().dims, pool.window_shape, pool.strides,
                                                    pool.padding);
  auto windows = std::make_shared<WindowRows>(make_window_rows(axes));
  for (Index o = 0; o < windows->positions_out; ++o) {
    Index count = windows->window;  // SumPool: scale 1; AvgPool: 1/count
    if (pool.normalize_edges) {
      count = 0;
      for (Index f = 0; f < windows->window; ++f) count += windows->input(o, f) >= 0 ? 1 : 0;
    }
    windows->scale.push_back(pool.kind == PoolKind::Sum ? 1.0 : 1.0 / static_cast<double>(count));
  }
  node.windows = std::move(windows);
  node.in = node.out = streams.front().width;
  streams.front().dims = output_dims(axes);
}

void forward(const PoolLayer&, const MlpNode& node, ForwardPass&, std::vector<RowMatrixD>& streams) {
  streams.front() = pool_rows(*node.windows, streams.front(), 1);
}

void backward(const PoolLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (g.size() != 0) g = unpool_rows(*node.windows, g, pass.stack);
}

void tangent(const PoolLayer&, const MlpNode& node, TangentPass&, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  s.h = pool_rows(*node.windows, s.h, 1);
  if (s.t.size() != 0) s.t = pool_rows(*node.windows, s.t, 1);
}

// ---- GlobalAvgPool, GlobalSumPool ------------------------------------------------------------

void compile_finite(const GlobalPoolLayer& pool, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  node.in = node.out = streams.front().width;
  if (streams.front().dims.empty()) return;  // flat already: nothing to pool (node.windows stays empty)
  const Index positions = product(streams.front().dims);
  auto windows = std::make_shared<WindowRows>(whole_window(positions));
  windows->scale.assign(1, pool.kind == PoolKind::Sum ? 1.0 : 1.0 / static_cast<double>(positions));
  node.windows = std::move(windows);
  streams.front().dims.clear();
}

void forward(const GlobalPoolLayer&, const MlpNode& node, ForwardPass&, std::vector<RowMatrixD>& streams) {
  if (node.windows) streams.front() = pool_rows(*node.windows, streams.front(), 1);
}

void backward(const GlobalPoolLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (node.windows && g.size() != 0) g = unpool_rows(*node.windows, g, pass.stack);
}

void tangent(const GlobalPoolLayer&, const MlpNode& node, TangentPass&, std::vector<TangentStream>& streams) {
  if (!node.windows) return;
  TangentStream& s = streams.front();
  s.h = pool_rows(*node.windows, s.h, 1);
  if (s.t.size() != 0) s.t = pool_rows(*node.windows, s.t, 1);
}

// ---- Flatten ---------------------------------------------------------------------------------

void compile_finite(const FlattenLayer&, MlpNode& node, FiniteCompiler&, std::vector<StreamShape>& streams) {
  StreamShape& s = streams.front();
  node.in = s.width;
  s.width = static_cast<int>(s.width * product(s.dims));  // a flat input stays as it is
  s.dims.clear();
  node.out = s.width;
}

void forward(const FlattenLayer&, const MlpNode& node, ForwardPass&, std::vector<RowMatrixD>& streams) {
  RowMatrixD& h = streams.front();
  const Index n = h.size() / node.out;
  h = reshape_rows(std::move(h), n, node.out);
}

void backward(const FlattenLayer&, const MlpNode& node, BackwardPass& pass, std::vector<RowMatrixD>& cotangents) {
  RowMatrixD& g = cotangents.front();
  if (g.size() != 0) g = unflatten_cotangent(g, product(node.in_dims), pass.stack);
}

void tangent(const FlattenLayer&, const MlpNode& node, TangentPass&, std::vector<TangentStream>& streams) {
  TangentStream& s = streams.front();
  const Index n = s.h.size() / node.out;
  s.h = reshape_rows(std::move(s.h), n, node.out);
  if (s.t.size() != 0) s.t = reshape_rows(std::move(s.t), n, node.out);
}

}  // namespace ntkit::detail
