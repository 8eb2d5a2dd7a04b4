#include "cholesky.hpp"

#include "blas_api.hpp"

#include <climits>
#include <sstream>

#include "ntkit/error.hpp"

namespace ntkit::detail {

Cholesky::Cholesky(MatrixView<double> k, double shift, const std::string& who, const std::string& what,
                   const std::string& fix)
    : l_(k) {
  const Eigen::Index n = k.rows();
  if (k.cols() != n) throw Error(who + ": " + what + " must be square");
  if (n > INT_MAX) throw Error(who + ": n = " + std::to_string(n) + " is too large for LAPACK");
  if (shift != 0) l_.diagonal().array() += shift;
  const auto ni = static_cast<lapack_int>(n);
  // The row-major lower factor L (K = L Lᵀ) is the column-major upper one: asking LAPACK for
  // that avoids LAPACKE's transposing copies of the n x n matrix (128 MB each way at n = 4096).
  const lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', ni, l_.data(), ni);
  if (info > 0) {
    std::ostringstream msg;
    msg << who << ": " << what << " is not positive definite (Cholesky failed at leading minor " << info << " of " << n
        << "): the kernel matrix is singular or indefinite, e.g. from duplicated inputs; " << fix;
    throw Error(msg.str());
  }
  if (info < 0) throw Error(who + ": LAPACK dpotrf rejected argument " + std::to_string(-info));
}

RowMatrixD Cholesky::solve(MatrixView<double> r) const {
  if (r.rows() != l_.rows()) {
    throw Error("Cholesky::solve: the right-hand side has " + std::to_string(r.rows()) + " rows, expected " +
                std::to_string(l_.rows()));
  }
  RowMatrixD x = r;
  if (x.cols() == 0 || x.rows() == 0) return x;
  // L Lᵀ X = R by two triangular solves in row-major BLAS (no transposed copies of R).
  const auto ni = static_cast<int>(l_.rows()), nrhs = static_cast<int>(x.cols());
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, ni, nrhs, 1.0, l_.data(), ni, x.data(), nrhs);
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, ni, nrhs, 1.0, l_.data(), ni, x.data(), nrhs);
  return x;
}

}  // namespace ntkit::detail
