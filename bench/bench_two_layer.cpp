// The empirical NTK of the two-layer network (n = 2048, m = 4096, d = 784) against one BLAS
// GEMM of the same flop count, alternated in every iteration (ratio of medians: `x_gemm`).
//
// Flops of the structured computation: Z = X Aᵀ (2nmd), K^b = σ(Z)σ(Z)ᵀ and the σ'(Z)B product
// of K^a (SYRKs, n²m each), and the Gram X Xᵀ (SYRK, n²d): 2nmd + 2n²m + n²d. The reference is
// a GEMM C = P Qᵀ with P, Q of shape n x k, k chosen so that 2n²k equals that count.
#include <benchmark/benchmark.h>
#include "blas_api.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "ntkit/two_layer_net.hpp"

#include "bench_common.hpp"

namespace {

using ntkit::bench::median;
using ntkit::bench::random_matrix;

using ntkit::RowMatrixD;

void BM_EmpiricalNtk(benchmark::State& state) {
  const Eigen::Index n = state.range(0), m = state.range(1), d = state.range(2);
  const RowMatrixD x = random_matrix(n, d, 1, 1.0 / std::sqrt(static_cast<double>(d)));
  const ntkit::TwoLayerNet net(static_cast<int>(d), static_cast<int>(m), ntkit::Activation::Relu, 2);
  const double dn = static_cast<double>(n), dm = static_cast<double>(m), dd = static_cast<double>(d);
  const double flops = 2.0 * dn * dm * dd + 2.0 * dn * dn * dm + dn * dn * dd;
  const auto k = static_cast<Eigen::Index>(flops / (2.0 * dn * dn));
  const double scale = 1.0 / std::sqrt(static_cast<double>(k));
  const RowMatrixD p = random_matrix(n, k, 3, scale), q = random_matrix(n, k, 4, scale);
  RowMatrixD c(n, n);
  std::vector<double> ntk_times, gemm_times;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    const ntkit::NtkParts kernel = net.empirical_ntk(x);
    benchmark::DoNotOptimize(kernel.a.data());
    const auto t1 = clock::now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(n), int(k), 1.0, p.data(), int(k), q.data(), int(k), 0.0,
                c.data(), int(n));
    benchmark::DoNotOptimize(c.data());
    const auto t2 = clock::now();
    ntk_times.push_back(std::chrono::duration<double>(t1 - t0).count());
    gemm_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(ntk_times.back());
  }
  state.counters["x_gemm"] = median(ntk_times) / median(gemm_times);
  state.counters["gemm_ms"] = 1e3 * median(gemm_times);
  state.counters["GFLOPs"] = flops / median(ntk_times) / 1e9;
}

BENCHMARK(BM_EmpiricalNtk)->Args({2048, 4096, 784})->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
