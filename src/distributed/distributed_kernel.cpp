#include "distributed_kernel.hpp"

#include <string>

#include "distributed_linear_algebra.hpp"
#include "mpi_session.hpp"
#include "ntkit/error.hpp"

namespace ntkit::distributed {
namespace {

// Writes the block function's results into local rows [row, row + rows) and local columns from
// `col` on.
void store(std::vector<DistributedMatrix>& out, const std::vector<RowMatrixD>& parts, Eigen::Index row, Eigen::Index col) {
  if (parts.size() != out.size()) throw Error("internal: the block function returned the wrong number of kernels");
  for (std::size_t k = 0; k < out.size(); ++k)
    for (Eigen::Index j = 0; j < parts[k].cols(); ++j)
      for (Eigen::Index i = 0; i < parts[k].rows(); ++i) out[k].local(row + i, col + j) = parts[k](i, j);
}

// K(X, X) computes one block of each mirrored pair {(I, J), (J, I)} of its B x B blocks: (I, J)
// when J - I (mod B) is below B / 2 (at exactly B / 2, the upper one). Then every block row
// and every block column holds B / 2 computed blocks (a round-robin tournament), so the ranks'
// shares differ only as much as the layout's own rows and columns per rank do. Computing the
// upper triangle instead gives block column J its J + 1 blocks: with B = 8 on a 1 x 2 grid the
// two ranks got 14 and 18 blocks' work, with this rule 16 and 16 (B = 16 on 2 x 3: 1.20 and
// 1.15 times the mean at most).
bool computes_block(Eigen::Index block_row, Eigen::Index block_col, Eigen::Index blocks) {
  const Eigen::Index distance = ((block_col - block_row) % blocks + blocks) % blocks;
  return 2 * distance < blocks || (2 * distance == blocks && block_row < block_col);
}

}  // namespace

std::vector<DistributedMatrix> compute_kernels(const ProcessGrid& grid, int block, MatrixView<double> x1,
                                               const MatrixView<double>* x2, int count, const BlockKernels& kernels,
                                               const std::function<void(double)>& progress) {
  const bool symmetric = x2 == nullptr;
  const MatrixView<double>& columns_source = symmetric ? x1 : *x2;
  std::vector<DistributedMatrix> out;
  for (int k = 0; k < count; ++k) out.emplace_back(grid, x1.rows(), columns_source.rows(), block);
  on_every_rank([&] {
    const DistributedMatrix& layout = out.front();
    // Per block row of this rank: the local columns it computes as a cross kernel, and whether
    // it holds the diagonal block (computed as the library's symmetric kernel, so that the
    // diagonal sees exactly the arithmetic of a one-process run, e.g. ρ = 1).
    struct RowBlock {
      Eigen::Index row = 0, rows = 0, diagonal_col = -1;
      std::vector<Eigen::Index> cols;
    };
    std::vector<RowBlock> plan;
    const Eigen::Index blocks = (x1.rows() + block - 1) / block;
    double total = 0;
    for (Eigen::Index row = 0; row < layout.local_rows(); row += block) {
      RowBlock b;
      b.row = row;
      b.rows = std::min<Eigen::Index>(block, layout.local_rows() - row);
      const Eigen::Index block_row = layout.global_row(row) / block;
      for (Eigen::Index j = 0; j < layout.local_cols(); ++j) {
        const Eigen::Index block_col = layout.global_col(j) / block;
        if (!symmetric) b.cols.push_back(j);
        else if (block_col == block_row) b.diagonal_col = b.diagonal_col < 0 ? j : b.diagonal_col;
        else if (computes_block(block_row, block_col, blocks)) b.cols.push_back(j);
      }
      total += static_cast<double>(b.rows) *
               (static_cast<double>(b.cols.size()) + (b.diagonal_col >= 0 ? static_cast<double>(b.rows) / 2 : 0.0));
      plan.push_back(std::move(b));
    }
    double done = 0;
    RowMatrixD columns;
    for (const RowBlock& b : plan) {
      const MatrixView<double> x_rows = x1.middleRows(layout.global_row(b.row), b.rows);  // contiguous globally
      if (b.diagonal_col >= 0) store(out, kernels(x_rows, nullptr), b.row, b.diagonal_col);
      if (!b.cols.empty()) {
        columns.resize(static_cast<Eigen::Index>(b.cols.size()), columns_source.cols());
        for (std::size_t c = 0; c < b.cols.size(); ++c)
          columns.row(static_cast<Eigen::Index>(c)) = columns_source.row(layout.global_col(b.cols[c]));
        const MatrixView<double> x_cols(columns);
        const std::vector<RowMatrixD> parts = kernels(x_rows, &x_cols);
        if (parts.size() != out.size()) throw Error("internal: the block function returned the wrong number of kernels");
        for (std::size_t k = 0; k < out.size(); ++k)
          for (std::size_t c = 0; c < b.cols.size(); ++c)
            for (Eigen::Index i = 0; i < b.rows; ++i)
              out[k].local(b.row + i, b.cols[c]) = parts[k](i, static_cast<Eigen::Index>(c));
      }
      done += static_cast<double>(b.rows) *
              (static_cast<double>(b.cols.size()) + (b.diagonal_col >= 0 ? static_cast<double>(b.rows) / 2 : 0.0));
      if (progress && total > 0) progress(done / total);
    }
  });
  if (symmetric)
    for (DistributedMatrix& k : out) mirror_off_diagonal_blocks(k);
  if (progress) progress(1.0);
  return out;
}

}  // namespace ntkit::distributed
