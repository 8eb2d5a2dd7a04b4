// Dense linear algebra on distributed matrices through ScaLAPACK (private): products,
// transposes, Cholesky and symmetric eigendecomposition. Every function is collective: all
// ranks call it with matrices on the same grid and block size.
#pragma once

#include <string>

#include "distributed_matrix.hpp"

namespace ntkit::distributed {

/// C := alpha op(A) op(B) + beta C (op: 'N' or 'T').
void gemm(char trans_a, char trans_b, double alpha, const DistributedMatrix& a, const DistributedMatrix& b, double beta,
          DistributedMatrix& c);
/// op(A) op(B), a new matrix.
DistributedMatrix product(char trans_a, const DistributedMatrix& a, char trans_b, const DistributedMatrix& b);
/// Aᵀ, a new matrix.
DistributedMatrix transposed(const DistributedMatrix& a);
/// A square matrix of which, for every pair of distinct block indices I, J, exactly one of the
/// blocks (I, J) and (J, I) was filled (the other left zero), and every diagonal block was
/// filled whole and symmetric, becomes the whole symmetric matrix: each missing block is the
/// exact transpose of its mirror (A + Sᵀ, S = A without its diagonal blocks).
void mirror_off_diagonal_blocks(DistributedMatrix& a);
/// (A + Aᵀ) / 2, in place (rounding leaves covariances a few ulps from symmetric).
void symmetrize(DistributedMatrix& a);

/// Adds `shift` to the diagonal; the trace and the largest |entry| of the whole matrix.
void add_to_diagonal(DistributedMatrix& a, double shift);
double trace(const DistributedMatrix& a);
double max_abs(const DistributedMatrix& a);
bool all_finite(const DistributedMatrix& a);
/// Multiplies column j by w[j] (w: one entry per global column), or row i by w[i].
void scale_columns(DistributedMatrix& a, const VectorD& w);
void scale_rows(DistributedMatrix& a, const VectorD& w);
/// a := alpha a + beta b (same shape and layout).
void combine(double alpha, DistributedMatrix& a, double beta, const DistributedMatrix& b);

/// Errors of the collective functions below (ScaLAPACK's info is the same on every rank) are
/// AgreedErrors.

/// The Cholesky factor of a symmetric positive definite matrix (its upper triangle is read):
/// A = Uᵀ U. Throws Error "<who>: <what> is not positive definite ...; <fix>" otherwise, on
/// every rank (ScaLAPACK's info is global).
class DistributedCholesky {
 public:
  DistributedCholesky(DistributedMatrix a, const std::string& who, const std::string& what, const std::string& fix);
  /// A⁻¹ B.
  DistributedMatrix solve(const DistributedMatrix& b) const;

 private:
  DistributedMatrix factor_;
};

/// Eigenvalues (ascending, the same on every rank) and eigenvectors (columns) of a symmetric
/// matrix whose upper triangle is read.
struct DistributedEigen {
  VectorD values;
  DistributedMatrix vectors;
};
DistributedEigen eigendecompose(DistributedMatrix a, const std::string& who);

}  // namespace ntkit::distributed
