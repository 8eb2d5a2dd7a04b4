#include "blas.hpp"

#include "blas_api.hpp"
#include <omp.h>

#include <sys/mman.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {

// BLAS takes int (LP64) sizes; refuse anything that would not fit rather than wrap around.
int blas_int(Eigen::Index value, const char* what) {
  if (value > INT_MAX) throw Error(std::string("BLAS: ") + what + " is too large for 32-bit BLAS");
  return static_cast<int>(value);
}

// Eigen::Ref may point at a matrix whose row stride exceeds its column count (a block);
// BLAS needs the leading dimension, which is the outer stride, at least 1.
template <class T>
int leading_dim(const MatrixView<T>& m) {
  return blas_int(std::max<Eigen::Index>(m.outerStride(), 1), "leading dimension");
}

// Output matrices of kernels are large (128 MiB for n = 4096 in float64) and written once:
// with 4 KiB pages that is 32768 page faults and as many TLB entries. This machine's
// transparent huge pages are in 'madvise' mode, so ask for them on the fresh buffer before
// BLAS first touches it. Advisory only: failure changes nothing but speed.
void advise_huge_pages(void* data, std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes < 4 * kHuge) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

template <class T>
void resize_output(RowMatrix<T>& out, Eigen::Index rows, Eigen::Index cols) {
  if (out.rows() == rows && out.cols() == cols) return;
  out.resize(rows, cols);
  advise_huge_pages(out.data(), static_cast<std::size_t>(out.size()) * sizeof(T));
}

// BLAS through cblas for both types.
void call_gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
               double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}
void call_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
               float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}
void call_syrk(int n, int k, double alpha, const double* a, int lda, double* c, int ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, alpha, a, lda, 0.0, c, ldc);
}
void call_syrk(int n, int k, float alpha, const float* a, int lda, float* c, int ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, alpha, a, lda, 0.0f, c, ldc);
}

// Tiles of the output, each computed by one single-threaded BLAS call; the tiles are shared out
// over the OpenMP threads. OpenBLAS's own threading splits a product differently for 1 and 2
// threads, and the split decides which micro-kernel (and so which rounding) computes an entry:
// a kernel differed by up to 1.4e-14 between OMP_NUM_THREADS=1 and 2. Here every entry's
// arithmetic depends on the shapes alone, so results are bit-identical for any thread count.
// Tiles are large enough (up to 512 x 2048) that packing each tile's operands again costs a
// few per cent of the product at most.
constexpr Eigen::Index kTileRows = 512, kTileCols = 2048;

template <class T>
void tiled_gemm(bool ta, bool tb, Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a, Eigen::Index lda,
                const T* b, Eigen::Index ldb, T beta, T* c, Eigen::Index ldc) {
  const int lda_i = blas_int(std::max<Eigen::Index>(lda, 1), "leading dimension");
  const int ldb_i = blas_int(std::max<Eigen::Index>(ldb, 1), "leading dimension");
  const int ldc_i = blas_int(std::max<Eigen::Index>(ldc, 1), "leading dimension");
  const int k_i = blas_int(k, "inner dimension");
  // Smaller tiles (down to 64) where the large ones would leave cores idle; chosen from the
  // shapes alone, so still the same arithmetic for any thread count.
  Eigen::Index tile_rows = kTileRows, tile_cols = kTileCols;
  const auto count = [&] { return ((m + tile_rows - 1) / tile_rows) * ((n + tile_cols - 1) / tile_cols); };
  while (count() < 8) {
    if (tile_cols > 64 && n > tile_cols / 2) tile_cols /= 2;
    else if (tile_rows > 64 && m > tile_rows / 2) tile_rows /= 2;
    else break;
  }
  const Eigen::Index col_tiles = (n + tile_cols - 1) / tile_cols, tiles = count();
  const auto run = [&](Eigen::Index tile) {
    const Eigen::Index i0 = (tile / col_tiles) * tile_rows, j0 = (tile % col_tiles) * tile_cols;
    const auto rows = static_cast<int>(std::min(tile_rows, m - i0));
    const auto cols = static_cast<int>(std::min(tile_cols, n - j0));
    // Rows i0.. of op(A): rows of A, or columns of A when it is transposed (row-major).
    const T* a_tile = ta ? a + i0 : a + i0 * lda;
    const T* b_tile = tb ? b + j0 * ldb : b + j0;
    call_gemm(ta, tb, rows, cols, k_i, alpha, a_tile, lda_i, b_tile, ldb_i, beta, c + i0 * ldc + j0, ldc_i);
  };
  if (omp_in_parallel()) {
    for (Eigen::Index t = 0; t < tiles; ++t) run(t);  // already on one thread of a parallel region
    return;
  }
  const SingleThreadedBlas single;  // also for a single tile: OpenBLAS would split it
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (Eigen::Index t = 0; t < tiles; ++t) run(t);
}

}  // namespace

