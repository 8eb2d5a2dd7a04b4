// A weight layer's term of the empirical NTK (mlp_program.hpp, mlp_kernel.hpp), never forming
// the Jacobian of the whole network.
//
// The layer z = a·W h + c·b, on flat rows or at each of P positions (Dense on a spatial stream;
// Conv, whose h is a patch), with H its input rows and G the output cotangents from every
// logit, contributes for examples x, y and logits o, o'
//     Θ = Σ_{p, p'} (a² ⟨h_x(p), h_y(p')⟩ + c²) ⟨g_xo(p), g_yo'(p')⟩          (c² only with a bias)
// Two ways to form it, and the cheaper for the layer's sizes is taken:
//   Gram       the P x P blocks of H Hᵀ and G Gᵀ, multiplied entrywise and summed:
//              n1·n2·P²·(in + O·out) — what a wide flat Dense needs (P = 1: the Gram matrices
//              are n1 x n2 and this is the usual (H H'ᵀ) ⊙ (G G'ᵀ)).
//   gradients  the per-example gradient of the layer, J_xo = a Σ_p g_xo(p) h_x(p)ᵀ (out x in),
//              then Θ = ⟨J_xo, J_yo'⟩ + c² ⟨Σ_p g_xo, Σ_p g_yo'⟩, one GEMM: n1·n2·O·out·in plus
//              (n1 + n2)·P·O·out·in to form them. For convolutions (in = |filter|·C small, P
//              large) this is far cheaper: Conv(256, (3, 3)) on 2 channels at 6 x 6 positions
//              costs 4.6k per pair against 355k by Gram. The gradients are formed in blocks
//              of examples (kGradientValues in memory), X2's blocks again for each block of X1.
#include <algorithm>

#include "mlp_program.hpp"

