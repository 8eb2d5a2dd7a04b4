// The infinite-width kernels of convolutional networks (src/layers/conv.cpp, pool.cpp,
// global_pool.cpp, flatten.cpp, spatial_layout.cpp), against
//  - exact identities with fully connected networks (a filter as large as the image is a Dense;
//    1 × 1 convolutions followed by Flatten average a per-position MLP kernel; Flatten first is
//    the flat input), and
//  - a naive reference written here that keeps the whole P × P covariance of every pair and
//    applies each layer by its definition (docs/mathematics.md §7), so that the engine's
//    banded, separable layout (only the offsets later layers need) is checked entry by entry.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "ntkit/analytic.hpp"
#include "ntkit/network.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::error_of;
using test::gaussian_matrix;
using test::max_relative_error;

AnalyticKernels image_kernels(const std::string& net, const RowMatrixD& x, const RowMatrixD& y, std::vector<int> shape) {
  AnalyticOptions options;
  options.input_shape = std::move(shape);
  return analytic_kernels(parse_network(net), x, y, options);
}

// ---- Identities with fully connected networks ------------------------------------------------

// A VALID filter of the image's size has one output position that sees every input value:
// it is a Dense on the flattened image (input kernel x·y/(H·W·C), fan-in H·W·C).
TEST(ConvKernel, WholeImageFilterIsADense) {
  const RowMatrixD x = gaussian_matrix(5, 4 * 3 * 2, 1), y = gaussian_matrix(4, 4 * 3 * 2, 2);
  for (const std::string options : {"W_std=1.3, b_std=0.2", "W_std=0.9, b_std=0.3, parameterization='standard'",
                                    "W_std=1.1, parameterization='standard'"}) {
    const auto conv = image_kernels("Conv(8, (4, 3), " + options + "), Relu, Flatten, Dense(1, W_std=1.2, b_std=0.1)", x, y,
                                    {4, 3, 2});
    const auto dense = analytic_kernels(parse_network("Dense(8, " + options + "), Relu, Dense(1, W_std=1.2, b_std=0.1)"), x,
                                        y);
    EXPECT_LT(max_relative_error(conv.nngp, dense.nngp), 1e-14) << options;
    EXPECT_LT(max_relative_error(conv.ntk, dense.ntk), 1e-14) << options;
  }
}

// 1 × 1 convolutions (and Dense, which acts on the channels at each position) never mix
// positions; Flatten then averages the per-position kernels of the same MLP.
TEST(ConvKernel, PointwiseLayersThenFlattenAverageAPerPositionMlp) {
  const int H = 3, W = 2, C = 3, P = H * W;
  const RowMatrixD x = gaussian_matrix(4, P * C, 3), y = gaussian_matrix(3, P * C, 4);
  const auto conv = image_kernels(
      "Conv(8, (1, 1), W_std=1.5, b_std=0.1), Erf, Dense(6, W_std=1.2), LayerNorm, Relu, Flatten, Dense(1)", x, y, {H, W, C});
  const Network mlp = parse_network("Dense(8, W_std=1.5, b_std=0.1), Erf, Dense(6, W_std=1.2), LayerNorm, Relu, Dense(1)");
  RowMatrixD nngp = RowMatrixD::Zero(x.rows(), y.rows()), ntk = nngp;
  for (int p = 0; p < P; ++p) {
    const RowMatrixD xp = x.middleCols(p * C, C), yp = y.middleCols(p * C, C);
    const auto k = analytic_kernels(mlp, xp, yp);
    nngp += k.nngp / P;
    ntk += k.ntk / P;
  }
  EXPECT_LT(max_relative_error(conv.nngp, nngp), 1e-14);
  EXPECT_LT(max_relative_error(conv.ntk, ntk), 1e-14);
}

TEST(ConvKernel, FlattenFirstIsTheFlatInput) {
  const RowMatrixD x = gaussian_matrix(6, 5 * 2, 5);
  const std::string net = "Dense(7, W_std=1.4, b_std=0.3), Relu, Dense(1)";
  AnalyticOptions options;
  options.input_shape = {5, 2};
  const auto image = analytic_kernels(parse_network("Flatten, " + net), x, options);
  const auto flat = analytic_kernels(parse_network(net), x);
  EXPECT_LT(max_relative_error(image.nngp, flat.nngp), 1e-15);  // sums in another order
  EXPECT_LT(max_relative_error(image.ntk, flat.ntk), 1e-15);
}

