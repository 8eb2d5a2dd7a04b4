// Infinite-width NNGP + NTK of deep fully-connected networks (n = 4096, d = 784) against one
// BLAS GEMM X·Xᵀ of the same shape, alternated in every iteration (ratio of medians: `x_gemm`).
#include <benchmark/benchmark.h>
#include "blas_api.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "ntkit/analytic.hpp"
#include "ntkit/network.hpp"

#include "bench_common.hpp"

namespace {

using ntkit::bench::median;

using ntkit::RowMatrixD;

// The BLAS GEMM X·Xᵀ of the same type and shape (the yardstick).
void gemm(const ntkit::RowMatrixD& x, ntkit::RowMatrixD& c) {
  const int n = int(x.rows()), d = int(x.cols());
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0, x.data(), d, x.data(), d, 0.0, c.data(), n);
}
void gemm(const ntkit::RowMatrixF& x, ntkit::RowMatrixF& c) {
  const int n = int(x.rows()), d = int(x.cols());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f, x.data(), d, x.data(), d, 0.0f, c.data(), n);
}

template <class T>
void BM_Analytic(benchmark::State& state, const std::string& activation) {
  const Eigen::Index n = state.range(0), d = state.range(1);
  const int depth = static_cast<int>(state.range(2));
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  ntkit::RowMatrix<T> x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(normal(rng));
  std::string text;
  for (int l = 0; l < depth; ++l) text += "Dense(512, W_std=1.4, b_std=0.1), " + activation + ", ";
  text += "Dense(1)";
  const ntkit::Network net = ntkit::parse_network(text);
  ntkit::RowMatrix<T> c(n, n);
  std::vector<double> times, gemm_times;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    const ntkit::AnalyticKernelsOf<T> k = ntkit::analytic_kernels(net, x);
    benchmark::DoNotOptimize(k.ntk.data());
    const auto t1 = clock::now();
    gemm(x, c);
    benchmark::DoNotOptimize(c.data());
    const auto t2 = clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
    gemm_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(times.back());
  }
  state.counters["x_gemm"] = median(times) / median(gemm_times);
  state.counters["gemm_ms"] = 1e3 * median(gemm_times);
}

void BM_AnalyticF64(benchmark::State& state, const std::string& activation) { BM_Analytic<double>(state, activation); }
void BM_AnalyticF32(benchmark::State& state, const std::string& activation) { BM_Analytic<float>(state, activation); }

BENCHMARK_CAPTURE(BM_AnalyticF64, Relu, std::string("Relu"))
    ->Args({4096, 784, 1})
    ->Args({4096, 784, 5})
    ->Args({4096, 784, 20})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(BM_AnalyticF64, Erf, std::string("Erf"))
    ->Args({4096, 784, 1})
    ->Args({4096, 784, 5})
    ->Args({4096, 784, 20})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(BM_AnalyticF32, Relu, std::string("Relu"))
    ->Args({4096, 784, 1})
    ->Args({4096, 784, 5})
    ->Args({4096, 784, 20})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);
BENCHMARK_CAPTURE(BM_AnalyticF32, Erf, std::string("Erf"))
    ->Args({4096, 784, 1})
    ->Args({4096, 784, 5})
    ->Args({4096, 784, 20})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

}  // namespace
