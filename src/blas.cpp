#include "blas.hpp"

#include <cblas.h>
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

}  // namespace

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

void mirror_upper_to_lower(RowMatrix<double>& m) {
  mirror_rows_to_lower(m.data(), m.cols(), m.rows(), 0, m.rows());
}

void sync_blas_threads() {
  const int want = omp_get_max_threads();
  if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

template <>
void gemm_abt_into<double>(MatrixView<double> a, MatrixView<double> b, double* out, Eigen::Index ld) {
  if (a.rows() == 0 || b.rows() == 0) return;
  if (a.cols() == 0) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) std::fill_n(out + i * ld, b.rows(), 0.0);
    return;
  }
  sync_blas_threads();
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(a.rows(), "rows"),
              blas_int(b.rows(), "rows"), blas_int(a.cols(), "columns"), 1.0, a.data(),
              leading_dim(a), b.data(), leading_dim(b), 0.0, out, blas_int(ld, "leading dimension"));
}

template <>
void gemm_abt_into<float>(MatrixView<float> a, MatrixView<float> b, float* out, Eigen::Index ld) {
  if (a.rows() == 0 || b.rows() == 0) return;
  if (a.cols() == 0) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) std::fill_n(out + i * ld, b.rows(), 0.0f);
    return;
  }
  sync_blas_threads();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(a.rows(), "rows"),
              blas_int(b.rows(), "rows"), blas_int(a.cols(), "columns"), 1.0f, a.data(),
              leading_dim(a), b.data(), leading_dim(b), 0.0f, out, blas_int(ld, "leading dimension"));
}

template <>
void syrk_upper_into<double>(MatrixView<double> a, double* out, Eigen::Index ld) {
  if (a.rows() == 0) return;
  if (a.cols() == 0) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) std::fill_n(out + i * ld, a.rows(), 0.0);
    return;
  }
  sync_blas_threads();
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blas_int(a.rows(), "rows"),
              blas_int(a.cols(), "columns"), 1.0, a.data(), leading_dim(a), 0.0, out,
              blas_int(ld, "leading dimension"));
}

template <>
void syrk_upper_into<float>(MatrixView<float> a, float* out, Eigen::Index ld) {
  if (a.rows() == 0) return;
  if (a.cols() == 0) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) std::fill_n(out + i * ld, a.rows(), 0.0f);
    return;
  }
  sync_blas_threads();
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blas_int(a.rows(), "rows"),
              blas_int(a.cols(), "columns"), 1.0f, a.data(), leading_dim(a), 0.0f, out,
              blas_int(ld, "leading dimension"));
}

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

}  // namespace ntkit::detail
