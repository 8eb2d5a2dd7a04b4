#include "distributed_linear_algebra.hpp"

#include <mpi.h>

#include <cmath>
#include <limits>
#include <vector>

#include "mpi_session.hpp"
#include "ntkit/error.hpp"
#include "scalapack_api.hpp"

namespace ntkit::distributed {
namespace {

const int kOne = 1;

int as_int(Eigen::Index value) { return static_cast<int>(value); }

void require_same_layout(const DistributedMatrix& a, const DistributedMatrix& b, const char* who) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.block() != b.block())
    throw Error(std::string(who) + ": matrices of different shapes or blocks");
}

}  // namespace

void gemm(char trans_a, char trans_b, double alpha, const DistributedMatrix& a, const DistributedMatrix& b, double beta,
          DistributedMatrix& c) {
  const int m = as_int(c.rows()), n = as_int(c.cols());
  const int k = as_int(trans_a == 'N' ? a.cols() : a.rows());
  if (m == 0 || n == 0) return;
  if (k == 0) {
    combine(beta, c, 0.0, c);
    return;
  }
  pdgemm_(&trans_a, &trans_b, &m, &n, &k, &alpha, a.data(), &kOne, &kOne, a.desc(), b.data(), &kOne, &kOne, b.desc(), &beta,
          c.data(), &kOne, &kOne, c.desc());
}

DistributedMatrix product(char trans_a, const DistributedMatrix& a, char trans_b, const DistributedMatrix& b) {
  DistributedMatrix c(a.grid(), trans_a == 'N' ? a.rows() : a.cols(), trans_b == 'N' ? b.cols() : b.rows(), a.block());
  gemm(trans_a, trans_b, 1.0, a, b, 0.0, c);
  return c;
}

DistributedMatrix transposed(const DistributedMatrix& a) {
  DistributedMatrix t(a.grid(), a.cols(), a.rows(), a.block());
  // PDTRAN's M x N is the shape of its result C (A is N x M).
  const int m = as_int(a.cols()), n = as_int(a.rows());
  const double one = 1.0, zero = 0.0;
  if (m > 0 && n > 0) pdtran_(&m, &n, &one, a.data(), &kOne, &kOne, a.desc(), &zero, t.data(), &kOne, &kOne, t.desc());
  return t;
}

void mirror_off_diagonal_blocks(DistributedMatrix& a) {
  DistributedMatrix strict = a;  // S: A without its diagonal blocks
  const int block = a.block();
  for (Eigen::Index j = 0; j < a.local_cols(); ++j) {
    const Eigen::Index block_col = a.global_col(j) / block;
    for (Eigen::Index i = 0; i < a.local_rows(); ++i)
      if (a.global_row(i) / block == block_col) strict.local(i, j) = 0.0;
  }
  // A + Sᵀ: a missing block (zero) receives its mirror exactly (0 + s), a filled one adds 0.
  const int n = as_int(a.rows());
  const double one = 1.0;
  if (n > 0) pdtran_(&n, &n, &one, strict.data(), &kOne, &kOne, strict.desc(), &one, a.data(), &kOne, &kOne, a.desc());
}

void symmetrize(DistributedMatrix& a) {
  const DistributedMatrix copy = a;
  const int n = as_int(a.rows());
  const double half = 0.5;
  if (n > 0) pdtran_(&n, &n, &half, copy.data(), &kOne, &kOne, copy.desc(), &half, a.data(), &kOne, &kOne, a.desc());
}

void add_to_diagonal(DistributedMatrix& a, double shift) {
  for (Eigen::Index j = 0; j < a.local_cols(); ++j) {
    const Eigen::Index gj = a.global_col(j);
    for (Eigen::Index i = 0; i < a.local_rows(); ++i)
      if (a.global_row(i) == gj) a.local(i, j) += shift;
  }
}