// ---- A naive reference: the whole P × P covariance of each pair -----------------------------

// One pair's state: K(p, p') for every pair of positions of an H × W grid, p = h·W + w.
struct Full {
  int H = 0, W = 0;
  std::vector<double> k;
  double& at(int h, int w, int h2, int w2) { return k[static_cast<std::size_t>((h * W + w) * H * W + h2 * W + w2)]; }
  bool circular = false;  // positions wrap around instead of reading padding zeros
  double get(int h, int w, int h2, int w2) const {
    if (circular) {
      const auto wrap = [](int i, int n) { return ((i % n) + n) % n; };
      h = wrap(h, H), h2 = wrap(h2, H), w = wrap(w, W), w2 = wrap(w2, W);
    }
    if (h < 0 || h >= H || w < 0 || w >= W || h2 < 0 || h2 >= H || w2 < 0 || w2 >= W) return 0.0;  // padding
    return k[static_cast<std::size_t>((h * W + w) * H * W + h2 * W + w2)];
  }
};

struct Window {
  int f, s, out, lo;
};
Window window(int n, int f, int s, bool same) {
  if (!same) return {f, s, (n - f) / s + 1, 0};
  const int out = (n + s - 1) / s;
  return {f, s, out, std::max((out - 1) * s + f - n, 0) / 2};
}

// mean over the filter of K(o·s − lo + i, o'·s − lo + i), both positions moved together.
Full convolve(const Full& in, int fh, int fw, int s, bool same) {
  const Window a = window(in.H, fh, s, same), b = window(in.W, fw, s, same);
  Full out{a.out, b.out, std::vector<double>(static_cast<std::size_t>(a.out * b.out * a.out * b.out)), false};
  for (int h = 0; h < a.out; ++h)
    for (int w = 0; w < b.out; ++w)
      for (int h2 = 0; h2 < a.out; ++h2)
        for (int w2 = 0; w2 < b.out; ++w2) {
          double sum = 0;
          for (int i = 0; i < fh; ++i)
            for (int j = 0; j < fw; ++j)
              sum += in.get(h * s - a.lo + i, w * s - b.lo + j, h2 * s - a.lo + i, w2 * s - b.lo + j);
          out.at(h, w, h2, w2) = sum / (fh * fw);
        }
  return out;
}

// Σ over both k × k windows independently, times c(o)·c(o'): c = 1/k² (AvgPool), 1 (SumPool),
// or 1/(the window's positions inside the image) (AvgPool with normalize_edges).
enum class Pooling { Average, Sum, AverageNormalized };
Full pool(const Full& in, int k, int s, bool same, Pooling kind) {
  const Window a = window(in.H, k, s, same), b = window(in.W, k, s, same);
  Full out{a.out, b.out, std::vector<double>(static_cast<std::size_t>(a.out * b.out * a.out * b.out)), false};
  const auto scale = [&](int h, int w) {
    if (kind == Pooling::Sum) return 1.0;
    if (kind == Pooling::Average) return 1.0 / (k * k);
    int count = 0;
    for (int i = 0; i < k; ++i)
      for (int j = 0; j < k; ++j) {
        const int hi = h * s - a.lo + i, wj = w * s - b.lo + j;
        count += (hi >= 0 && hi < in.H && wj >= 0 && wj < in.W) ? 1 : 0;
      }
    return 1.0 / count;
  };
  for (int h = 0; h < a.out; ++h)
    for (int w = 0; w < b.out; ++w)
      for (int h2 = 0; h2 < a.out; ++h2)
        for (int w2 = 0; w2 < b.out; ++w2) {
          double sum = 0;
          for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j)
              for (int i2 = 0; i2 < k; ++i2)
                for (int j2 = 0; j2 < k; ++j2)
                  sum += in.get(h * s - a.lo + i, w * s - b.lo + j, h2 * s - a.lo + i2, w2 * s - b.lo + j2);
          out.at(h, w, h2, w2) = sum * scale(h, w) * scale(h2, w2);
        }
  return out;
}

