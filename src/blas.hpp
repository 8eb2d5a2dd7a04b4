// Thin, typed wrappers over the few BLAS calls ntkit needs (row-major, OpenBLAS).
#pragma once

#include "ntkit/types.hpp"

namespace ntkit::detail {

/// out = a · bᵀ   (a: n1 x d, b: n2 x d, out: n1 x n2, resized).
template <class T>
void gemm_abt(MatrixView<T> a, MatrixView<T> b, RowMatrix<T>& out);

/// The upper triangle (j >= i) of out = a · aᵀ (a: n x d, out: n x n, resized). The strict
/// lower triangle is left unspecified.
template <class T>
void syrk_upper(MatrixView<T> a, RowMatrix<T>& out);

/// Copies the upper triangle of a square matrix into its strict lower triangle (completes
/// what syrk_upper and the one-triangle kernel maps leave), in cache blocks over all cores.
void mirror_upper_to_lower(RowMatrix<double>& m);

/// Makes OpenBLAS use as many threads as OpenMP would (omp_get_max_threads), so the BLAS and
/// OpenMP phases of a computation use the same cores. Idempotent and cheap.
void sync_blas_threads();

}  // namespace ntkit::detail
