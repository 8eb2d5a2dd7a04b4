// Classic kernel matrices for n = 4096, d = 784 against one BLAS GEMM X·Xᵀ of the same shape.
//
// Each benchmark alternates the kernel and the GEMM (into a preallocated output: the physical
// limit) in every iteration, so both see the same machine state, and reports the ratio of the
// medians as the counter `x_gemm`. Absolute times on a shared machine are only indicative;
// the ratio is the figure of merit (targets: linear/polynomial <= 1.3, rbf/arccos <= 1.6).
#include <benchmark/benchmark.h>
#include "blas_api.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "ntkit/kernels.hpp"

#include "bench_common.hpp"

namespace {

using ntkit::bench::median;

using ntkit::KernelKind;
using ntkit::KernelSpec;
using ntkit::RowMatrix;

template <class T>
RowMatrix<T> random_data(Eigen::Index n, Eigen::Index d) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  RowMatrix<T> x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(normal(rng) / std::sqrt(double(d)));
  return x;
}

template <class T>
void gemm(const RowMatrix<T>& x, RowMatrix<T>& out) {
  const int n = static_cast<int>(x.rows()), d = static_cast<int>(x.cols());
  if constexpr (std::is_same_v<T, double>)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0, x.data(), d, x.data(), d, 0.0, out.data(), n);
  else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, x.data(), d, x.data(), d, 0.0f, out.data(), n);
}

template <class T>
void BM_Kernel(benchmark::State& state, KernelSpec spec, bool symmetric) {
  const Eigen::Index n = state.range(0), d = state.range(1);
  const RowMatrix<T> x = random_data<T>(n, d);
  const RowMatrix<T> y = random_data<T>(n, d);
  RowMatrix<T> gemm_out(n, n);
  std::vector<double> kernel_times, gemm_times;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    RowMatrix<T> k = symmetric ? ntkit::kernel_matrix<T>(spec, x) : ntkit::kernel_matrix<T>(spec, x, y);
    benchmark::DoNotOptimize(k.data());
    const auto t1 = clock::now();
    gemm<T>(x, gemm_out);
    benchmark::DoNotOptimize(gemm_out.data());
    const auto t2 = clock::now();
    const double kt = std::chrono::duration<double>(t1 - t0).count();
    kernel_times.push_back(kt);
    gemm_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(kt);
  }
  state.counters["x_gemm"] = median(kernel_times) / median(gemm_times);
  state.counters["gemm_ms"] = 1e3 * median(gemm_times);
  state.counters["GFLOPs_gemm_equiv"] = 2.0 * double(n) * double(n) * double(d) / median(kernel_times) / 1e9;
}

void register_all() {
  const KernelSpec specs[] = {{KernelKind::Linear},
                              {KernelKind::Polynomial, 3, 1.0},
                              {KernelKind::Rbf, 2, 1.0, 1.0},
                              {KernelKind::ArcCos, 2, 1.0, 1.0, 0},
                              {KernelKind::ArcCos, 2, 1.0, 1.0, 1},
                              {KernelKind::ArcCos, 2, 1.0, 1.0, 2}};
  for (const KernelSpec& spec : specs) {
    for (bool symmetric : {true, false}) {
      const std::string shape = symmetric ? "K(X,X)" : "K(X1,X2)";
      benchmark::RegisterBenchmark(("f64/" + spec.describe() + "/" + shape).c_str(),
                                   [spec, symmetric](benchmark::State& s) { BM_Kernel<double>(s, spec, symmetric); })
          ->Args({4096, 784})
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
      benchmark::RegisterBenchmark(("f32/" + spec.describe() + "/" + shape).c_str(),
                                   [spec, symmetric](benchmark::State& s) { BM_Kernel<float>(s, spec, symmetric); })
          ->Args({4096, 784})
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(1.0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