namespace ntkit::detail {
namespace {

using Index = Eigen::Index;
using ConstMap = Eigen::Map<const RowMatrixD>;

constexpr double kGradientValues = 1 << 24;  // 128 MiB of per-example gradients

// Adds a² (H1 H2ᵀ) + c² ⊙ (G1 G2ᵀ) for one position per example (flat rows).
void add_flat_term(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, Index n1, Index second, Index n2,
                   Index out_dim, bool full, WeightNtkScratch& scratch, RowMatrixD& ntk) {
  RowMatrixD& hh = scratch.hh;
  RowMatrixD& gg = scratch.gg;
  hh.resize(n1, n2);
  gg.resize(full ? n1 * out_dim : n1, full ? n2 * out_dim : n2);
  const Index n = h.rows();
  gemm(d.w_scale * d.w_scale, h.topRows(n1), false, h.middleRows(second, n2), true, 0.0, hh);
  if (d.b_offset >= 0) hh.array() += d.b_scale * d.b_scale;
  if (!full) {
    const ConstMap gt(g.data(), n, out_dim * d.out);  // G̃: the O cotangents of a row side by side
    gemm(1.0, gt.topRows(n1), false, gt.middleRows(second, n2), true, 0.0, gg);
    ntk.array() += hh.array() * gg.array();
    return;
  }
  gemm(1.0, g.topRows(n1 * out_dim), false, g.middleRows(second * out_dim, n2 * out_dim), true, 0.0, gg);
  for (Index i = 0; i < n1; ++i)
    for (Index o = 0; o < out_dim; ++o) {
      auto row = ntk.row(i * out_dim + o);
      const auto grow = gg.row(i * out_dim + o);
      for (Index j = 0; j < n2; ++j) row.segment(j * out_dim, out_dim) += hh(i, j) * grow.segment(j * out_dim, out_dim);
    }
}

// The Gram way with P positions, one example of X1 at a time (P x n2·P blocks in memory).
void add_gram_term(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, Index n1, Index second, Index n2,
                   Index out_dim, bool full, WeightNtkScratch& scratch, RowMatrixD& ntk) {
  const Index P = d.positions, O = out_dim, n = h.rows() / P;
  RowMatrixD& hh = scratch.hh;
  RowMatrixD& gg = scratch.gg;
  hh.resize(P, n2 * P);
  const auto h2 = h.middleRows(second * P, n2 * P);
  // Traced logits: row i·P + p of G̃ holds the O cotangents of (i, p) side by side.
  const ConstMap gt(g.data(), n * P, O * d.out);
  for (Index i = 0; i < n1; ++i) {
    gemm(d.w_scale * d.w_scale, h.middleRows(i * P, P), false, h2, true, 0.0, hh);
    if (d.b_offset >= 0) hh.array() += d.b_scale * d.b_scale;
    if (!full) {
      gg.resize(P, n2 * P);
      gemm(1.0, gt.middleRows(i * P, P), false, gt.middleRows(second * P, n2 * P), true, 0.0, gg);
      for (Index j = 0; j < n2; ++j) {
        ntk(i, j) += (hh.middleCols(j * P, P).array() * gg.middleCols(j * P, P).array()).sum();
      }
      continue;
    }
    gg.resize(P * O, n2 * P * O);
    gemm(1.0, g.middleRows(i * P * O, P * O), false, g.middleRows(second * P * O, n2 * P * O), true, 0.0, gg);
    for (Index j = 0; j < n2; ++j)
      for (Index p = 0; p < P; ++p)
        for (Index q = 0; q < P; ++q) {
          const double weight = hh(p, j * P + q);
          for (Index o = 0; o < O; ++o) {
            ntk.row(i * O + o).segment(j * O, O) += weight * gg.row(p * O + o).segment((j * P + q) * O, O);
          }
        }
  }
}

// Per-example gradients of examples [first, first + count): row i of `j` holds the (O·out) x in
// matrix a·G̃_iᵀ H_i row-major, and of `jb` the bias gradients c·Σ_p G̃_i(p) (O·out).
void per_example_gradients(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, Index first, Index count,
                           Index out_dim, RowMatrixD& j, RowMatrixD& jb) {
  const Index P = d.positions, width = out_dim * d.out;
  j.resize(count, width * d.in);
  if (d.b_offset >= 0) jb.resize(count, width);
  for (Index i = 0; i < count; ++i) {
    const ConstMap gi(g.data() + (first + i) * P * width, P, width);
    Eigen::Map<RowMatrixD> ji(j.row(i).data(), width, d.in);
    gemm(d.w_scale, gi, true, h.middleRows((first + i) * P, P), false, 0.0, ji);
    if (d.b_offset >= 0) jb.row(i) = d.b_scale * gi.colwise().sum();
  }
}

// Examples per block of per-example gradients: two blocks fit in kGradientValues.
Index gradient_block(const MlpNode& d, Index out_dim) {
  const double per_example = static_cast<double>(out_dim) * d.out * (d.in + 1);
  return std::max<Index>(1, static_cast<Index>(kGradientValues / 2 / per_example));
}

void add_gradient_term(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, Index n1, Index second, Index n2,
                       Index out_dim, bool full, WeightNtkScratch& scratch, RowMatrixD& ntk) {
  // Blocks of X1 against blocks of X2, so that memory stays bounded whatever n; a block of X2
  // is recomputed for every block of X1 (only when n1 exceeds one block).
  const Index block = gradient_block(d, out_dim), rows = full ? out_dim : 1;
  const bool symmetric = second == 0;  // K(X, X): the same examples on both sides
  RowMatrixD jb1, jb2;
  for (Index i0 = 0; i0 < n1; i0 += block) {
    const Index m1 = std::min(block, n1 - i0);
    per_example_gradients(d, h, g, i0, m1, out_dim, scratch.j1, jb1);
    for (Index j0 = 0; j0 < n2; j0 += block) {
      const Index m2 = std::min(block, n2 - j0);
      const bool same = symmetric && i0 == j0;
      if (!same) per_example_gradients(d, h, g, second + j0, m2, out_dim, scratch.j2, jb2);
      const RowMatrixD& j2 = same ? scratch.j1 : scratch.j2;
      const RowMatrixD& b2 = same ? jb1 : jb2;
      // Traced: one row per example (the logits side by side); full: one row per (example, logit).
      const ConstMap a1(scratch.j1.data(), m1 * rows, scratch.j1.size() / (m1 * rows));
      const ConstMap a2(j2.data(), m2 * rows, j2.size() / (m2 * rows));
      auto target = ntk.block(i0 * rows, j0 * rows, m1 * rows, m2 * rows);
      gemm(1.0, a1, false, a2, true, 1.0, target);
      if (d.b_offset >= 0) {
        const ConstMap c1(jb1.data(), m1 * rows, jb1.size() / (m1 * rows)), c2(b2.data(), m2 * rows, b2.size() / (m2 * rows));
        gemm(1.0, c1, false, c2, true, 1.0, target);
      }
    }
  }
}

}  // namespace

void add_weight_ntk_term(const MlpNode& d, const RowMatrixD& h, const RowMatrixD& g, Index n1, Index second, Index n2,
                         Index out_dim, bool full, WeightNtkScratch& scratch, RowMatrixD& ntk) {
  if (d.positions == 1) {
    add_flat_term(d, h, g, n1, second, n2, out_dim, full, scratch, ntk);
    return;
  }
  const double P = static_cast<double>(d.positions), O = static_cast<double>(out_dim);
  const double in = d.in, out = d.out, pairs = static_cast<double>(n1) * static_cast<double>(n2);
  const double logits = full ? O * O : O;
  const Index block = gradient_block(d, out_dim);
  const double formed = static_cast<double>(n1) + static_cast<double>((n1 + block - 1) / block) * static_cast<double>(n2);
  const double gram = pairs * P * P * (in + logits * out);
  const double gradients = pairs * logits * out * in + formed * P * O * out * in;
  if (gradients < gram) {
    add_gradient_term(d, h, g, n1, second, n2, out_dim, full, scratch, ntk);
  } else {
    add_gram_term(d, h, g, n1, second, n2, out_dim, full, scratch, ntk);
  }
}

}  // namespace ntkit::detail
