// Classic kernels against an independent per-entry loop (long double, arccos of the cosine,
// ‖x - y‖² from the difference), against Monte Carlo for the arc-cosine formula itself, and
// the structural properties: symmetry, positive semi-definiteness, edge cases.
#include <gtest/gtest.h>

#include "ntkit/eigen.hpp"  // first: silences a GCC 12 false positive in AVX-512 intrinsics
#include <Eigen/Eigenvalues>
#include <cmath>
#include <numbers>

#include "ntkit/error.hpp"
#include "ntkit/kernels.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

// Direct evaluation of one entry, written from the textbook definitions (docs/mathematics.md §1, Cho & Saul
// 2009 eq. 1-2) and independent of the library's Gram-then-map route.
double reference_entry(const KernelSpec& spec, const Eigen::RowVectorXd& x, const Eigen::RowVectorXd& y) {
  long double dot = 0, nx = 0, ny = 0, dist2 = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    dot += static_cast<long double>(x[i]) * y[i];
    nx += static_cast<long double>(x[i]) * x[i];
    ny += static_cast<long double>(y[i]) * y[i];
    const long double diff = static_cast<long double>(x[i]) - y[i];
    dist2 += diff * diff;
  }
  switch (spec.kind) {
    case KernelKind::Linear: return static_cast<double>(dot);
    case KernelKind::Polynomial: return static_cast<double>(std::pow(spec.c + dot, spec.degree));
    case KernelKind::Rbf: return static_cast<double>(std::exp(-spec.gamma * dist2));
    case KernelKind::ArcCos: {
      // θ by Kahan's formula 2·atan2(‖x̂ - ŷ‖, ‖x̂ + ŷ‖) on unit vectors: exact for x = y and
      // accurate for all angles, unlike acos of the cosine.
      const long double lx = std::sqrt(nx), ly = std::sqrt(ny), norms = lx * ly;
      long double minus = 0, plus = 0;
      for (Eigen::Index i = 0; i < x.size(); ++i) {
        const long double ux = x[i] / lx, uy = y[i] / ly;
        minus += (ux - uy) * (ux - uy);
        plus += (ux + uy) * (ux + uy);
      }
      const long double theta = 2 * std::atan2(std::sqrt(minus), std::sqrt(plus));
      const long double cos_t = std::cos(theta), sin_t = std::sin(theta);
      const long double pi = std::numbers::pi_v<long double>;
      long double j = 0;
      if (spec.order == 0) j = pi - theta;
      if (spec.order == 1) j = sin_t + (pi - theta) * cos_t;
      if (spec.order == 2) j = 3 * sin_t * cos_t + (pi - theta) * (1 + 2 * cos_t * cos_t);
      return static_cast<double>(std::pow(norms, spec.order) * j / pi);
    }
  }
  return NAN;
}

RowMatrixD reference_matrix(const KernelSpec& spec, const RowMatrixD& a, const RowMatrixD& b) {
  RowMatrixD k(a.rows(), b.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < b.rows(); ++j) k(i, j) = reference_entry(spec, a.row(i), b.row(j));
  return k;
}

std::vector<KernelSpec> all_specs() {
  return {{KernelKind::Linear},
          {KernelKind::Polynomial, 1, 0.0},
          {KernelKind::Polynomial, 2, 1.0},
          {KernelKind::Polynomial, 3, 0.5},
          {KernelKind::Polynomial, 5, -0.3},
          {KernelKind::Rbf, 2, 1.0, 0.05},
          {KernelKind::Rbf, 2, 1.0, 0.7},
          {KernelKind::ArcCos, 2, 1.0, 1.0, 0},
          {KernelKind::ArcCos, 2, 1.0, 1.0, 1},
          {KernelKind::ArcCos, 2, 1.0, 1.0, 2}};
}

class EveryKernel : public ::testing::TestWithParam<KernelSpec> {};

TEST_P(EveryKernel, CrossMatrixMatchesPerEntryLoop) {
  const KernelSpec spec = GetParam();
  // 300 rows cover several 128-row tiles and a ragged last one.
  const RowMatrixD a = gaussian_matrix(300, 7, 1, 0.4);
  const RowMatrixD b = gaussian_matrix(170, 7, 2, 0.4);
  const RowMatrixD k = kernel_matrix<double>(spec, a, b);
  EXPECT_LT(max_relative_error(k, reference_matrix(spec, a, b)), 1e-12) << spec.describe();
}

