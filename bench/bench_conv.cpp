// Time per kernel entry of convolutional NNGP + NTK (docs/mathematics.md §7) for a network
// given as text, on n random images of H × W × C: K(X, X), so n(n + 1)/2 distinct entries.
//
//   ntkit_bench_conv "Conv(1, (3, 3), padding='SAME'), Relu, …, Flatten, Dense(1)" 100 28 28 1
//
// Prints the wall time, the entries and the microseconds per entry (and the threads used).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "ntkit/analytic.hpp"
#include "ntkit/network.hpp"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s NETWORK N H W C [float32]\n", argv[0]);
    return 2;
  }
  const ntkit::Network net = ntkit::parse_network(argv[1]);
  const int n = std::atoi(argv[2]), H = std::atoi(argv[3]), W = std::atoi(argv[4]), C = std::atoi(argv[5]);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  ntkit::RowMatrixD x(n, H * W * C);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  ntkit::AnalyticOptions options;
  options.input_shape = {H, W, C};
  const auto t0 = std::chrono::steady_clock::now();
  const ntkit::AnalyticKernels k = ntkit::analytic_kernels(net, x, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double entries = 0.5 * n * (n + 1.0);
  std::printf("%.3f s  %.0f entries  %.2f us/entry  (%d threads)  K[0,1]=%.17g\n", seconds, entries, seconds / entries * 1e6,
              omp_get_max_threads(), n > 1 ? k.nngp(0, 1) : k.nngp(0, 0));
  return 0;
}
