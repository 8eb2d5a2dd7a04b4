#include "demo_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "ntkit/error.hpp"

namespace ntkit::cli {

std::string default_data_path() {
  const std::string local = "data/diabetes.csv";
  if (std::filesystem::exists(local)) return local;
  return std::string(NTKIT_SOURCE_DIR) + "/data/diabetes.csv";
}

std::vector<double> to_vector(const RowMatrixD& m) { return {m.data(), m.data() + m.size()}; }

Split split_and_standardize(const RowMatrixD& data, int test_size, std::uint64_t seed) {
  const Eigen::Index n = data.rows(), d = data.cols() - 1;
  if (d < 1) throw Error("demo: the data needs at least one feature column and one target column");
  if (test_size < 1 || test_size >= n - 1)
    throw Error("--test-size: must be in [1, " + std::to_string(n - 2) + "], got " + std::to_string(test_size));
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const std::vector<Eigen::Index> test(order.begin(), order.begin() + test_size);
  const std::vector<Eigen::Index> train(order.begin() + test_size, order.end());

  Split s;
  const RowMatrixD x_train = data(train, Eigen::seqN(0, d));
  const RowMatrixD x_test = data(test, Eigen::seqN(0, d));
  const Eigen::RowVectorXd mean = x_train.colwise().mean();
  Eigen::RowVectorXd sd =
      ((x_train.rowwise() - mean).colwise().squaredNorm() / static_cast<double>(train.size())).cwiseSqrt();
  sd = sd.unaryExpr([](double v) { return v > 0 ? v : 1.0; });  // constant column: leave as is
  s.x_train = (x_train.rowwise() - mean).array().rowwise() / sd.array();
  s.x_test = (x_test.rowwise() - mean).array().rowwise() / sd.array();
  const RowMatrixD y_train = data(train, Eigen::seqN(d, 1));
  const RowMatrixD y_test = data(test, Eigen::seqN(d, 1));
  s.y_mean = y_train.mean();
  s.y_std = std::sqrt((y_train.array() - s.y_mean).square().mean());
  if (!(s.y_std > 0)) s.y_std = 1;
  s.y_train = (y_train.array() - s.y_mean) / s.y_std;
  s.y_test = (y_test.array() - s.y_mean) / s.y_std;
  return s;
}

}  // namespace ntkit::cli