TEST_P(EveryKernel, SymmetricMatrixMatchesLoopAndIsExactlySymmetric) {
  const KernelSpec spec = GetParam();
  const RowMatrixD x = gaussian_matrix(301, 5, 3, 0.5);
  const RowMatrixD k = kernel_matrix<double>(spec, x);
  EXPECT_LT(max_relative_error(k, reference_matrix(spec, x, x)), 1e-12) << spec.describe();
  EXPECT_TRUE((k.array() == k.transpose().array()).all()) << spec.describe();
  // The one-triangle route and the general route agree. The general route takes ‖x‖² from
  // its own sums, not from the Gram diagonal, so on the diagonal θ is √(rounding) ≈ 1e-8
  // instead of 0; only arc-cosine order 0 (infinite slope at θ = 0) shows it.
  const bool steep = spec.kind == KernelKind::ArcCos && spec.order == 0;
  EXPECT_LT(max_relative_error(k, kernel_matrix<double>(spec, x, x)), steep ? 1e-7 : 1e-12);
  // The diagonal alone equals the full matrix's diagonal.
  const VectorD diag = kernel_diagonal<double>(spec, x);
  EXPECT_LT((diag - k.diagonal()).cwiseAbs().maxCoeff(), 1e-12 * k.diagonal().cwiseAbs().maxCoeff());
}

TEST_P(EveryKernel, IsPositiveSemiDefinite) {
  const KernelSpec spec = GetParam();
  if (spec.kind == KernelKind::Polynomial && spec.c < 0) GTEST_SKIP() << "(c + x·y)^p with c < 0 need not be PSD";
  const RowMatrixD x = gaussian_matrix(120, 4, 4, 0.6);
  const RowMatrixD k = kernel_matrix<double>(spec, x);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k);
  EXPECT_GE(eig.eigenvalues().minCoeff(), -1e-10 * eig.eigenvalues().cwiseAbs().maxCoeff()) << spec.describe();
}

TEST_P(EveryKernel, Float32AgreesWithFloat64) {
  const KernelSpec spec = GetParam();
  const RowMatrixD x = gaussian_matrix(150, 6, 5, 0.4);
  const RowMatrixD k64 = kernel_matrix<double>(spec, x);
  const RowMatrixF xf = x.cast<float>();
  const RowMatrixD k32 = kernel_matrix<float>(spec, xf).cast<double>();
  // float32 has 24 bits (6e-8); the Gram sums 6 products and the map amplifies a little.
  EXPECT_LT(max_relative_error(k32, k64), 2e-5) << spec.describe();
}

INSTANTIATE_TEST_SUITE_P(Kernels, EveryKernel, ::testing::ValuesIn(all_specs()), [](const auto& param_info) {
  std::string name = param_info.param.describe();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name + "_" + std::to_string(param_info.index);
});

// The arc-cosine closed form itself, against its definition as an expectation (Cho & Saul):
// k_n(x, y) = 2 E_w[Θ(w·x) Θ(w·y) (w·x)^n (w·y)^n], w ~ N(0, I).
TEST(ArcCosKernel, MatchesMonteCarloOfItsDefinition) {
  const RowMatrixD x = gaussian_matrix(4, 3, 6);
  const RowMatrixD w = gaussian_matrix(400000, 3, 7);
  const RowMatrixD z = w * x.transpose();  // samples x 4
  for (int order = 0; order <= 2; ++order) {
    const KernelSpec spec{KernelKind::ArcCos, 2, 1.0, 1.0, order};
    const RowMatrixD k = kernel_matrix<double>(spec, x);
    for (Eigen::Index i = 0; i < 4; ++i)
      for (Eigen::Index j = 0; j < 4; ++j) {
        double sum = 0, sum2 = 0;
        for (Eigen::Index s = 0; s < z.rows(); ++s) {
          const double a = z(s, i), b = z(s, j);
          const double v = (a > 0 && b > 0) ? 2 * std::pow(a * b, order) : 0.0;
          sum += v;
          sum2 += v * v;
        }
        const double ns = static_cast<double>(z.rows());
        const double mean = sum / ns, se = std::sqrt((sum2 / ns - mean * mean) / ns);
        EXPECT_NEAR(k(i, j), mean, 5 * se + 1e-12) << "order " << order << " entry " << i << "," << j;
      }
  }
}