// ReLU's arc-cosine map of entry k given the variances of its two positions.
void relu(double q1, double q2, double& k, double& theta) {
  const double norm = std::sqrt(q1 * q2);
  const double rho = norm > 0 ? std::clamp(k / norm, -1.0, 1.0) : 0.0;
  const double angle = std::acos(rho);
  const double pi = std::numbers::pi;
  theta *= (pi - angle) / (2 * pi);
  k = norm * (std::sin(angle) + (pi - angle) * rho) / (2 * pi);
}

// The kernels of the pair (x, y) of H × W × C images under
//   Conv(·, (3, 3), strides=s, padding), Relu, Conv(·, (2, 2), SAME), Relu, AvgPool((2, 2)),
//   Conv(·, (3, 3), SAME), Relu, then Flatten or GlobalAvgPool, Dense(1)
// with 'ntk' parameterization, W_std = w, b_std = b everywhere.
struct PairKernels {
  double nngp, ntk;
};
struct Config {
  int s = 1;              // the first Conv's strides
  bool same = true;       // the first Conv's padding ('SAME' or 'VALID')
  bool circular = false;  // the first Conv's padding is 'CIRCULAR' instead
  int pool_window = 2, pool_stride = 2;
  bool pool_same = false;  // the pool's padding
  Pooling pooling = Pooling::Average;
  bool global = false;  // GlobalAvgPool instead of Flatten
};
PairKernels reference(const double* x, const double* y, int H, int W, int C, const Config& config, double w, double b) {
  const int s = config.s;
  const bool same = config.same, global = config.global;
  // The three covariances (x, x), (y, y), (x, y) and the NTK of (x, y).
  Full kxx{H, W, {}}, kyy{H, W, {}}, kxy{H, W, {}};
  for (Full* f : {&kxx, &kyy, &kxy}) f->k.assign(static_cast<std::size_t>(H * W * H * W), 0.0);
  for (int p = 0; p < H * W; ++p)
    for (int p2 = 0; p2 < H * W; ++p2) {
      double sxx = 0, syy = 0, sxy = 0;
      for (int c = 0; c < C; ++c) {
        sxx += x[p * C + c] * x[p2 * C + c];
        syy += y[p * C + c] * y[p2 * C + c];
        sxy += x[p * C + c] * y[p2 * C + c];
      }
      kxx.k[static_cast<std::size_t>(p * H * W + p2)] = sxx / C;
      kyy.k[static_cast<std::size_t>(p * H * W + p2)] = syy / C;
      kxy.k[static_cast<std::size_t>(p * H * W + p2)] = sxy / C;
    }
  Full txy = kxy;
  std::fill(txy.k.begin(), txy.k.end(), 0.0);
  const auto conv = [&](int fh, int fw, int stride, bool pad, bool circular = false) {
    for (Full* f : {&kxx, &kyy, &kxy, &txy}) {
      f->circular = circular;
      *f = convolve(*f, fh, fw, stride, pad || circular);
    }
    for (std::size_t i = 0; i < kxy.k.size(); ++i) {
      kxx.k[i] = w * w * kxx.k[i] + b * b;
      kyy.k[i] = w * w * kyy.k[i] + b * b;
      kxy.k[i] = w * w * kxy.k[i] + b * b;
      txy.k[i] = w * w * txy.k[i] + kxy.k[i];
    }
  };
  const auto activate = [&] {
    const int P = kxy.H * kxy.W;
    Full nxx = kxx, nyy = kyy;
    for (int p = 0; p < P; ++p)
      for (int p2 = 0; p2 < P; ++p2) {
        const std::size_t i = static_cast<std::size_t>(p * P + p2);
        double ignored = 0;
        relu(kxx.k[static_cast<std::size_t>(p * P + p)], kxx.k[static_cast<std::size_t>(p2 * P + p2)], nxx.k[i], ignored);
        relu(kyy.k[static_cast<std::size_t>(p * P + p)], kyy.k[static_cast<std::size_t>(p2 * P + p2)], nyy.k[i], ignored);
        relu(kxx.k[static_cast<std::size_t>(p * P + p)], kyy.k[static_cast<std::size_t>(p2 * P + p2)], kxy.k[i], txy.k[i]);
      }
    kxx = nxx;
    kyy = nyy;
  };
  conv(3, 3, s, same, config.circular);
  activate();
  conv(2, 2, 1, true);
  activate();
  for (Full* f : {&kxx, &kyy, &kxy, &txy})
    *f = pool(*f, config.pool_window, config.pool_stride, config.pool_same, config.pooling);
  conv(3, 3, 1, true);
  activate();
  const int P = kxy.H * kxy.W;
  double k = 0, t = 0;
  for (int p = 0; p < P; ++p)
    for (int p2 = 0; p2 < P; ++p2) {
      if (!global && p != p2) continue;
      k += kxy.k[static_cast<std::size_t>(p * P + p2)];
      t += txy.k[static_cast<std::size_t>(p * P + p2)];
    }
  const double count = global ? P * P : P;
  k /= count;
  t /= count;
  return {k, t + k};  // Dense(1): K ← K, Θ ← Θ + K
}

