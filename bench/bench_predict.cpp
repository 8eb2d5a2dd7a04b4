// Predictions from a kernel (predict.hpp) for n = 4096 training and m = 1024 test points at 20
// times (19 finite and t = inf), against one LAPACK eigendecomposition (dsyevd) of the same
// 4096 x 4096 kernel, alternated in every iteration (ratio of medians: `x_eigh`). The
// prediction itself does one dsyevd, one Cholesky (for t = inf) and per time two n x n by
// n x o products and one m x n by n x o product, so the ideal ratio is a little above 1.
// BM_EnsemblePredict adds the ensemble's test covariances (m x m per time, O(n²m) each).
#include <benchmark/benchmark.h>
#include "blas_api.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ntkit/kernels.hpp"
#include "ntkit/predict.hpp"

#include "bench_common.hpp"

namespace {

using ntkit::bench::median;
using ntkit::bench::random_matrix;

using ntkit::RowMatrixD;

std::vector<double> twenty_times() {
  std::vector<double> t;
  for (int i = 0; i < 19; ++i) t.push_back(1e-3 * std::pow(10.0, 0.4 * i));  // 1e-3 ... ~1e4
  t.push_back(std::numeric_limits<double>::infinity());
  return t;
}

// One eigendecomposition of K (values and vectors), the reference cost.
double time_eigh(const RowMatrixD& k) {
  const auto t0 = std::chrono::steady_clock::now();
  RowMatrixD a = k;
  ntkit::VectorD w(k.rows());
  const auto n = static_cast<lapack_int>(k.rows());
  LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, a.data(), n, w.data());
  benchmark::DoNotOptimize(a.data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Problem {
  RowMatrixD k, kt, kss, y;
};

Problem make_problem(Eigen::Index n, Eigen::Index m, Eigen::Index outputs) {
  // Arc-cosine order 1 (the one-hidden-layer ReLU NNGP) of Gaussian inputs: a realistic spectrum.
  const RowMatrixD x = random_matrix(n, 16, 1), xt = random_matrix(m, 16, 2);
  const ntkit::KernelSpec spec{ntkit::KernelKind::ArcCos, 2, 1.0, 1.0, 1};
  return {ntkit::kernel_matrix<double>(spec, x), ntkit::kernel_matrix<double>(spec, xt, x),
          ntkit::kernel_matrix<double>(spec, xt), random_matrix(n, outputs, 3)};
}

void BM_PredictMse(benchmark::State& state) {
  const Problem p = make_problem(state.range(0), state.range(1), state.range(2));
  const std::vector<double> times = twenty_times();
  ntkit::DynamicsOptions options;
  options.diag_reg = 1e-6;  // arc-cosine kernels of 4096 points are nearly singular: t = inf needs it
  std::vector<double> predict_times, eigh_times;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const ntkit::Trajectory tr = ntkit::predict_mse(p.k, p.kt, p.y, times, options);
    benchmark::DoNotOptimize(tr.test.back().data());
    predict_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    eigh_times.push_back(time_eigh(p.k));
    state.SetIterationTime(predict_times.back());
  }
  state.counters["x_eigh"] = median(predict_times) / median(eigh_times);
  state.counters["eigh_s"] = median(eigh_times);
}

void BM_EnsemblePredict(benchmark::State& state) {
  const Problem p = make_problem(state.range(0), state.range(1), state.range(2));
  const std::vector<double> times = twenty_times();
  ntkit::DynamicsOptions options;
  options.diag_reg = 1e-6;
  std::vector<double> predict_times, eigh_times;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    // NNGP training ('last layer only'): the kernel is its own NTK here.
    const ntkit::EnsemblePredictor ens(ntkit::EnsembleKind::Nngp, p.k, p.k, p.y, options);
    const auto out = ens.test(times, p.kt, p.kt, p.kss);
    benchmark::DoNotOptimize(out.back().covariance.data());
    predict_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    eigh_times.push_back(time_eigh(p.k));
    state.SetIterationTime(predict_times.back());
  }
  state.counters["x_eigh"] = median(predict_times) / median(eigh_times);
  state.counters["eigh_s"] = median(eigh_times);
}

BENCHMARK(BM_PredictMse)->Args({4096, 1024, 10})->UseManualTime()->Unit(benchmark::kSecond)->Iterations(3);
BENCHMARK(BM_EnsemblePredict)->Args({4096, 1024, 10})->UseManualTime()->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
