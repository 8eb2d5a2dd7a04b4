// The explicit polynomial feature map reproduces the polynomial kernel exactly (docs/mathematics.md §1).
#include <gtest/gtest.h>

#include "ntkit/error.hpp"
#include "ntkit/feature_map.hpp"
#include "ntkit/kernels.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;
using test::max_relative_error;

TEST(PolynomialFeatureMap, InnerProductsEqualTheKernelForRandomShapes) {
  std::uint64_t seed = 100;
  for (int d = 1; d <= 6; ++d)
    for (int p = 1; p <= 4; ++p)
      for (double c : {0.0, 0.5, 1.0, 2.5}) {
        const RowMatrixD x = gaussian_matrix(9, d, ++seed, 0.8);
        const RowMatrixD y = gaussian_matrix(7, d, ++seed, 0.8);
        const PolynomialFeatureMap map(d, p, c);
        const RowMatrixD inner = map.transform(x) * map.transform(y).transpose();
        const RowMatrixD k = kernel_matrix<double>({KernelKind::Polynomial, p, c}, x, y);
        EXPECT_LT(max_relative_error(inner, k), 1e-13) << "d=" << d << " p=" << p << " c=" << c;
        const std::size_t expected_dim = c == 0 ? polynomial_feature_count(d, p) - polynomial_feature_count(d, p - 1)
                                                : polynomial_feature_count(d, p);
        EXPECT_EQ(map.output_dim(), expected_dim);
      }
}

TEST(PolynomialFeatureMap, LayoutAndScalesForTwoVariables) {
  // (1 + x·y)² = 1 + 2x1y1 + 2x2y2 + x1²y1² + 2x1x2y1y2 + x2²y2², so
  // φ(x) = (1, √2 x1, √2 x2, x1², √2 x1x2, x2²).
  const PolynomialFeatureMap map(2, 2, 1.0);
  ASSERT_EQ(map.output_dim(), 6u);
  RowMatrixD x(1, 2);
  x << 3.0, 5.0;
  RowMatrixD expected(1, 6);
  expected << 1.0, std::sqrt(2.0) * 3, std::sqrt(2.0) * 5, 9.0, std::sqrt(2.0) * 15, 25.0;
  EXPECT_LT(max_relative_error(map.transform(x), expected), 1e-15);
  EXPECT_EQ(map.exponents(0), (std::vector<int>{0, 0}));
  EXPECT_EQ(map.exponents(4), (std::vector<int>{1, 1}));
  EXPECT_EQ(map.exponents(5), (std::vector<int>{0, 2}));
}

TEST(PolynomialFeatureMap, CountsAndErrors) {
  EXPECT_EQ(polynomial_feature_count(3, 2), 10u);        // C(5, 2)
  EXPECT_EQ(polynomial_feature_count(784, 2), 308505u);  // C(786, 2)
  EXPECT_THROW(PolynomialFeatureMap(3, 2, -1.0), Error);
  EXPECT_THROW(PolynomialFeatureMap(0, 2, 1.0), Error);
  EXPECT_THROW(PolynomialFeatureMap(3, 0, 1.0), Error);
  try {
    PolynomialFeatureMap(784, 4, 1.0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use the polynomial kernel"), std::string::npos) << e.what();
  }
  const PolynomialFeatureMap map(3, 2, 1.0);
  EXPECT_THROW(map.transform(gaussian_matrix(2, 4, 1)), Error);
}

}  // namespace
}  // namespace ntkit