TEST(ConvKernel, MatchesTheWholeCovarianceReference) {
  const int H = 7, W = 6, C = 2;
  const RowMatrixD x = gaussian_matrix(3, H * W * C, 7), y = gaussian_matrix(2, H * W * C, 8, 1.5);
  const double w = 1.3, b = 0.2;
  std::vector<Config> configs;
  for (const bool global : {false, true}) {
    configs.push_back({1, true, false, 2, 2, false, Pooling::Average, global});
    configs.push_back({2, true, false, 2, 2, false, Pooling::Average, global});
    configs.push_back({1, false, false, 2, 2, false, Pooling::Average, global});
    configs.push_back({1, true, true, 2, 2, false, Pooling::Average, global});            // CIRCULAR conv
    configs.push_back({2, true, true, 2, 2, false, Pooling::Average, global});            // CIRCULAR, stride 2
    configs.push_back({1, true, false, 3, 2, true, Pooling::AverageNormalized, global});  // overlapping, SAME
    configs.push_back({1, true, false, 3, 1, true, Pooling::Average, global});            // stride 1
    configs.push_back({1, false, false, 2, 1, false, Pooling::Sum, global});              // SumPool
  }
  for (const Config& c : configs) {
    const std::string args = ", W_std=1.3, b_std=0.2";
    const std::string padding = c.circular ? "CIRCULAR" : c.same ? "SAME" : "VALID";
    const std::string pool_name = c.pooling == Pooling::Sum ? "SumPool" : "AvgPool";
    const std::string pool_args = "((" + std::to_string(c.pool_window) + ", " + std::to_string(c.pool_window) +
                                  "), strides=(" + std::to_string(c.pool_stride) + ", " + std::to_string(c.pool_stride) +
                                  ")" + (c.pool_same ? ", padding='SAME'" : "") +
                                  (c.pooling == Pooling::AverageNormalized ? ", normalize_edges=True" : "") + ")";
    const std::string net = "Conv(16, (3, 3), strides=(" + std::to_string(c.s) + ", " + std::to_string(c.s) + "), padding='" +
                            padding + "'" + args + "), Relu, Conv(16, (2, 2), padding='SAME'" + args + "), Relu, " +
                            pool_name + pool_args + ", Conv(16, (3, 3), padding='SAME'" + args + "), Relu, " +
                            (c.global ? "GlobalAvgPool" : "Flatten") + ", Dense(1)";
    const auto engine = image_kernels(net, x, y, {H, W, C});
    RowMatrixD nngp(x.rows(), y.rows()), ntk(x.rows(), y.rows());
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      for (Eigen::Index j = 0; j < y.rows(); ++j) {
        const PairKernels r = reference(x.row(i).data(), y.row(j).data(), H, W, C, c, w, b);
        nngp(i, j) = r.nngp;
        ntk(i, j) = r.ntk;
      }
    EXPECT_LT(max_relative_error(engine.nngp, nngp), 1e-13) << net;
    EXPECT_LT(max_relative_error(engine.ntk, ntk), 1e-13) << net;
  }
}

// A 1-D signal (L, C) is an image of width 1: the one-axis layout and maps against the
// two-axis ones.
TEST(ConvKernel, OneDimensionalIsAnImageOfWidthOne) {
  const int L = 9, C = 2;
  const RowMatrixD x = gaussian_matrix(4, L * C, 11), y = gaussian_matrix(3, L * C, 12);
  for (const std::string tail : {"Flatten", "GlobalAvgPool"}) {
    const auto one = image_kernels(
        "Conv(8, (3,), strides=(2,), padding='SAME', b_std=0.1), Relu, AvgPool((2,), padding='SAME', "
        "normalize_edges=True), Conv(8, (2,), padding='CIRCULAR'), Erf, SumPool((3,), strides=(1,)), " +
            tail + ", Dense(1)",
        x, y, {L, C});
    const auto two = image_kernels(
        "Conv(8, (3, 1), strides=(2, 1), padding='SAME', b_std=0.1), Relu, AvgPool((2, 1), "
        "padding='SAME', normalize_edges=True), Conv(8, (2, 1), padding='CIRCULAR'), Erf, "
        "SumPool((3, 1), strides=(1, 1)), " +
            tail + ", Dense(1)",
        x, y, {L, 1, C});
    EXPECT_LT(max_relative_error(one.nngp, two.nngp), 1e-14) << tail;
    EXPECT_LT(max_relative_error(one.ntk, two.ntk), 1e-14) << tail;
  }
}

