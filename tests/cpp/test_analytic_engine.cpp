// The deep-kernel engine's machinery (analytic.hpp): LayerNorm against a per-entry recursion
// and Monte Carlo, float32 against float64, panels, diagonals, the memory-mapped .npy writer,
// progress reports.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>

#include "ntkit/analytic.hpp"
#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

double relative_frobenius(const RowMatrixD& a, const RowMatrixD& b) { return (a - b).norm() / b.norm(); }

// Dense(64, 1.3, 0.2), LayerNorm(eps), Relu, Dense(32, 0.9, 0.1), LayerNorm, Erf, Dense(1),
// written entry by entry from docs/mathematics.md §5 and neural-tangents' LayerNorm (K / √((q1+eps)(q2+eps)),
// Θ likewise): ReLU by the arc-cosine formula, erf by Williams' arcsine formula.
TEST(AnalyticEngine, LayerNormMatchesAPerEntryRecursion) {
  const double eps = 1e-3;
  const Network net = parse_network(
      "Dense(64, W_std=1.3, b_std=0.2), LayerNorm(eps=0.001), Relu, Dense(32, W_std=0.9, b_std=0.1), "
      "LayerNorm, Erf, Dense(1)");
  const RowMatrixD x = gaussian_matrix(7, 3, 11, 2.0);
  const AnalyticKernels k = analytic_kernels(net, x);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.rows(); ++j) {
      double q1 = x.row(i).squaredNorm() / 3, q2 = x.row(j).squaredNorm() / 3, c = x.row(i).dot(x.row(j)) / 3;
      double theta = 0;
      auto dense = [&](double w, double b) {
        q1 = w * w * q1 + b * b;
        q2 = w * w * q2 + b * b;
        c = w * w * c + b * b;
        theta = w * w * theta + c;
      };
      auto layer_norm = [&](double e) {
        const double s = 1.0 / std::sqrt((q1 + e) * (q2 + e));
        c *= s;
        theta *= s;
        q1 /= q1 + e;
        q2 /= q2 + e;
      };
      dense(1.3, 0.2);
      layer_norm(eps);
      {  // ReLU
        // ρ(x, x) = 1 exactly (the engine guarantees it; here rounding in the LayerNorm step
        // could leave 1 − 1e-16, where ReLU's Ṫ has infinite slope).
        const double rho = i == j ? 1.0 : std::clamp(c / std::sqrt(q1 * q2), -1.0, 1.0), t = std::acos(rho);
        const double pi = std::numbers::pi;
        const double tdot = (pi - t) / (2 * pi);
        c = std::sqrt(q1 * q2) * (std::sin(t) + (pi - t) * std::cos(t)) / (2 * pi);
        q1 /= 2;
        q2 /= 2;
        theta *= tdot;
      }
      dense(0.9, 0.1);
      layer_norm(1e-12);
      {  // erf(x)
        const double pi = std::numbers::pi;
        const double a = 1 + 2 * q1, b = 1 + 2 * q2;
        const double tdot = 4 / pi / std::sqrt(a * b - 4 * c * c);
        const double t = 2 / pi * std::asin(2 * c / std::sqrt(a * b));
        q1 = 2 / pi * std::asin(2 * q1 / a);
        q2 = 2 / pi * std::asin(2 * q2 / b);
        c = t;
        theta *= tdot;
      }
      dense(1.0, 0.0);
      EXPECT_NEAR(k.nngp(i, j), c, 1e-12 * std::abs(c) + 1e-15) << i << "," << j;
      EXPECT_NEAR(k.ntk(i, j), theta, 1e-12 * std::abs(theta) + 1e-15) << i << "," << j;
    }
}

// Monte Carlo of finite networks: width 2048, 20 seeds; the finite LayerNorm subtracts the
// feature mean (0 in the limit) and divides by √(var + eps). NNGP of the output = the
// readout's covariance given the last features, averaged over seeds.
TEST(AnalyticEngine, LayerNormMatchesMonteCarloOfFiniteNetworks) {
  const Eigen::Index n = 8, d = 5, width = 2048;
  const RowMatrixD x = gaussian_matrix(n, d, 12);
  const double w1 = 1.5, b1 = 0.3;
  const Network net = serial(Dense(static_cast<int>(width), w1, b1), LayerNorm(), Relu(), Dense(1));
  const RowMatrixD exact = analytic_kernels(net, x).nngp;
  RowMatrixD mc = RowMatrixD::Zero(n, n);
  const int seeds = 20;
  for (int s = 0; s < seeds; ++s) {
    const RowMatrixD w = gaussian_matrix(d, width, 100 + static_cast<std::uint64_t>(s));
    const RowMatrixD b = gaussian_matrix(1, width, 500 + static_cast<std::uint64_t>(s));
    RowMatrixD h = (w1 / std::sqrt(static_cast<double>(d))) * (x * w);
    h.rowwise() += b1 * b.row(0);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double mean = h.row(i).mean();
      const double var = (h.row(i).array() - mean).square().mean();
      h.row(i) = ((h.row(i).array() - mean) / std::sqrt(var + 1e-12)).cwiseMax(0.0).matrix();
    }
    mc += h * h.transpose() / static_cast<double>(width);
  }
  mc /= seeds;
  EXPECT_LT(relative_frobenius(mc, exact), 0.02);
}

