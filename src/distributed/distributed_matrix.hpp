// A matrix spread over the ranks in ScaLAPACK's 2-D block-cyclic layout (private).
//
// The P ranks form a near-square process grid of Pr x Pc (Pr <= Pc; row-major: rank =
// row·Pc + col). Square blocks of `block` x `block` entries are dealt out cyclically: block
// (I, J) lives on grid position (I mod Pr, J mod Pc). Each rank stores its blocks as one
// column-major local matrix, whose rows are the global rows of its block rows in increasing
// order (and likewise for columns) — so a rank's local matrix is exactly the submatrix
// K(rows it owns, columns it owns), which is how kernels are computed into it.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "ntkit/types.hpp"

namespace ntkit::distributed {

/// The BLACS process grid over MPI_COMM_WORLD (collective to create and destroy).
class ProcessGrid {
 public:
  ProcessGrid();
  ~ProcessGrid();
  ProcessGrid(const ProcessGrid&) = delete;
  ProcessGrid& operator=(const ProcessGrid&) = delete;

  int context() const { return context_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int my_row() const { return my_row_; }
  int my_col() const { return my_col_; }

 private:
  int context_ = -1, rows_ = 1, cols_ = 1, my_row_ = 0, my_col_ = 0;
};

/// The near-square factorization Pr x Pc of `ranks` with Pr <= Pc (e.g. 4: 2 x 2, 6: 2 x 3).
std::pair<int, int> grid_shape(int ranks);
/// How many of `n` indices a process `position` of `processes` owns with blocks of `block`
/// (ScaLAPACK's NUMROC, 0-based, first block on position 0).
Eigen::Index owned_count(Eigen::Index n, int block, int position, int processes);
/// The global index of a process's local index `local`.
Eigen::Index global_index(Eigen::Index local, int block, int position, int processes);

class DistributedMatrix {
 public:
  DistributedMatrix() = default;
  /// rows x cols, zero-filled (this rank's part).
  DistributedMatrix(const ProcessGrid& grid, Eigen::Index rows, Eigen::Index cols, int block);
  /// From a matrix every rank holds: each keeps its own blocks (no communication).
  static DistributedMatrix from_replicated(const ProcessGrid& grid, MatrixView<double> m, int block);

  Eigen::Index rows() const { return rows_; }
  Eigen::Index cols() const { return cols_; }
  int block() const { return block_; }
  const ProcessGrid& grid() const { return *grid_; }

  /// This rank's part, column-major, local_rows() x local_cols() with leading dimension ld().
  Eigen::Index local_rows() const { return local_rows_; }
  Eigen::Index local_cols() const { return local_cols_; }
  int ld() const { return static_cast<int>(std::max<Eigen::Index>(1, local_rows_)); }
  double* data() { return values_.data(); }
  const double* data() const { return values_.data(); }
  double& local(Eigen::Index i, Eigen::Index j) { return values_[static_cast<std::size_t>(i + j * ld())]; }
  double local(Eigen::Index i, Eigen::Index j) const { return values_[static_cast<std::size_t>(i + j * ld())]; }
  /// Global row / column of a local one.
  Eigen::Index global_row(Eigen::Index i) const;
  Eigen::Index global_col(Eigen::Index j) const;
  /// ScaLAPACK's array descriptor.
  const int* desc() const { return desc_.data(); }

  /// The whole matrix on rank 0 (empty on the others); collective.
  RowMatrixD gather_to_root() const;
  /// The whole matrix on every rank; collective (for small matrices: n x o outputs).
  RowMatrixD replicate() const;

 private:
  const ProcessGrid* grid_ = nullptr;
  Eigen::Index rows_ = 0, cols_ = 0, local_rows_ = 0, local_cols_ = 0;
  int block_ = 1;
  std::vector<double> values_;
  std::vector<int> desc_ = std::vector<int>(9, 0);
};

}  // namespace ntkit::distributed