double trace(const DistributedMatrix& a) {
  // Each diagonal entry lives on one rank; the sum is taken in global order on rank 0 so that
  // it does not depend on the grid (the same rounding as a serial sum).
  std::vector<double> diagonal(static_cast<std::size_t>(std::min(a.rows(), a.cols())), 0.0);
  for (Eigen::Index j = 0; j < a.local_cols(); ++j) {
    const Eigen::Index gj = a.global_col(j);
    for (Eigen::Index i = 0; i < a.local_rows(); ++i)
      if (a.global_row(i) == gj) diagonal[static_cast<std::size_t>(gj)] = a.local(i, j);
  }
  MPI_Allreduce(MPI_IN_PLACE, diagonal.data(), static_cast<int>(diagonal.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  double sum = 0.0;
  for (const double d : diagonal) sum += d;
  return sum;
}

double max_abs(const DistributedMatrix& a) {
  double top = 0.0;
  for (Eigen::Index j = 0; j < a.local_cols(); ++j)
    for (Eigen::Index i = 0; i < a.local_rows(); ++i) top = std::max(top, std::abs(a.local(i, j)));
  MPI_Allreduce(MPI_IN_PLACE, &top, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return top;
}

bool all_finite(const DistributedMatrix& a) {
  int finite = 1;
  for (Eigen::Index j = 0; j < a.local_cols() && finite; ++j)
    for (Eigen::Index i = 0; i < a.local_rows(); ++i)
      if (!std::isfinite(a.local(i, j))) finite = 0;
  MPI_Allreduce(MPI_IN_PLACE, &finite, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return finite != 0;
}

void scale_columns(DistributedMatrix& a, const VectorD& w) {
  for (Eigen::Index j = 0; j < a.local_cols(); ++j) {
    const double s = w[a.global_col(j)];
    for (Eigen::Index i = 0; i < a.local_rows(); ++i) a.local(i, j) *= s;
  }
}

void scale_rows(DistributedMatrix& a, const VectorD& w) {
  for (Eigen::Index j = 0; j < a.local_cols(); ++j)
    for (Eigen::Index i = 0; i < a.local_rows(); ++i) a.local(i, j) *= w[a.global_row(i)];
}

void combine(double alpha, DistributedMatrix& a, double beta, const DistributedMatrix& b) {
  require_same_layout(a, b, "combine");
  for (Eigen::Index j = 0; j < a.local_cols(); ++j)
    for (Eigen::Index i = 0; i < a.local_rows(); ++i) a.local(i, j) = alpha * a.local(i, j) + beta * b.local(i, j);
}

DistributedCholesky::DistributedCholesky(DistributedMatrix a, const std::string& who, const std::string& what,
                                         const std::string& fix)
    : factor_(std::move(a)) {
  const int n = as_int(factor_.rows());
  int info = 0;
  const char uplo = 'U';
  if (n > 0) pdpotrf_(&uplo, &n, factor_.data(), &kOne, &kOne, factor_.desc(), &info);
  if (info > 0)
    throw AgreedError(who + ": " + what + " is not positive definite (ScaLAPACK pdpotrf stopped at column " +
                      std::to_string(info) + "); " + fix);
  if (info < 0) throw AgreedError(who + ": ScaLAPACK pdpotrf rejected argument " + std::to_string(-info));
}

DistributedMatrix DistributedCholesky::solve(const DistributedMatrix& b) const {
  DistributedMatrix x = b;
  const int n = as_int(factor_.rows()), rhs = as_int(b.cols());
  int info = 0;
  const char uplo = 'U';
  if (n > 0 && rhs > 0)
    pdpotrs_(&uplo, &n, &rhs, factor_.data(), &kOne, &kOne, factor_.desc(), x.data(), &kOne, &kOne, x.desc(), &info);
  if (info != 0) throw AgreedError("ScaLAPACK pdpotrs failed (info " + std::to_string(info) + ")");
  return x;
}

DistributedEigen eigendecompose(DistributedMatrix a, const std::string& who) {
  const int n = as_int(a.rows());
  DistributedEigen out{VectorD(n), DistributedMatrix(a.grid(), a.rows(), a.cols(), a.block())};
  const char jobz = 'V', uplo = 'U';
  int info = 0, lwork = -1, liwork = -1;
  double work_size = 0;
  int iwork_size = 0;
  // Workspace query, then the decomposition.
  pdsyevd_(&jobz, &uplo, &n, a.data(), &kOne, &kOne, a.desc(), out.values.data(), out.vectors.data(), &kOne, &kOne,
           out.vectors.desc(), &work_size, &lwork, &iwork_size, &liwork, &info);
  if (info != 0) throw AgreedError(who + ": ScaLAPACK pdsyevd workspace query failed (info " + std::to_string(info) + ")");
  // The query's answer is too small when the matrix has fewer rows than a block or two (n =
  // 150 with blocks of 128: PDORMTR, called inside, rejected its workspace, printed so and the
  // eigenvectors came out wrong on one rank, a hang on two). So also take the documented
  // minimum, plus PDORMTR's own need, (rows + columns + block) x block + block².
  const int nb = a.block(), np = static_cast<int>(a.local_rows()), nq = static_cast<int>(a.local_cols());
  const long documented = 1 + 6L * n + 2L * np * nq + 3L * n + std::max(1L * nb * (np + 1), 3L * nb) + 2L * n;
  const long ormtr = (1L * np + nq + nb) * nb + 1L * nb * nb;
  const long words = std::max(static_cast<long>(work_size), documented) + ormtr;
  if (words > std::numeric_limits<int>::max())
    throw AgreedError(who + ": ScaLAPACK pdsyevd needs more workspace than a 32-bit count; use more ranks");
  lwork = static_cast<int>(words);
  liwork = std::max(iwork_size, 7 * n + 8 * a.grid().cols() + 2);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  pdsyevd_(&jobz, &uplo, &n, a.data(), &kOne, &kOne, a.desc(), out.values.data(), out.vectors.data(), &kOne, &kOne,
           out.vectors.desc(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0) throw AgreedError(who + ": ScaLAPACK pdsyevd failed to converge (info " + std::to_string(info) + ")");
  return out;
}

}  // namespace ntkit::distributed
