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

void mirror_upper_to_lower(RowMatrix<double>& m) {
  // 64 x 64 blocks: a plain column-order copy of a 4096² matrix on one core was a visible
  // share of a deep-kernel run.
  constexpr Eigen::Index kBlock = 64;
  const Eigen::Index n = m.rows(), blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic) if (n > 256)
  for (Eigen::Index bi = 0; bi < blocks; ++bi)
    for (Eigen::Index bj = 0; bj <= bi; ++bj) {  // lower block (bi, bj) from upper block (bj, bi)
      const Eigen::Index r0 = bi * kBlock, r1 = std::min(r0 + kBlock, n);
      const Eigen::Index c0 = bj * kBlock, c1 = std::min(c0 + kBlock, n);
      for (Eigen::Index i = r0; i < r1; ++i)
        for (Eigen::Index j = c0; j < std::min(c1, i); ++j) m(i, j) = m(j, i);
    }
}

void sync_blas_threads() {
  const int want = omp_get_max_threads();
  if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

template <>
void gemm_abt<double>(MatrixView<double> a, MatrixView<double> b, RowMatrix<double>& out) {
  resize_output(out, a.rows(), b.rows());
  if (out.size() == 0) return;
  if (a.cols() == 0) { out.setZero(); return; }
  sync_blas_threads();
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(a.rows(), "rows"),
              blas_int(b.rows(), "rows"), blas_int(a.cols(), "columns"), 1.0, a.data(),
              leading_dim(a), b.data(), leading_dim(b), 0.0, out.data(),
              blas_int(out.cols(), "columns"));
}

template <>
void gemm_abt<float>(MatrixView<float> a, MatrixView<float> b, RowMatrix<float>& out) {
  resize_output(out, a.rows(), b.rows());
  if (out.size() == 0) return;
  if (a.cols() == 0) { out.setZero(); return; }
  sync_blas_threads();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(a.rows(), "rows"),
              blas_int(b.rows(), "rows"), blas_int(a.cols(), "columns"), 1.0f, a.data(),
              leading_dim(a), b.data(), leading_dim(b), 0.0f, out.data(),
              blas_int(out.cols(), "columns"));
}

template <>
void syrk_upper<double>(MatrixView<double> a, RowMatrix<double>& out) {
  resize_output(out, a.rows(), a.rows());
  if (out.size() == 0) return;
  if (a.cols() == 0) { out.setZero(); return; }
  sync_blas_threads();
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blas_int(a.rows(), "rows"),
              blas_int(a.cols(), "columns"), 1.0, a.data(), leading_dim(a), 0.0, out.data(),
              blas_int(out.cols(), "columns"));
}

template <>
void syrk_upper<float>(MatrixView<float> a, RowMatrix<float>& out) {
  resize_output(out, a.rows(), a.rows());
  if (out.size() == 0) return;
  if (a.cols() == 0) { out.setZero(); return; }
  sync_blas_threads();
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blas_int(a.rows(), "rows"),
              blas_int(a.cols(), "columns"), 1.0f, a.data(), leading_dim(a), 0.0f, out.data(),
              blas_int(out.cols(), "columns"));
}

}  // namespace ntkit::detail
