// The three passes every finite-network routine is built from, over a whole batch at once:
//   forward   h ↦ layer(h), keeping what backward needs (Dense: its input; activation: φ'(z);
//             LayerNorm: its output and 1/√(var + eps));
//   backward  cotangents pulled back layer by layer, `stack` of them per example (the
//             empirical NTK pulls back one per logit in the same products), with a visitor at
//             every Dense that sees its input H and output cotangent G;
//   tangent   forward-mode: (h, ḣ) pushed through together, giving J(X)·v.
// Per-layer rules (y = LayerNorm output, s = 1/√(var + eps), means over the features):
//   Dense      z = a·W h + c·b      ∂ into h: a·Wᵀ g    ∂W: a·g hᵀ    ∂b: c·g
//   activation h = φ(z)             g ← φ'(z) ⊙ g
//   LayerNorm  y = (x − mean x) s   g ← s (g − mean g − y·mean(g ⊙ y))  (its Jacobian is
//                                    symmetric, so the tangent rule is the same)
//   FanOut / FanInSum: copies and sums, each the other's transpose.

#include <algorithm>
#include <cmath>

#include "blas.hpp"
#include "mlp_program.hpp"

namespace ntkit::detail {
namespace {

using Kind = MlpNode::Kind;
using Index = Eigen::Index;
using ConstMap = Eigen::Map<const RowMatrixD>;

ConstMap weights(const MlpNode& d, const double* params) {
  return ConstMap(params + d.w_offset, d.out, d.in);
}

// z += c·b on every row.
void add_bias(RowMatrixD& z, const MlpNode& d, const double* params) {
  if (d.b_offset < 0 || d.b_scale == 0.0) return;
  const Eigen::Map<const Eigen::RowVectorXd> b(params + d.b_offset, d.out);
  z.rowwise() += d.b_scale * b;
}

// Mean-centred, scaled rows: y = (x − mean) s, s = 1/√(var + eps) (biased variance, as jnp.var).
void layer_norm(RowMatrixD& x, double eps, VectorD& inv_std) {
  const Index n = x.rows();
  const auto w = static_cast<double>(x.cols());
  inv_std.resize(n);
  for (Index i = 0; i < n; ++i) {
    auto row = x.row(i);
    const double mean = row.sum() / w;
    row.array() -= mean;
    const double var = row.squaredNorm() / w;
    inv_std[i] = 1.0 / std::sqrt(var + eps);
    row *= inv_std[i];
  }
}

// g ← s (g − mean g − y·mean(g ⊙ y)) for every row r of g, with y and s of example r / stack.
void layer_norm_pullback(RowMatrixD& g, const RowMatrixD& y, const VectorD& inv_std, Index stack) {
  const auto w = static_cast<double>(g.cols());
  for (Index r = 0; r < g.rows(); ++r) {
    const Index i = r / stack;
    auto row = g.row(r);
    const double mean_g = row.sum() / w;
    const double mean_gy = row.dot(y.row(i)) / w;
    row = inv_std[i] * (row - RowMatrixD::Constant(1, g.cols(), mean_g) - mean_gy * y.row(i));
  }
}

// g(r, :) ⊙= d(r / stack, :).
void scale_rows(RowMatrixD& g, const RowMatrixD& d, Index stack) {
  if (stack == 1) {
    g.array() *= d.array();
    return;
  }
  for (Index r = 0; r < g.rows(); ++r) g.row(r).array() *= d.row(r / stack).array();
}

void sum_into_first(std::vector<RowMatrixD>& streams) {
  RowMatrixD sum;
  for (RowMatrixD& s : streams) {
    if (s.size() == 0) continue;  // a branch without parameters upstream: no cotangent
    if (sum.size() == 0) sum = std::move(s);
    else sum += s;
  }
  streams.assign(1, std::move(sum));
}

class Forward {
 public:
  Forward(const double* params, MlpPass& pass, bool keep) : params_(params), pass_(pass), keep_(keep) {}

  void run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& streams) {
    for (const MlpNode& node : nodes) step(node, streams);
  }

