// Thin, typed wrappers over the few BLAS calls ntkit needs (row-major, OpenBLAS).
#pragma once

#include <cstddef>

#include "ntkit/types.hpp"

namespace ntkit::detail {

/// out = a · bᵀ   (a: n1 x d, b: n2 x d, out: n1 x n2, resized).
template <class T>
void gemm_abt(MatrixView<T> a, MatrixView<T> b, RowMatrix<T>& out);

/// The upper triangle (j >= i) of out = a · aᵀ (a: n x d, out: n x n, resized). The strict
/// lower triangle is left unspecified.
template <class T>
void syrk_upper(MatrixView<T> a, RowMatrix<T>& out);

/// The same products into part of a larger row-major matrix: out points at its first element
/// to write, ld is its row stride (>= the number of columns written).
template <class T>
void gemm_abt_into(MatrixView<T> a, MatrixView<T> b, T* out, Eigen::Index ld);
template <class T>
void syrk_upper_into(MatrixView<T> a, T* out, Eigen::Index ld);

/// c = alpha · op(a) · op(b) + beta · c, row-major (op: transpose when asked); m x n result,
/// inner dimension k; lda/ldb/ldc are row strides. Bit-identical for any thread count (output
/// tiles, each one single-threaded BLAS call), sizes checked against BLAS's 32-bit ints.
template <class T>
void gemm_rowmajor(bool transpose_a, bool transpose_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a,
                   Eigen::Index lda, const T* b, Eigen::Index ldb, T beta, T* c, Eigen::Index ldc);
/// For the rows [row_begin, row_end) of an n x n row-major matrix m (row stride ld) whose
/// upper triangle (j > i) is filled: copies m(i, j) to m(j, i), i.e. fills the part of the
/// strict lower triangle that mirrors those rows, in cache blocks over all cores. Called with
/// [0, n) it completes what syrk_upper and the one-triangle kernel maps leave.
template <class T>
void mirror_rows_to_lower(T* m, Eigen::Index ld, Eigen::Index n, Eigen::Index row_begin, Eigen::Index row_end);
void mirror_upper_to_lower(RowMatrix<double>& m);  // the whole matrix

/// OpenBLAS single-threaded for the lifetime of the guard (its previous thread count restored
/// afterwards): for BLAS/LAPACK calls made from inside OpenMP parallel work, where OpenBLAS's
/// own threads would oversubscribe the cores.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_;
};

/// Asks for transparent huge pages on a fresh, large output buffer before it is first written
/// (fewer page faults and TLB misses); advisory, failures change nothing but speed.
void advise_huge_pages_for(void* data, std::size_t bytes);

}  // namespace ntkit::detail
