// Finite deep networks (mlp.hpp): the empirical NTK by per-layer products and one training
// step, each against one BLAS GEMM of the same flop count, alternated in every iteration
// (ratio of medians: `x_gemm`). The reference GEMM is square, s x s times s x s with 2s³ equal to
// the flop count, so that it runs at the machine's peak whatever the network's shapes.
//
// Flops counted (Dense layers l with in_l x out_l weights, n examples, O logits):
//   forward                 2n Σ in_l out_l
//   backward (O cotangents) 2nO Σ_{l>1} in_l out_l     (the first layer's input needs none)
//   kernel products         Σ_l 2n² (in_l + O out_l)   (H Hᵀ and G̃ G̃ᵀ per layer, full GEMMs)
// A training step: forward, backward with one cotangent, and the weight gradients 2n Σ in_l out_l.
#include <benchmark/benchmark.h>
#include "blas_api.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ntkit/mlp.hpp"
#include "ntkit/mlp_kernel.hpp"
#include "ntkit/mlp_train.hpp"
#include "ntkit/network.hpp"

#include "bench_common.hpp"

namespace {

using ntkit::bench::median;
using ntkit::bench::random_matrix;

using ntkit::RowMatrixD;

// Depth hidden ReLU layers of the given width, then Dense(outputs).
ntkit::Network relu_network(int width, int depth, int outputs) {
  std::string text;
  for (int l = 0; l < depth; ++l) text += "Dense(" + std::to_string(width) + ", b_std=0.1), Relu, ";
  return ntkit::parse_network(text + "Dense(" + std::to_string(outputs) + ")");
}

// Times `work` and a square GEMM of `flops` alternately; reports the ratio of medians.
template <class Work>
void against_gemm(benchmark::State& state, double flops, Work work) {
  const auto s = static_cast<int>(std::cbrt(flops / 2.0));
  const RowMatrixD p = random_matrix(s, s, 3), q = random_matrix(s, s, 4);
  RowMatrixD c(s, s);
  std::vector<double> times, gemm_times;
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = clock::now();
    work();
    const auto t1 = clock::now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, s, s, 1.0, p.data(), s, q.data(), s, 0.0, c.data(), s);
    benchmark::DoNotOptimize(c.data());
    const auto t2 = clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
    gemm_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(times.back());
  }
  state.counters["x_gemm"] = median(times) / median(gemm_times);
  state.counters["gemm_ms"] = 1e3 * median(gemm_times);
  state.counters["GFLOPs"] = flops / median(times) / 1e9;
}

// Σ in_l out_l over all Dense layers and over all but the first.
void layer_sums(const ntkit::Mlp& net, double& all, double& after_first, double& kernel_width, double outputs) {
  all = after_first = kernel_width = 0;
  bool first = true;
  for (const auto& d : net.dense_parameters()) {
    const double w = static_cast<double>(d.in) * d.out;
    all += w;
    if (!first) after_first += w;
    kernel_width += d.in + outputs * d.out;
    first = false;
  }
}

// Args: n, width, depth, d, outputs.
void BM_MlpEmpiricalNtk(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = state.range(3);
  const int width = static_cast<int>(state.range(1)), depth = static_cast<int>(state.range(2));
  const int outputs = static_cast<int>(state.range(4));
  const ntkit::Mlp net(relu_network(width, depth, outputs), static_cast<int>(d), 1);
  const RowMatrixD x = random_matrix(n, d, 2);
  double all = 0, after_first = 0, kernel_width = 0;
  layer_sums(net, all, after_first, kernel_width, outputs);
  const double dn = static_cast<double>(n);
  const double flops = 2 * dn * all + 2 * dn * outputs * after_first + 2 * dn * dn * kernel_width;
  ntkit::EmpiricalOptions options;
  options.nngp = false;
  against_gemm(state, flops, [&] {
    const ntkit::EmpiricalKernels k = ntkit::empirical_kernels(net, x, options);
    benchmark::DoNotOptimize(k.ntk.data());
  });
}

// Args: n (batch), width, depth, d, outputs. Ten full-batch gradient-descent steps through
// train(), which also evaluates the loss before and after (two more forward passes, counted).
void BM_MlpTrainSteps(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = state.range(3);
  const int width = static_cast<int>(state.range(1)), depth = static_cast<int>(state.range(2));
  const int outputs = static_cast<int>(state.range(4));
  ntkit::Mlp net(relu_network(width, depth, outputs), static_cast<int>(d), 1);
  const RowMatrixD x = random_matrix(n, d, 2), y = random_matrix(n, outputs, 3);
  double all = 0, after_first = 0, kernel_width = 0;
  layer_sums(net, all, after_first, kernel_width, outputs);
  const double dn = static_cast<double>(n);
  const int steps = 10;
  const double step_flops = 2 * dn * all + 2 * dn * after_first + 2 * dn * all;
  const double flops = steps * step_flops + 2 * (2 * dn * all);
  ntkit::TrainOptions options;
  options.learning_rate = 1e-4;
  options.steps = steps;
  options.record_every = steps;
  options.record_kernel_drift = false;
  const RowMatrixD none(0, d);
  against_gemm(state, flops, [&] {
    const ntkit::TrainTrace trace = ntkit::train(net, x, y, none, options);
    benchmark::DoNotOptimize(trace.loss.data());
  });
}

BENCHMARK(BM_MlpEmpiricalNtk)
    ->ArgNames({"n", "width", "depth", "d", "O"})
    ->Args({256, 2048, 3, 784, 1})
    ->Args({16, 2048, 3, 784, 8})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_MlpTrainSteps)
    ->ArgNames({"n", "width", "depth", "d", "O"})
    ->Args({256, 2048, 3, 784, 10})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