 private:
  void step(const MlpNode& node, std::vector<RowMatrixD>& streams) {
    NodeCache* cache = keep_ ? &pass_.caches[static_cast<std::size_t>(node.id)] : nullptr;
    RowMatrixD& h = streams.front();
    switch (node.kind) {
      case Kind::Dense: {
        RowMatrixD z(h.rows(), node.out);
        gemm(node.w_scale, h, false, weights(node, params_), true, 0.0, z);
        add_bias(z, node, params_);
        if (cache) cache->a = std::move(h);
        h = std::move(z);
        return;
      }
      case Kind::Activation: {
        if (cache) {
          cache->a.resize(h.rows(), h.cols());
          node.activation->apply(h.data(), h.data(), cache->a.data(), static_cast<std::size_t>(h.size()));
        } else {
          node.activation->apply(h.data(), h.data(), nullptr, static_cast<std::size_t>(h.size()));
        }
        return;
      }
      case Kind::LayerNorm: {
        VectorD inv_std;
        layer_norm(h, node.eps, inv_std);
        if (cache) {
          cache->a = h;
          cache->v = std::move(inv_std);
        }
        return;
      }
      case Kind::Identity: return;
      case Kind::FanOut: {
        const RowMatrixD one = std::move(h);
        streams.assign(static_cast<std::size_t>(node.num), one);
        return;
      }
      case Kind::Parallel: {
        for (std::size_t b = 0; b < node.branches.size(); ++b) {
          std::vector<RowMatrixD> single{std::move(streams[b])};
          run(node.branches[b], single);
          streams[b] = std::move(single.front());
        }
        return;
      }
      case Kind::FanInSum: {
        for (std::size_t b = 1; b < streams.size(); ++b) streams.front() += streams[b];
        streams.resize(1);
        return;
      }
    }
  }

  const double* params_;
  MlpPass& pass_;
  bool keep_;
};

class Backward {
 public:
  Backward(const double* params, const MlpPass& pass, Index stack, const DenseVisitor& visit)
      : params_(params), pass_(pass), stack_(stack), visit_(visit) {}

  // Streams hold cotangents; an empty matrix means "not needed upstream".
  void run(const std::vector<MlpNode>& nodes, std::vector<RowMatrixD>& cot) {
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) step(*it, cot);
  }

 private:
  void step(const MlpNode& node, std::vector<RowMatrixD>& cot) {
    const NodeCache& cache = pass_.caches[static_cast<std::size_t>(node.id)];
    RowMatrixD& g = cot.front();
    switch (node.kind) {
      case Kind::Dense: {
        if (g.size() == 0) return;
        visit_(node, cache.a, g);
        if (!node.after_params) {
          g = RowMatrixD();
          return;
        }
        RowMatrixD g_in(g.rows(), node.in);
        gemm(node.w_scale, g, false, weights(node, params_), false, 0.0, g_in);
        g = std::move(g_in);
        return;
      }
      case Kind::Activation:
        if (g.size() != 0) scale_rows(g, cache.a, stack_);
        return;
      case Kind::LayerNorm:
        if (g.size() != 0) layer_norm_pullback(g, cache.a, cache.v, stack_);
        return;
      case Kind::Identity: return;
      case Kind::FanOut: sum_into_first(cot); return;
      case Kind::Parallel: {
        for (std::size_t b = node.branches.size(); b-- > 0;) {
          std::vector<RowMatrixD> single{std::move(cot[b])};
          run(node.branches[b], single);
          cot[b] = std::move(single.front());
        }
        return;
      }
      case Kind::FanInSum: {
        const RowMatrixD one = std::move(g);
        cot.assign(static_cast<std::size_t>(node.num), one);
        return;
      }
    }
  }

  const double* params_;
  const MlpPass& pass_;
  Index stack_;
  const DenseVisitor& visit_;
};

// A stream of the forward-mode pass: value h and tangent t (empty: zero).
struct Dual {
  RowMatrixD h, t;
};

class Tangent {
 public:
  Tangent(const double* params, const double* tangent) : params_(params), tangent_(tangent) {}

  void run(const std::vector<MlpNode>& nodes, std::vector<Dual>& streams) {
    for (const MlpNode& node : nodes) step(node, streams);
  }

