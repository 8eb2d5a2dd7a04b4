#include "distributed_matrix.hpp"

#include <mpi.h>

#include <cmath>
#include <limits>
#include <string>

#include "mpi_session.hpp"
#include "ntkit/error.hpp"
#include "scalapack_api.hpp"

namespace ntkit::distributed {
namespace {

int checked_int(Eigen::Index value, const char* what) {
  if (value > std::numeric_limits<int>::max())
    throw Error(std::string(what) + " " + std::to_string(value) + " exceeds ScaLAPACK's 32-bit indices");
  return static_cast<int>(value);
}

}  // namespace

std::pair<int, int> grid_shape(int ranks) {
  int rows = static_cast<int>(std::sqrt(static_cast<double>(ranks)));
  while (rows > 1 && ranks % rows != 0) --rows;
  return {std::max(rows, 1), ranks / std::max(rows, 1)};
}

ProcessGrid::ProcessGrid() {
  const auto [r, c] = grid_shape(size());
  Cblacs_get(-1, 0, &context_);  // the default system context: MPI_COMM_WORLD
  Cblacs_gridinit(&context_, "Row", r, c);
  Cblacs_gridinfo(context_, &rows_, &cols_, &my_row_, &my_col_);
}

ProcessGrid::~ProcessGrid() {
  if (context_ >= 0 && active()) Cblacs_gridexit(context_);
}

Eigen::Index owned_count(Eigen::Index n, int block, int position, int processes) {
  const Eigen::Index blocks = n / block, whole = blocks / processes;
  Eigen::Index count = whole * block;
  const Eigen::Index extra = blocks % processes;  // the positions below it own one more whole block
  if (position < extra) count += block;
  else if (position == extra) count += n % block;  // the ragged last block
  return count;
}

Eigen::Index global_index(Eigen::Index local, int block, int position, int processes) {
  return ((local / block) * processes + position) * block + local % block;
}

DistributedMatrix::DistributedMatrix(const ProcessGrid& grid, Eigen::Index rows, Eigen::Index cols, int block)
    : grid_(&grid), rows_(rows), cols_(cols), block_(block) {
  if (block < 1) throw Error("the block size must be >= 1, got " + std::to_string(block));
  local_rows_ = owned_count(rows, block, grid.my_row(), grid.rows());
  local_cols_ = owned_count(cols, block, grid.my_col(), grid.cols());
  values_.assign(static_cast<std::size_t>(ld()) * static_cast<std::size_t>(local_cols_), 0.0);
  const int m = checked_int(rows, "rows"), n = checked_int(cols, "columns"), zero = 0, context = grid.context();
  const int lld = ld();
  int info = 0;
  descinit_(desc_.data(), &m, &n, &block, &block, &zero, &zero, &context, &lld, &info);
  if (info != 0) throw Error("ScaLAPACK descinit failed (info " + std::to_string(info) + ")");
}

DistributedMatrix DistributedMatrix::from_replicated(const ProcessGrid& grid, MatrixView<double> m, int block) {
  DistributedMatrix d(grid, m.rows(), m.cols(), block);
  for (Eigen::Index j = 0; j < d.local_cols_; ++j) {
    const Eigen::Index gj = d.global_col(j);
    for (Eigen::Index i = 0; i < d.local_rows_; ++i) d.local(i, j) = m(d.global_row(i), gj);
  }
  return d;
}

Eigen::Index DistributedMatrix::global_row(Eigen::Index i) const {
  return global_index(i, block_, grid_->my_row(), grid_->rows());
}
Eigen::Index DistributedMatrix::global_col(Eigen::Index j) const {
  return global_index(j, block_, grid_->my_col(), grid_->cols());
}
RowMatrixD DistributedMatrix::gather_to_root() const {
  const int me = rank(), world = size();
  const int tag = 7001;
  if (me != 0) {
    const auto count = static_cast<int>(values_.size());
    MPI_Send(values_.data(), count, MPI_DOUBLE, 0, tag, MPI_COMM_WORLD);
    return {};
  }
  RowMatrixD out(rows_, cols_);
  std::vector<double> received;
  for (int source = 0; source < world; ++source) {
    // Row-major grid: rank = row · Pc + col.
    const int prow = source / grid_->cols(), pcol = source % grid_->cols();
    const Eigen::Index lr = owned_count(rows_, block_, prow, grid_->rows());
    const Eigen::Index lc = owned_count(cols_, block_, pcol, grid_->cols());
    const Eigen::Index lld = std::max<Eigen::Index>(1, lr);
    const double* part = values_.data();
    if (source != 0) {
      received.resize(static_cast<std::size_t>(lld * lc));
      MPI_Recv(received.data(), static_cast<int>(received.size()), MPI_DOUBLE, source, tag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      part = received.data();
    }
    for (Eigen::Index j = 0; j < lc; ++j) {
      const Eigen::Index gj = global_index(j, block_, pcol, grid_->cols());
      for (Eigen::Index i = 0; i < lr; ++i) out(global_index(i, block_, prow, grid_->rows()), gj) = part[i + j * lld];
    }
  }
  return out;
}

RowMatrixD DistributedMatrix::replicate() const {
  RowMatrixD out = gather_to_root();
  if (rank() != 0) out.resize(rows_, cols_);
  if (out.size() > 0) MPI_Bcast(out.data(), static_cast<int>(out.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return out;
}

}  // namespace ntkit::distributed
