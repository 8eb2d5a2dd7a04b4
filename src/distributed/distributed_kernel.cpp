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

}  // namespace

std::vector<DistributedMatrix> compute_kernels(const ProcessGrid& grid, int block, MatrixView<double> x1,
                                               const MatrixView<double>* x2, int count, const BlockKernels& kernels,
                                               const std::function<void(double)>& progress) {
  const bool symmetric = x2 == nullptr;
  const MatrixView<double>& columns_source = symmetric ? x1 : *x2;
  std::vector<DistributedMatrix> out;
  for (int k = 0; k < count; ++k) out.emplace_back(grid, x1.rows(), columns_source.rows(), block);
  on_every_rank([&] {
    DistributedMatrix& first = out.front();
    // The inputs of this rank's columns, in local order.
    RowMatrixD columns(first.local_cols(), columns_source.cols());
    for (Eigen::Index j = 0; j < first.local_cols(); ++j) columns.row(j) = columns_source.row(first.global_col(j));
    // The work of each block row, for the progress fraction: its columns on or after the diagonal.
    double total = 0, done = 0;
    for (Eigen::Index row = 0; row < first.local_rows(); row += block) {
      const Eigen::Index start = symmetric ? first.local_cols_before(first.global_row(row)) : 0;
      total += static_cast<double>(std::min<Eigen::Index>(block, first.local_rows() - row) * (first.local_cols() - start));
    }
    for (Eigen::Index row = 0; row < first.local_rows(); row += block) {
      const Eigen::Index rows = std::min<Eigen::Index>(block, first.local_rows() - row);
      const Eigen::Index global_row = first.global_row(row);  // the block's rows are contiguous globally
      const MatrixView<double> x_rows = x1.middleRows(global_row, rows);
      Eigen::Index col = symmetric ? first.local_cols_before(global_row) : 0;
      if (symmetric && col < first.local_cols() && first.global_col(col) == global_row) {
        // The diagonal block, as the library's symmetric kernel (the same rounding on the
        // diagonal as a one-process run: e.g. exactly ρ = 1 there).
        store(out, kernels(x_rows, nullptr), row, col);
        col += rows;
      }
      if (col < first.local_cols()) {
        const MatrixView<double> x_cols = columns.middleRows(col, first.local_cols() - col);
        store(out, kernels(x_rows, &x_cols), row, col);
      }
      done += static_cast<double>(rows * (first.local_cols() - (symmetric ? first.local_cols_before(global_row) : 0)));
      if (progress && total > 0) progress(done / total);
    }
  });
  if (symmetric)
    for (DistributedMatrix& k : out) fill_lower_from_upper(k);
  if (progress) progress(1.0);
  return out;
}

}  // namespace ntkit::distributed