// Branches of a residual block need different offsets (a pool's window widens what it needs):
// FanOut keeps the widest and cuts each copy down to what its branch needs. Without a
// nonlinearity after the sum, the kernels are the sums of the two single-branch networks'.
TEST(ConvKernel, BranchesThatNeedDifferentOffsetsSumLikeSeparateNetworks) {
  const RowMatrixD x = gaussian_matrix(4, 6 * 5 * 2, 13), y = gaussian_matrix(3, 6 * 5 * 2, 14);
  const std::string stem = "Conv(8, (3, 3), padding='SAME', b_std=0.3), Relu, ";
  const std::string pooled = "Conv(8, (1, 1), W_std=1.2), AvgPool((3, 3), strides=(1, 1), padding='SAME')";
  const std::string plain = "Conv(8, (1, 1), W_std=0.8, b_std=0.1)";
  for (const std::string tail : {"Flatten, Dense(1)", "GlobalAvgPool, Dense(1)"}) {
    const auto both = image_kernels(stem + "FanOut(2), parallel(serial(" + pooled + "), " + plain + "), FanInSum, " + tail, x,
                                    y, {6, 5, 2});
    const auto first = image_kernels(stem + pooled + ", " + tail, x, y, {6, 5, 2});
    const auto second = image_kernels(stem + plain + ", " + tail, x, y, {6, 5, 2});
    EXPECT_LT(max_relative_error(both.nngp, first.nngp + second.nngp), 1e-14) << tail;
    EXPECT_LT(max_relative_error(both.ntk, first.ntk + second.ntk), 1e-14) << tail;
  }
}

// Branches that end flat (Flatten, global pools) inside parallel(...): each branch starts from
// the FanOut's spatial input, and the joined result is the sum (or width-weighted mean) of the
// single-branch networks' kernels.
TEST(ConvKernel, BranchesThatEndFlat) {
  const RowMatrixD x = gaussian_matrix(3, 5 * 5 * 2, 16), y = gaussian_matrix(2, 5 * 5 * 2, 17);
  const std::string stem = "Conv(4, (3, 3), padding='SAME', W_std=1.4, b_std=0.1), Relu, Conv(4, (3, 3), padding='SAME'), ";
  const auto both = image_kernels(stem + "FanOut(2), parallel(GlobalAvgPool, Flatten), FanInSum, Dense(1)", x, y, {5, 5, 2});
  const auto first = image_kernels(stem + "GlobalAvgPool, Dense(1)", x, y, {5, 5, 2});
  const auto second = image_kernels(stem + "Flatten, Dense(1)", x, y, {5, 5, 2});
  // Dense(1) (W_std = 1, no bias) maps (K, Θ) to (K, Θ + K), linear in the pair: sums carry through.
  EXPECT_LT(max_relative_error(both.nngp, first.nngp + second.nngp), 1e-14);
  EXPECT_LT(max_relative_error(both.ntk, first.ntk + second.ntk), 1e-14);
}

// K(X, X) is symmetric, its diagonal is the diagonal pass's, and equals K(X, X') with X' = X.
TEST(ConvKernel, SymmetricKernelAgreesWithTheTwoSidedOneAndTheDiagonal) {
  const RowMatrixD x = gaussian_matrix(5, 6 * 6 * 1, 9);
  const std::string net =
      "Conv(4, (3, 3), padding='SAME'), Relu, AvgPool((2, 2)), Conv(4, (2, 2)), Erf, GlobalAvgPool, Dense(1)";
  AnalyticOptions options;
  options.input_shape = {6, 6, 1};
  const auto sym = analytic_kernels(parse_network(net), x, options);
  const auto two = analytic_kernels(parse_network(net), x, x, options);
  EXPECT_EQ(sym.nngp, sym.nngp.transpose());
  EXPECT_LT(max_relative_error(sym.nngp, two.nngp), 1e-15);
  EXPECT_LT(max_relative_error(sym.ntk, two.ntk), 1e-15);
  const auto diagonal = analytic_kernel_diagonal(parse_network(net), x, options);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    EXPECT_EQ(diagonal.nngp[i], sym.nngp(i, i));
    EXPECT_EQ(diagonal.ntk[i], sym.ntk(i, i));
  }
}

