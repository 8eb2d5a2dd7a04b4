// The three passes every finite-network routine is built from, over a whole batch at once:
//   forward   h ↦ layer(h), keeping what backward needs;
//   backward  cotangents pulled back layer by layer, `stack` of them per example (the
//             empirical NTK pulls back one per logit in the same products), with a visitor at
//             every Dense that sees its input H and output cotangent G;
//   tangent   forward-mode: (h, ḣ) pushed through together, giving J(X)·v.
// Each pass walks the compiled tree and hands every node to its layer's rule (src/layers/).
#include <algorithm>
#include <cmath>

#include "blas.hpp"
#include "layers/layer_rules.hpp"
#include "mlp_program.hpp"

namespace ntkit::detail {

using Index = Eigen::Index;

void ForwardPass::run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& streams) {
  for (const MlpNode& node : nodes) std::visit([&](const auto& l) { forward(l, node, *this, streams); }, node.layer);
}

void BackwardPass::run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& cotangents) {
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    std::visit([&](const auto& l) { backward(l, *it, *this, cotangents); }, it->layer);
  }
}

void TangentPass::run(const std::vector<MlpNode>& nodes, std::vector<TangentStream>& streams) {
  for (const MlpNode& node : nodes) std::visit([&](const auto& l) { detail::tangent(l, node, *this, streams); }, node.layer);
}

void gemm(double alpha, MatrixView<double> a, bool transpose_a, MatrixView<double> b, bool transpose_b, double beta,
          Eigen::Ref<RowMatrixD> c) {
  const Index m = c.rows(), n = c.cols(), k = transpose_a ? a.rows() : a.cols();
  if (m == 0 || n == 0) return;
  // Small or thin products (a training batch of a few examples) stay in Eigen's single-threaded
  // kernel: waking OpenBLAS's threads costs more than they save there, and their spinning after
  // the call steals the cores from the elementwise work in between (measured: a 10-example
  // training step on width 4096 spent more time in the kernel than in user code).
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (std::min({m, n, k}) < 48 || work < 2097152.0) {
    const auto apply = [&](const auto& product) {
      if (beta == 0.0) {
        c.noalias() = alpha * product;
      } else {
        c *= beta;
        c.noalias() += alpha * product;
      }
    };
    if (!transpose_a && !transpose_b) apply(a * b);
    else if (transpose_a && !transpose_b) apply(a.transpose() * b);
    else if (!transpose_a && transpose_b) apply(a * b.transpose());
    else apply(a.transpose() * b.transpose());
    return;
  }
  gemm_rowmajor<double>(transpose_a, transpose_b, m, n, k, alpha, a.data(), a.outerStride(), b.data(), b.outerStride(), beta,
                        c.data(), c.outerStride());
}

RowMatrixD reshape_rows(RowMatrixD m, Index rows, Index cols) {
  if (m.rows() == rows) return m;
  RowMatrixD out(rows, cols);
  out = Eigen::Map<const RowMatrixD>(m.data(), rows, cols);  // row-major: the same sequence of values
  return out;
}

RowMatrixD unflatten_cotangent(const RowMatrixD& g, Index positions, Index stack) {
  if (positions == 1) return g;
  const Index channels = g.cols() / positions, n = g.rows() / stack;
  RowMatrixD out(n * positions * stack, channels);
  for (Index i = 0; i < n; ++i)
    for (Index s = 0; s < stack; ++s)
      for (Index p = 0; p < positions; ++p) {
        out.row((i * positions + p) * stack + s) = g.row(i * stack + s).segment(p * channels, channels);
      }
  return out;
}

namespace {

// The input rows as the first stream: (n·P) x C for spatial inputs (the same values).
RowMatrixD input_stream(const MlpProgram& program, MatrixView<double> x) {
  RowMatrixD h(x);
  return reshape_rows(std::move(h), x.rows() * program.input_positions, x.cols() / program.input_positions);
}

// The last stream as the network's n x O outputs (a spatial output: each example's positions
// flattened in C order, as neural-tangents' (N, H, W, C) outputs).
RowMatrixD output_rows(const MlpProgram& program, RowMatrixD h) {
  const Index n = h.rows() / program.output_positions;
  return reshape_rows(std::move(h), n, program.output_dim);
}

}  // namespace

void forward_pass(const MlpProgram& program, const double* params, MatrixView<double> x, MlpPass& pass, bool keep_caches) {
  if (keep_caches) pass.caches.assign(static_cast<std::size_t>(program.node_count), NodeCache{});
  std::vector<RowMatrixD> streams{input_stream(program, x)};
  ForwardPass(params, pass, keep_caches).run(program.nodes, streams);
  pass.output = output_rows(program, std::move(streams.front()));
}

void backward_pass(const MlpProgram& program, const double* params, const MlpPass& pass, RowMatrixD cotangent, Index stack,
                   const DenseVisitor& visit) {
  std::vector<RowMatrixD> cot{
      program.output_positions == 1 ? std::move(cotangent) : unflatten_cotangent(cotangent, program.output_positions, stack)};
  BackwardPass(params, pass, stack, visit).run(program.nodes, cot);
}

void accumulate_gradient(const MlpProgram& program, const double* params, const MlpPass& pass, const RowMatrixD& cotangent,
                         double* grad) {
  const DenseVisitor visit = [&](const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g) {
    add_dense_gradient(d, h, g, grad);
  };
  backward_pass(program, params, pass, cotangent, 1, visit);
}

RowMatrixD tangent_pass(const MlpProgram& program, const double* params, const double* tangent, MatrixView<double> x,
                        RowMatrixD& outputs) {
  std::vector<TangentStream> streams{TangentStream{input_stream(program, x), RowMatrixD()}};
  TangentPass(params, tangent).run(program.nodes, streams);
  outputs = output_rows(program, std::move(streams.front().h));
  RowMatrixD t = std::move(streams.front().t);
  if (t.size() == 0) return RowMatrixD::Zero(outputs.rows(), outputs.cols());
  return output_rows(program, std::move(t));
}

}  // namespace ntkit::detail