TEST(ArcCosKernel, EdgeCasesAreFiniteAndExact) {
  RowMatrixD x(4, 3);
  x << 1, 2, 3,    //
      1, 2, 3,     // duplicate: θ = 0 exactly
      -1, -2, -3,  // opposite: θ = π
      0, 0, 0;     // zero norm
  for (int order = 0; order <= 2; ++order) {
    const RowMatrixD k = kernel_matrix<double>({KernelKind::ArcCos, 2, 1.0, 1.0, order}, x);
    ASSERT_TRUE(k.allFinite()) << "order " << order;
    const double q = 14.0;  // ‖(1, 2, 3)‖²
    const double expect_same = order == 0 ? 1.0 : order == 1 ? q : 3 * q * q;
    EXPECT_DOUBLE_EQ(k(0, 0), expect_same);
    EXPECT_DOUBLE_EQ(k(0, 1), expect_same);
    EXPECT_NEAR(k(0, 2), 0.0, 1e-12 * expect_same);  // J_n(π) = 0
    EXPECT_EQ(k(0, 3), order == 0 ? 0.5 : 0.0);      // documented zero-norm convention
    EXPECT_EQ(k(3, 3), order == 0 ? 0.5 : 0.0);
  }
}

TEST(RbfKernel, DuplicatesGiveExactlyOneOnTheDiagonal) {
  RowMatrixD x = gaussian_matrix(10, 4, 8, 100.0);  // large norms: cancellation in ‖x‖² + ‖y‖² - 2x·y
  x.row(3) = x.row(7);
  const RowMatrixD k = kernel_matrix<double>({KernelKind::Rbf, 2, 1.0, 1e-3}, x);
  for (Eigen::Index i = 0; i < 10; ++i) EXPECT_EQ(k(i, i), 1.0);
  EXPECT_LE(k.maxCoeff(), 1.0);
  EXPECT_NEAR(k(3, 7), 1.0, 1e-9);
}

TEST(KernelErrors, ClearMessages) {
  const RowMatrixD a = gaussian_matrix(3, 2, 9), b = gaussian_matrix(3, 4, 10);
  try {
    kernel_matrix<double>({KernelKind::Linear}, a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x1 has 2 columns but x2 has 4"), std::string::npos) << e.what();
  }
  RowMatrixD bad = a;
  bad(1, 1) = NAN;
  try {
    kernel_matrix<double>({KernelKind::Rbf}, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1, column 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(kernel_matrix<double>({KernelKind::Polynomial, 0}, a), Error);
  EXPECT_THROW(kernel_matrix<double>({KernelKind::Rbf, 2, 1.0, -1.0}, a), Error);
  EXPECT_THROW(kernel_matrix<double>({KernelKind::ArcCos, 2, 1.0, 1.0, 3}, a), Error);
  EXPECT_EQ(parse_kernel_kind("RBF"), KernelKind::Rbf);
  EXPECT_EQ(parse_kernel_kind("poly"), KernelKind::Polynomial);
  try {
    parse_kernel_kind("sigmoid");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear, polynomial, rbf, arccos"), std::string::npos);
  }
}

}  // namespace
}  // namespace ntkit

namespace ntkit {
namespace {

// Data far from the origin: ‖x‖² + ‖y‖² - 2x·y would cancel catastrophically (reviewer's case:
// float32 error 0.1 and an indefinite matrix before RBF was centred).
TEST(RbfKernel, AccurateFarFromTheOrigin) {
  RowMatrixD x = test::gaussian_matrix(50, 5, 21, 0.1);
  x.array() += 100.0;
  const KernelSpec spec{KernelKind::Rbf, 2, 1.0, 10.0};
  const RowMatrixD reference = reference_matrix(spec, x, x);
  EXPECT_LT((kernel_matrix<double>(spec, x) - reference).cwiseAbs().maxCoeff(), 1e-13);
  const RowMatrixF xf = x.cast<float>();
  // float32 inputs themselves are rounded by ~100 · 6e-8 = 6e-6; that moves d² by ~1e-5 · ‖x-y‖.
  EXPECT_LT((kernel_matrix<float>(spec, xf).cast<double>() - reference).cwiseAbs().maxCoeff(), 2e-4);
  const RowMatrixD xy = test::gaussian_matrix(7, 5, 22, 0.1).array() + 100.0;
  EXPECT_LT((kernel_matrix<double>(spec, xy, x) - reference_matrix(spec, xy, x)).cwiseAbs().maxCoeff(), 1e-13);
}

TEST(KernelErrors, OverflowIsReportedNotWritten) {
  const RowMatrixF x = (test::gaussian_matrix(4, 3, 23).array() + 100.0).cast<float>().matrix();
  try {
    kernel_matrix<float>({KernelKind::Polynomial, 40, 1.0}, x);
    FAIL() << "expected an overflow error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflows float32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ntkit