// neural-tangents' conventions that are easy to get wrong (bench/neural_tangents checks them
// against neural-tangents itself): pools default to stride 1, not the window; Flatten's output
// is not Gaussian; a global pool of a flat input does nothing.
TEST(ConvKernel, NeuralTangentsDefaults) {
  EXPECT_EQ(to_string(parse_network("Conv(2, (3, 3)), AvgPool((2, 2), strides=(1, 1)), Flatten, Dense(1)")),
            "Conv(2, (3, 3)), AvgPool((2, 2)), Flatten, Dense(1)");
  EXPECT_EQ(to_string(parse_network("Conv(2, (3,), strides=(2,), padding='same'), SumPool((2,), strides=(2,)), "
                                    "GlobalSumPool, Dense(1)")),
            "Conv(2, (3,), strides=(2,), padding='SAME'), SumPool((2,), strides=(2,)), GlobalSumPool, Dense(1)");
  EXPECT_EQ(parse_network("Conv(2, (3, 3)), Flatten, Dense(1)"), serial(Conv(2, {3, 3}), Flatten(), Dense(1)));
  const std::string message = error_of([] { parse_network("Conv(2, (3, 3)), Flatten, Relu, Dense(1)"); });
  EXPECT_NE(message.find("non-Gaussian"), std::string::npos) << message;
  EXPECT_NE(message.find("Flatten"), std::string::npos) << message;
  parse_network("Conv(2, (3, 3)), GlobalAvgPool, Relu, Dense(1)");  // a global pool keeps Gaussian inputs
  const RowMatrixD x = gaussian_matrix(4, 5, 15);
  const auto pooled = analytic_kernels(parse_network("Dense(3), Relu, GlobalAvgPool, Dense(1)"), x);
  const auto plain = analytic_kernels(parse_network("Dense(3), Relu, Dense(1)"), x);
  EXPECT_EQ(pooled.nngp, plain.nngp);
  EXPECT_EQ(pooled.ntk, plain.ntk);
}

TEST(ConvKernel, ErrorsNameTheFix) {
  const RowMatrixD x = gaussian_matrix(2, 4 * 4, 1);
  AnalyticOptions options;
  options.input_shape = {4, 4, 1};
  const auto message = [&](const std::string& net) {
    return error_of([&] { analytic_kernels(parse_network(net), x, options); });
  };
  EXPECT_NE(message("Conv(2, (5, 5)), Flatten, Dense(1)").find("larger than the input"), std::string::npos);
  EXPECT_NE(message("Conv(2, (3,)), Flatten, Dense(1)").find("1-D window but its input has 2 spatial axes"),
            std::string::npos);
  EXPECT_NE(message("Conv(2, (3, 3)), Relu, Dense(1)").find("end it with Flatten"), std::string::npos);
  EXPECT_NE(message("Flatten, Conv(2, (1, 1)), Flatten, Dense(1)").find("its input is flat"), std::string::npos);
  // GlobalAvgPool needs every pair of positions: 128 × 128 images make 2.7e8 values per pair.
  const RowMatrixD big = gaussian_matrix(1, 128 * 128, 2);
  AnalyticOptions big_options;
  big_options.input_shape = {128, 128, 1};
  const std::string too_big = error_of([&] {
    analytic_kernels(parse_network("Conv(2, (3, 3), padding='SAME'), Relu, GlobalAvgPool, Dense(1)"), big, big_options);
  });
  EXPECT_NE(too_big.find("would hold 268435456 values"), std::string::npos) << too_big;
  options.input_shape = {4, 3, 1};
  EXPECT_NE(message("Flatten, Dense(1)").find("input_shape (4, 3, 1) has 12 values per example but the inputs have 16"),
            std::string::npos);
}

}  // namespace
}  // namespace ntkit