TEST(AnalyticEngine, LayerNormWithZeroEpsAndAZeroInputStaysFinite) {
  RowMatrixD x = gaussian_matrix(4, 3, 13);
  x.row(2).setZero();
  const AnalyticKernels k = analytic_kernels(parse_network("Dense(8), LayerNorm(eps=0), Relu, Dense(1)"), x);
  EXPECT_TRUE(k.nngp.allFinite() && k.ntk.allFinite());
  EXPECT_EQ(k.nngp(2, 0), 0.0);  // documented: a zero-variance side gives 0 when eps = 0
}

const char* const kArchitectures[] = {
    "Dense(512, W_std=1.4, b_std=0.1), Relu, Dense(512, W_std=1.4, b_std=0.1), Relu, Dense(1)",
    "Dense(64, W_std=1.2, b_std=0.2), Erf, Dense(64), Gelu, Dense(3, b_std=0.05)",
    "Dense(64, W_std=1.5, parameterization='standard'), LayerNorm, Relu, Dense(1, parameterization='standard')",
    "Dense(32), FanOut(2), parallel(serial(Relu, Dense(32)), Identity), FanInSum, Sin, Dense(1)",
    "Dense(16, W_std=2, b_std=0.5), Tanh, Dense(1)",
};

TEST(AnalyticEngine, Float32AgreesWithFloat64) {
  const RowMatrixD x = gaussian_matrix(40, 12, 14), y = gaussian_matrix(9, 12, 15);
  const RowMatrixF xf = x.cast<float>(), yf = y.cast<float>();
  for (const char* arch : kArchitectures) {
    const Network net = parse_network(arch);
    const AnalyticKernels k64 = analytic_kernels(net, x);
    const AnalyticKernelsOf<float> k32 = analytic_kernels(net, xf);
    // float32 Gram entries carry relative rounding ~1e-7·√d; the layers do not amplify it
    // much at these depths.
    EXPECT_LT(max_relative_error(k32.nngp.cast<double>(), k64.nngp), 2e-6) << arch;
    EXPECT_LT(max_relative_error(k32.ntk.cast<double>(), k64.ntk), 2e-6) << arch;
    EXPECT_TRUE((k32.ntk.array() == k32.ntk.transpose().array()).all()) << arch;
    const AnalyticKernels c64 = analytic_kernels(net, y, x);
    const AnalyticKernelsOf<float> c32 = analytic_kernels(net, yf, xf);
    EXPECT_LT(max_relative_error(c32.ntk.cast<double>(), c64.ntk), 2e-6) << arch;
  }
}

// Depth 50: float64 stays finite for any W_std here; float32 outputs are float64 results
// rounded, so they overflow to inf exactly where the kernel exceeds float's range (≈3.4e38).
TEST(AnalyticEngine, Depth50InFloat32) {
  const RowMatrixD x = gaussian_matrix(6, 4, 16);
  for (const double w : {1.0, 1.41421356, 3.0, 4.0}) {
    Network net;
    for (int l = 0; l < 50; ++l) {
      net.layers.push_back(Dense(64, w, 0.1));
      net.layers.push_back(Relu());
    }
    net.layers.push_back(Dense(1));
    const AnalyticKernels k64 = analytic_kernels(net, x);
    const AnalyticKernelsOf<float> k32 = analytic_kernels(net, RowMatrixF(x.cast<float>()));
    ASSERT_TRUE(k64.ntk.allFinite() && k64.nngp.allFinite()) << w;
    const double limit = std::numeric_limits<float>::max();
    if (k64.ntk.cwiseAbs().maxCoeff() < limit / 2) {
      EXPECT_TRUE(k32.ntk.allFinite()) << w;
      EXPECT_LT(max_relative_error(k32.ntk.cast<double>(), k64.ntk), 1e-5) << w;
    } else {
      EXPECT_FALSE(k32.ntk.allFinite()) << w;  // W_std = 4: (4²/2)^50 ≈ 1e45
    }
  }
}