 private:
  void step(const MlpNode& node, std::vector<Dual>& streams) {
    Dual& s = streams.front();
    switch (node.kind) {
      case Kind::Dense: {
        // ż = a (ḣ Wᵀ + h ΔWᵀ) + c Δb, then z = a h Wᵀ + c b.
        RowMatrixD zt(s.h.rows(), node.out);
        gemm(node.w_scale, s.h, false, weights(node, tangent_), true, 0.0, zt);
        if (s.t.size() != 0) gemm(node.w_scale, s.t, false, weights(node, params_), true, 1.0, zt);
        add_bias(zt, node, tangent_);
        RowMatrixD z(s.h.rows(), node.out);
        gemm(node.w_scale, s.h, false, weights(node, params_), true, 0.0, z);
        add_bias(z, node, params_);
        s.h = std::move(z);
        s.t = std::move(zt);
        return;
      }
      case Kind::Activation: {
        RowMatrixD d(s.h.rows(), s.h.cols());
        node.activation->apply(s.h.data(), s.h.data(), d.data(), static_cast<std::size_t>(s.h.size()));
        if (s.t.size() != 0) s.t.array() *= d.array();
        return;
      }
      case Kind::LayerNorm: {
        VectorD inv_std;
        layer_norm(s.h, node.eps, inv_std);
        if (s.t.size() != 0) layer_norm_pullback(s.t, s.h, inv_std, 1);
        return;
      }
      case Kind::Identity: return;
      case Kind::FanOut: {
        const Dual one = std::move(s);
        streams.assign(static_cast<std::size_t>(node.num), one);
        return;
      }
      case Kind::Parallel: {
        for (std::size_t b = 0; b < node.branches.size(); ++b) {
          std::vector<Dual> single{std::move(streams[b])};
          run(node.branches[b], single);
          streams[b] = std::move(single.front());
        }
        return;
      }
      case Kind::FanInSum: {
        Dual& sum = streams.front();
        for (std::size_t b = 1; b < streams.size(); ++b) {
          sum.h += streams[b].h;
          if (streams[b].t.size() == 0) continue;
          if (sum.t.size() == 0) sum.t = std::move(streams[b].t);
          else sum.t += streams[b].t;
        }
        streams.resize(1);
        return;
      }
    }
  }

  const double* params_;
  const double* tangent_;
};

}  // namespace

void gemm(double alpha, MatrixView<double> a, bool transpose_a, MatrixView<double> b, bool transpose_b,
          double beta, Eigen::Ref<RowMatrixD> c) {
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
  gemm_rowmajor<double>(transpose_a, transpose_b, m, n, k, alpha, a.data(), a.outerStride(), b.data(),
                        b.outerStride(), beta, c.data(), c.outerStride());
}

void forward_pass(const MlpProgram& program, const double* params, MatrixView<double> x, MlpPass& pass,
                  bool keep_caches) {
  if (keep_caches) pass.caches.assign(static_cast<std::size_t>(program.node_count), NodeCache{});
  std::vector<RowMatrixD> streams{RowMatrixD(x)};
  Forward(params, pass, keep_caches).run(program.nodes, streams);
  pass.output = std::move(streams.front());
}

void backward_pass(const MlpProgram& program, const double* params, const MlpPass& pass,
                   RowMatrixD cotangent, Index stack, const DenseVisitor& visit) {
  std::vector<RowMatrixD> cot{std::move(cotangent)};
  Backward(params, pass, stack, visit).run(program.nodes, cot);
}

void accumulate_gradient(const MlpProgram& program, const double* params, const MlpPass& pass,
                         const RowMatrixD& cotangent, double* grad) {
  const DenseVisitor visit = [&](const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g) {
    Eigen::Map<RowMatrixD> gw(grad + d.w_offset, d.out, d.in);
    gemm(d.w_scale, g, true, h, false, 1.0, gw);  // a · Gᵀ H
    if (d.b_offset >= 0) {
      Eigen::Map<Eigen::RowVectorXd> gb(grad + d.b_offset, d.out);
      gb += d.b_scale * g.colwise().sum();
    }
  };
  backward_pass(program, params, pass, cotangent, 1, visit);
}

RowMatrixD tangent_pass(const MlpProgram& program, const double* params, const double* tangent,
                        MatrixView<double> x, RowMatrixD& outputs) {
  std::vector<Dual> streams{Dual{RowMatrixD(x), RowMatrixD()}};
  Tangent(params, tangent).run(program.nodes, streams);
  outputs = std::move(streams.front().h);
  RowMatrixD t = std::move(streams.front().t);
  if (t.size() == 0) t = RowMatrixD::Zero(outputs.rows(), outputs.cols());
  return t;
}

}  // namespace ntkit::detail