template <class T>
void gemm_rowmajor(bool transpose_a, bool transpose_b, Eigen::Index m, Eigen::Index n, Eigen::Index k, T alpha, const T* a,
                   Eigen::Index lda, const T* b, Eigen::Index ldb, T beta, T* c, Eigen::Index ldc) {
  if (m == 0 || n == 0) return;
  blas_int(m, "rows");
  blas_int(n, "columns");
  tiled_gemm<T>(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
template void gemm_rowmajor<double>(bool, bool, Eigen::Index, Eigen::Index, Eigen::Index, double, const double*, Eigen::Index,
                                    const double*, Eigen::Index, double, double*, Eigen::Index);
template void gemm_rowmajor<float>(bool, bool, Eigen::Index, Eigen::Index, Eigen::Index, float, const float*, Eigen::Index,
                                   const float*, Eigen::Index, float, float*, Eigen::Index);

template <class T>
void mirror_rows_to_lower(T* m, Eigen::Index ld, Eigen::Index n, Eigen::Index row_begin, Eigen::Index row_end) {
  // Blocks of 64 rows of the destination: a plain column-order copy of a 4096² matrix on one
  // core was a visible share of a deep-kernel run, and for a memory-mapped output the block
  // order keeps each destination page's writes together.
  constexpr Eigen::Index kBlock = 64;
  const Eigen::Index blocks = (n - row_begin + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic) if ((row_end - row_begin) * (n - row_begin) > 65536)
  for (Eigen::Index b = 0; b < blocks; ++b) {
    const Eigen::Index j0 = row_begin + b * kBlock, j1 = std::min(j0 + kBlock, n);
    for (Eigen::Index i0 = row_begin; i0 < std::min(row_end, j1); i0 += kBlock) {
      const Eigen::Index i1 = std::min(i0 + kBlock, row_end);
      for (Eigen::Index j = j0; j < j1; ++j)
        for (Eigen::Index i = i0; i < std::min(i1, j); ++i) m[j * ld + i] = m[i * ld + j];
    }
  }
}
template void mirror_rows_to_lower<double>(double*, Eigen::Index, Eigen::Index, Eigen::Index, Eigen::Index);
template void mirror_rows_to_lower<float>(float*, Eigen::Index, Eigen::Index, Eigen::Index, Eigen::Index);

void mirror_upper_to_lower(RowMatrix<double>& m) { mirror_rows_to_lower(m.data(), m.cols(), m.rows(), 0, m.rows()); }

template <class T>
void gemm_abt_into(MatrixView<T> a, MatrixView<T> b, T* out, Eigen::Index ld) {
  if (a.rows() == 0 || b.rows() == 0) return;
  if (a.cols() == 0) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) std::fill_n(out + i * ld, b.rows(), T(0));
    return;
  }
  gemm_rowmajor<T>(false, true, a.rows(), b.rows(), a.cols(), T(1), a.data(), leading_dim(a), b.data(), leading_dim(b), T(0),
                   out, ld);
}
template void gemm_abt_into<double>(MatrixView<double>, MatrixView<double>, double*, Eigen::Index);
template void gemm_abt_into<float>(MatrixView<float>, MatrixView<float>, float*, Eigen::Index);

// The upper triangle by row blocks of kTileRows, each a single-threaded SYRK of its diagonal
// block and a GEMM of the block against the rows after it (as tiled_gemm: the same arithmetic
// for every entry whatever the thread count). Entry (i, j) always comes from the block of row i.
template <class T>
void syrk_upper_into(MatrixView<T> a, T* out, Eigen::Index ld) {
  const Eigen::Index n = a.rows(), d = a.cols();
  if (n == 0) return;
  if (d == 0) {
    for (Eigen::Index i = 0; i < n; ++i) std::fill_n(out + i * ld, n, T(0));
    return;
  }
  const int lda = leading_dim(a), ldc = blas_int(ld, "leading dimension"), d_i = blas_int(d, "columns");
  blas_int(n, "rows");
  const Eigen::Index blocks = (n + kTileRows - 1) / kTileRows;
  const auto run = [&](Eigen::Index block) {
    const Eigen::Index i0 = block * kTileRows, rows = std::min(kTileRows, n - i0), after = n - i0 - rows;
    call_syrk(static_cast<int>(rows), d_i, T(1), a.data() + i0 * lda, lda, out + i0 * ld + i0, ldc);
    if (after > 0) {
      call_gemm(false, true, static_cast<int>(rows), static_cast<int>(after), d_i, T(1), a.data() + i0 * lda, lda,
                a.data() + (i0 + rows) * lda, lda, T(0), out + i0 * ld + i0 + rows, ldc);
    }
  };
  if (omp_in_parallel()) {
    for (Eigen::Index b = 0; b < blocks; ++b) run(b);
    return;
  }
  const SingleThreadedBlas single;
  // The first blocks have the longest rows: dynamic scheduling in order balances them.
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
  for (Eigen::Index b = 0; b < blocks; ++b) run(b);
}
template void syrk_upper_into<double>(MatrixView<double>, double*, Eigen::Index);
template void syrk_upper_into<float>(MatrixView<float>, float*, Eigen::Index);

template <class T>
void gemm_abt(MatrixView<T> a, MatrixView<T> b, RowMatrix<T>& out) {
  resize_output(out, a.rows(), b.rows());
  gemm_abt_into<T>(a, b, out.data(), out.cols());
}
template void gemm_abt<double>(MatrixView<double>, MatrixView<double>, RowMatrix<double>&);
template void gemm_abt<float>(MatrixView<float>, MatrixView<float>, RowMatrix<float>&);

template <class T>
void syrk_upper(MatrixView<T> a, RowMatrix<T>& out) {
  resize_output(out, a.rows(), a.rows());
  syrk_upper_into<T>(a, out.data(), out.cols());
}
template void syrk_upper<double>(MatrixView<double>, RowMatrix<double>&);
template void syrk_upper<float>(MatrixView<float>, RowMatrix<float>&);

void advise_huge_pages_for(void* data, std::size_t bytes) { advise_huge_pages(data, bytes); }

SingleThreadedBlas::SingleThreadedBlas() : previous_(openblas_get_num_threads()) {
  if (previous_ != 1) openblas_set_num_threads(1);
}
SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ != 1) openblas_set_num_threads(previous_);
}

}  // namespace ntkit::detail
