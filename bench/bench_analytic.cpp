// Infinite-width NNGP + NTK of deep fully-connected networks (n = 4096, d = 784) against one
// BLAS GEMM X·Xᵀ of the same shape, alternated in every iteration (ratio of medians: `x_gemm`).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "ntkit/analytic.hpp"
#include "ntkit/network.hpp"

namespace {

using ntkit::RowMatrixD;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void BM_Analytic(benchmark::State& state, const std::string& activation) {
  const Eigen::Index n = state.range(0), d = state.range(1);
  const int depth = static_cast<int>(state.range(2));
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  RowMatrixD x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  std::string text;
  for (int l = 0; l < depth; ++l) text += "Dense(512, W_std=1.4, b_std=0.1), " + activation + ", ";
  text += "Dense(1)";
  const ntkit::Network net = ntkit::parse_network(text);
  RowMatrixD c(n, n);
  std::vector<double> times, gemm_times;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    const ntkit::AnalyticKernels k = ntkit::analytic_kernels(net, x);
    benchmark::DoNotOptimize(k.ntk.data());
    const auto t1 = clock::now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(n), int(d), 1.0, x.data(), int(d), x.data(),
                int(d), 0.0, c.data(), int(n));
    benchmark::DoNotOptimize(c.data());
    const auto t2 = clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
    gemm_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(times.back());
  }
  state.counters["x_gemm"] = median(times) / median(gemm_times);
  state.counters["gemm_ms"] = 1e3 * median(gemm_times);
}

BENCHMARK_CAPTURE(BM_Analytic, Relu, std::string("Relu"))
    ->Args({4096, 784, 1})->Args({4096, 784, 5})->Args({4096, 784, 20})
    ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_Analytic, Erf, std::string("Erf"))
    ->Args({4096, 784, 1})->Args({4096, 784, 5})->Args({4096, 784, 20})
    ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