TEST(AnalyticEngine, PanelsAndSingleKernelsGiveTheSameNumbers) {
  const RowMatrixD x = gaussian_matrix(70, 6, 17), y = gaussian_matrix(33, 6, 18);
  const Network net = parse_network(kArchitectures[1]);
  const AnalyticKernels whole = analytic_kernels(net, x);
  const AnalyticKernels cross = analytic_kernels(net, y, x);
  for (const Eigen::Index panel : {1, 7, 64}) {
    AnalyticOptions options;
    options.panel_rows = panel;
    const AnalyticKernels k = analytic_kernels(net, x, options);
    EXPECT_LT(max_relative_error(k.ntk, whole.ntk), 1e-14) << panel;  // SYRK vs GEMM rounding
    EXPECT_LT(max_relative_error(k.nngp, whole.nngp), 1e-14) << panel;
    EXPECT_TRUE((k.ntk.array() == k.ntk.transpose().array()).all()) << panel;
    const AnalyticKernels c = analytic_kernels(net, y, x, options);
    EXPECT_TRUE((c.ntk.array() == cross.ntk.array()).all()) << panel;  // same GEMM per row
  }
  AnalyticOptions nngp_only, ntk_only;
  nngp_only.ntk = false;
  ntk_only.nngp = false;
  EXPECT_TRUE((analytic_kernels(net, x, nngp_only).nngp.array() == whole.nngp.array()).all());
  EXPECT_TRUE((analytic_kernels(net, x, ntk_only).ntk.array() == whole.ntk.array()).all());
  EXPECT_EQ(analytic_kernels(net, x, ntk_only).nngp.size(), 0);
}

TEST(AnalyticEngine, DiagonalMatchesTheMatrixDiagonal) {
  const RowMatrixD x = gaussian_matrix(25, 6, 19);
  for (const char* arch : kArchitectures) {
    const Network net = parse_network(arch);
    const AnalyticKernels k = analytic_kernels(net, x);
    const AnalyticDiagonal diag = analytic_kernel_diagonal(net, x);
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      EXPECT_NEAR(diag.nngp[i], k.nngp(i, i), 1e-13 * std::abs(k.nngp(i, i))) << arch;
      EXPECT_NEAR(diag.ntk[i], k.ntk(i, i), 1e-13 * std::abs(k.ntk(i, i))) << arch;
    }
  }
}

TEST(AnalyticEngine, ProgressIsMonotoneAndEndsAtOne) {
  const RowMatrixD x = gaussian_matrix(300, 6, 20);
  std::vector<double> seen;
  AnalyticOptions options;
  options.panel_rows = 64;
  options.progress = [&](double f) { seen.push_back(f); };
  analytic_kernels(parse_network(kArchitectures[0]), x, options);
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.back(), 1.0);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1], seen[i]);
}

class NpyWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ntkit-analytic-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::size_t files_in_dir() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_), {}));
  }
  std::filesystem::path dir_;
};

TEST_F(NpyWriter, WritesWhatTheInMemoryKernelsHold) {
  const RowMatrixD x = gaussian_matrix(130, 6, 21), y = gaussian_matrix(17, 6, 22);
  const Network net = parse_network(kArchitectures[2]);
  const AnalyticKernels k = analytic_kernels(net, x);
  AnalyticOptions options;
  options.panel_rows = 50;  // several panels, the last one partial
  write_analytic_kernels_npy(net, x, nullptr, DType::Float64, {path("k.nngp.npy"), path("k.ntk.npy")}, options);
  EXPECT_LT(max_relative_error(read_matrix(path("k.nngp.npy")), k.nngp), 1e-14);
  EXPECT_LT(max_relative_error(read_matrix(path("k.ntk.npy")), k.ntk), 1e-14);
  const MatrixView<double> yv(y);
  write_analytic_kernels_npy(net, x, &yv, DType::Float32, {"", path("c.npy")}, {});
  const AnalyticKernelsOf<float> c = analytic_kernels(net, RowMatrixF(x.cast<float>()), RowMatrixF(y.cast<float>()));
  const std::string bytes = read_file(path("c.npy"));
  const NpyArray stored = parse_npy(bytes, "c.npy");
  EXPECT_EQ(stored.dtype, DType::Float32);
  ASSERT_EQ(stored.shape, (std::vector<std::size_t>{130, 17}));
  for (std::size_t i = 0; i < stored.values.size(); ++i)
    ASSERT_EQ(static_cast<float>(stored.values[i]), c.ntk.data()[i]) << i;
  EXPECT_EQ(files_in_dir(), 3u);  // no temporary files left
}

TEST_F(NpyWriter, ErrorsLeaveNothingAndKeepOldFiles) {
  RowMatrixD x = gaussian_matrix(10, 3, 23);
  const Network net = parse_network(kArchitectures[0]);
  {
    std::ofstream old(path("k.npy"));
    old << "old";
  }
  x(4, 1) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(write_analytic_kernels_npy(net, x, nullptr, DType::Float32, {"", path("k.npy")}, {}), Error);
  EXPECT_EQ(read_file(path("k.npy")), "old");
  EXPECT_EQ(files_in_dir(), 1u);
  x(4, 1) = 0;
  EXPECT_THROW(write_analytic_kernels_npy(net, x, nullptr, DType::Float64, {path("no/such/dir/k.npy"), ""}, {}), Error);
  EXPECT_THROW(write_analytic_kernels_npy(net, x, nullptr, DType::Float64, {path("a.npy"), path("a.npy")}, {}), Error);
  EXPECT_THROW(write_analytic_kernels_npy(net, x, nullptr, DType::Float64, {"", ""}, {}), Error);
  EXPECT_EQ(files_in_dir(), 1u);
}

}  // namespace
}  // namespace ntkit
