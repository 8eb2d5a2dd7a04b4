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

void forward_pass(const MlpProgram& program, const double* params, MatrixView<double> x, MlpPass& pass, bool keep_caches) {
  if (keep_caches) pass.caches.assign(static_cast<std::size_t>(program.node_count), NodeCache{});
  std::vector<RowMatrixD> streams{RowMatrixD(x)};
  ForwardPass(params, pass, keep_caches).run(program.nodes, streams);
  pass.output = std::move(streams.front());
}

void backward_pass(const MlpProgram& program, const double* params, const MlpPass& pass, RowMatrixD cotangent, Index stack,
                   const DenseVisitor& visit) {
  std::vector<RowMatrixD> cot{std::move(cotangent)};
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
  std::vector<TangentStream> streams{TangentStream{RowMatrixD(x), RowMatrixD()}};
  TangentPass(params, tangent).run(program.nodes, streams);
  outputs = std::move(streams.front().h);
  RowMatrixD t = std::move(streams.front().t);
  if (t.size() == 0) t = RowMatrixD::Zero(outputs.rows(), outputs.cols());
  return t;
}

}  // namespace ntkit::detail
