// Finite networks (mlp.hpp, pointwise_activation.hpp): φ and φ' of every activation, forward
// against hand-written loops, vector-Jacobian and Jacobian-vector products against finite
// differences for every layer type, initialization per parameterization, reproducibility.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <string>

#include "ntkit/error.hpp"
#include "ntkit/mlp.hpp"
#include "ntkit/network.hpp"
#include "ntkit/pointwise_activation.hpp"
#include "test_helpers.hpp"

namespace ntkit {
namespace {

using test::gaussian_matrix;

// Every activation kind with non-default parameters where it has any.
std::vector<ActivationLayer> all_activations() {
  std::vector<ActivationLayer> out;
  for (const ActivationInfo& info : activation_table()) {
    ActivationLayer a = make_activation(info.kind);
    switch (info.kind) {
      case ActivationKind::LeakyRelu: a.alpha = 0.1; break;
      case ActivationKind::ABRelu: a.a = -0.3, a.b = 1.4; break;
      case ActivationKind::Erf: a.a = 2.0, a.b = 3.0, a.c = 0.1; break;
      case ActivationKind::Sin:
      case ActivationKind::Cos: a.a = 1.3, a.b = 0.7, a.c = 0.2; break;
      case ActivationKind::Gaussian: a.a = 0.8, a.b = -0.6; break;
      case ActivationKind::Exp: a.a = 0.5, a.b = 0.4; break;
      case ActivationKind::Monomial: a.degree = 3; break;
      case ActivationKind::RectifiedMonomial: a.degree = 2; break;
      case ActivationKind::Polynomial: a.coef = {0.3, -1.0, 0.5, 0.25}; break;
      case ActivationKind::Elu: a.alpha = 0.5; break;
      case ActivationKind::Rbf: a.gamma = 0.5; break;
      default: break;
    }
    out.push_back(a);
  }
  ActivationLayer gelu_approx = make_activation(ActivationKind::Gelu);
  gelu_approx.approximate = true;
  out.push_back(gelu_approx);
  out.push_back(std::get<ActivationLayer>(Step()));
  return out;
}

TEST(PointwiseActivation, ValuesMatchIndependentFormulas) {
  // Expected values from Python's math module (math.erf, math.tanh, math.exp) evaluating the
  // definitions in pointwise_activation.hpp at x = ±0.7.
  const auto value = [](const Layer& layer, double x) {
    return PointwiseActivation(std::get<ActivationLayer>(layer)).value(x);
  };
  EXPECT_NEAR(value(Gelu(), 0.7), 0.5306254434438489, 1e-15);
  EXPECT_NEAR(value(Gelu(true), 0.7), 0.5305701347051167, 1e-15);
  EXPECT_NEAR(value(Sigmoid_like(), 0.7), 0.6598764052803072, 1e-15);
  EXPECT_NEAR(value(Rbf(0.5), 0.7), 1.4090598745221794, 1e-15);
  EXPECT_NEAR(value(Softplus(), 0.7), 1.103186048885458, 1e-15);
  EXPECT_NEAR(value(Softplus(), -0.7), 0.4031860488854579, 1e-15);
  EXPECT_NEAR(value(Silu(), 0.7), 0.46773144051771626, 1e-15);
  EXPECT_NEAR(value(Selu(), -0.7), -0.8850530455772052, 1e-15);
  EXPECT_NEAR(value(Elu(0.5), -0.7), -0.25170734810429524, 1e-15);
  EXPECT_NEAR(value(Erf(2, 3, 0.1), 0.7), 2.094041066687334, 1e-15);
  EXPECT_EQ(value(Relu(), -0.7), 0.0);
  EXPECT_EQ(value(LeakyRelu(0.1), -2.0), -0.2);
  EXPECT_EQ(value(ABRelu(-0.3, 1.4), -2.0), 0.6);
  EXPECT_EQ(value(ABRelu(-0.3, 1.4), 2.0), 2.8);
  EXPECT_EQ(value(Abs(), -0.7), 0.7);
  EXPECT_EQ(value(Sign(), -0.7), -1.0);
  EXPECT_EQ(value(Sign(), 0.0), 0.0);
  EXPECT_EQ(value(Step(), 0.3), 1.0);
  EXPECT_EQ(value(Step(), -0.3), 0.0);
  EXPECT_EQ(value(Monomial(3), -2.0), -8.0);
  EXPECT_EQ(value(RectifiedMonomial(2), -2.0), 0.0);
  EXPECT_EQ(value(RectifiedMonomial(2), 3.0), 9.0);
  EXPECT_NEAR(value(Polynomial({0.3, -1.0, 0.5, 0.25}), 2.0), 0.3 - 2.0 + 2.0 + 2.0, 1e-15);
  EXPECT_NEAR(value(Sin(1.3, 0.7, 0.2), 0.5), 1.3 * std::sin(0.55), 1e-15);
  EXPECT_NEAR(value(Cos(1.3, 0.7, 0.2), 0.5), 1.3 * std::cos(0.55), 1e-15);
  EXPECT_NEAR(value(Gaussian(0.8, -0.6), 0.5), 0.8 * std::exp(-0.15), 1e-15);
  EXPECT_NEAR(value(Exp(0.5, 0.4), 0.5), 0.5 * std::exp(0.2), 1e-15);
}

TEST(PointwiseActivation, DerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  for (const ActivationLayer& layer : all_activations()) {
    const PointwiseActivation act(layer);
    for (double x : {-1.7, -0.45, 0.35, 1.2, 2.5}) {
      const double fd = (act.value(x + h) - act.value(x - h)) / (2 * h);
      EXPECT_NEAR(act.derivative(x), fd, 1e-7 * std::max(1.0, std::abs(fd))) << to_string(Layer{layer}) << " at x = " << x;
    }
    // The array form equals the scalar form, also in place.
    std::vector<double> x{-0.8, 0.1, 0.9}, f(3), df(3);
    act.apply(x.data(), f.data(), df.data(), 3);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(f[i], act.value(x[i]));
      EXPECT_EQ(df[i], act.derivative(x[i]));
    }
    act.apply(x.data(), x.data(), nullptr, 3);
    EXPECT_EQ(x, f);
  }
}

// Hand-written forward of "Dense(3, W_std=1.5, b_std=0.1), Tanh, Dense(2, W_std=0.8, b_std=0.2,
// parameterization='standard')": loops over the parameters read through dense_parameters().
TEST(Mlp, ForwardMatchesHandWrittenLoops) {
  const Network network = parse_network(
      "Dense(3, W_std=1.5, b_std=0.1), Tanh, Dense(2, W_std=0.8, b_std=0.2, parameterization='standard')");
  const Mlp net(network, 4, 7);
  ASSERT_EQ(net.parameter_count(), 3 * 4 + 3 + 2 * 3 + 2);
  const auto layers = net.dense_parameters();
  const VectorD& w = net.parameters();
  const RowMatrixD x = gaussian_matrix(5, 4, 1);
  const RowMatrixD f = net.forward(x);
  ASSERT_EQ(f.rows(), 5);
  ASSERT_EQ(f.cols(), 2);
  for (int n = 0; n < 5; ++n) {
    double h[3];
    for (int i = 0; i < 3; ++i) {
      double z = 0;
      for (int j = 0; j < 4; ++j) z += w[layers[0].weight_offset + i * 4 + j] * x(n, j);
      h[i] = std::tanh(1.5 / std::sqrt(4.0) * z + 0.1 * w[layers[0].bias_offset + i]);  // 'ntk'
    }
    for (int o = 0; o < 2; ++o) {
      double z = w[layers[1].bias_offset + o];  // 'standard': z = W h + b
      for (int i = 0; i < 3; ++i) z += w[layers[1].weight_offset + o * 3 + i] * h[i];
      EXPECT_NEAR(f(n, o), z, 1e-14);
    }
  }
}

// LayerNorm and a residual branch by hand: Dense(4, b_std=0.3), LayerNorm(eps=0.01),
// Residual(Relu, Dense(4)), Dense(1).
TEST(Mlp, ResidualAndLayerNormMatchHandWrittenLoops) {
  const Network network = parse_network(
      "Dense(4, b_std=0.3), LayerNorm(eps=0.01), FanOut(2), parallel(serial(Relu, Dense(4)), Identity), "
      "FanInSum, Dense(1)");
  const Mlp net(network, 3, 11);
  const auto layers = net.dense_parameters();
  ASSERT_EQ(layers.size(), 3u);
  const VectorD& w = net.parameters();
  const RowMatrixD x = gaussian_matrix(6, 3, 2);
  const RowMatrixD f = net.forward(x);
  for (int n = 0; n < 6; ++n) {
    double z[4], y[4], sum[4];
    double mean = 0;
    for (int i = 0; i < 4; ++i) {
      z[i] = 0.3 * w[layers[0].bias_offset + i];
      for (int j = 0; j < 3; ++j) z[i] += w[layers[0].weight_offset + i * 3 + j] * x(n, j) / std::sqrt(3.0);
      mean += z[i] / 4;
    }
    double var = 0;
    for (double v : z) var += (v - mean) * (v - mean) / 4;
    for (int i = 0; i < 4; ++i) y[i] = (z[i] - mean) / std::sqrt(var + 0.01);
    for (int i = 0; i < 4; ++i) {
      double branch = 0;
      for (int j = 0; j < 4; ++j) branch += w[layers[1].weight_offset + i * 4 + j] * std::max(y[j], 0.0) / 2.0;
      sum[i] = branch + y[i];
    }
    double out = 0;
    for (int j = 0; j < 4; ++j) out += w[layers[2].weight_offset + j] * sum[j] / 2.0;
    EXPECT_NEAR(f(n, 0), out, 1e-13);
  }
}

// ⟨G, f(w)⟩ as a function of the parameters, for finite differences.
double contracted(const Mlp& net, const RowMatrixD& x, const RowMatrixD& g, const VectorD& w) {
  Mlp copy = net;
  copy.set_parameters(w);
  return (copy.forward(x).array() * g.array()).sum();
}

// vjp against central differences of ⟨G, f(w)⟩ in every parameter; jvp against central
// differences of f along a random direction; and the adjoint identity ⟨G, Jv⟩ = ⟨Jᵀ G, v⟩.
void check_derivatives(const std::string& arch, int input_dim, double tolerance = 1e-6) {
  SCOPED_TRACE(arch);
  const Mlp net(parse_network(arch), input_dim, 3);
  const RowMatrixD x = gaussian_matrix(4, input_dim, 5);
  const RowMatrixD g = gaussian_matrix(4, net.output_dim(), 6);
  const VectorD grad = net.vjp(x, g);
  const VectorD w0 = net.parameters();
  const double h = 1e-5;
  double worst = 0;
  for (Eigen::Index p = 0; p < w0.size(); ++p) {
    VectorD plus = w0, minus = w0;
    plus[p] += h;
    minus[p] -= h;
    const double fd = (contracted(net, x, g, plus) - contracted(net, x, g, minus)) / (2 * h);
    worst = std::max(worst, std::abs(fd - grad[p]) / std::max(1.0, std::abs(fd)));
  }
  EXPECT_LT(worst, tolerance) << "vjp vs finite differences";

  const RowMatrixD v_matrix = gaussian_matrix(w0.size(), 1, 8);
  const VectorD v = v_matrix.col(0);
  RowMatrixD f0;
  const RowMatrixD jv = net.jvp(x, v, &f0);
  EXPECT_LT(test::max_relative_error(f0, net.forward(x)), 1e-14) << "jvp's primal output";
  Mlp plus = net, minus = net;
  plus.set_parameters(w0 + h * v);
  minus.set_parameters(w0 - h * v);
  const RowMatrixD fd = (plus.forward(x) - minus.forward(x)) / (2 * h);
  EXPECT_LT((jv - fd).cwiseAbs().maxCoeff() / std::max(1.0, fd.cwiseAbs().maxCoeff()), tolerance)
      << "jvp vs finite differences";
  const double lhs = (g.array() * jv.array()).sum(), rhs = grad.dot(v);
  EXPECT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, std::abs(rhs))) << "adjoint identity";
}

TEST(Mlp, GradientsMatchFiniteDifferencesForEveryLayerType) {
  check_derivatives("Dense(3)", 2);
  check_derivatives("Dense(3, W_std=1.3, b_std=0.2)", 2);
  check_derivatives("Dense(3, W_std=1.3, b_std=0.2, parameterization='standard')", 2);
  check_derivatives("Dense(5, b_std=0.1), Relu, Dense(4, W_std=2, parameterization='standard'), Erf, Dense(2)", 3);
  check_derivatives("Dense(5, b_std=0.5), LayerNorm, Dense(3), LayerNorm(eps=0.1), Dense(2, b_std=1)", 3);
  check_derivatives("Dense(4), Residual(Relu, Dense(4, b_std=0.1)), Relu, Dense(1)", 3);
  check_derivatives(
      "Identity, FanOut(3), parallel(Dense(4), serial(Dense(4), Tanh, Dense(4)), Dense(4)), FanInSum, "
      "Dense(2)",
      3);
  check_derivatives("Residual(Dense(3, b_std=0.2), Tanh), Dense(2)", 3);  // shortcut from the raw input
  for (const ActivationLayer& layer : all_activations()) {
    check_derivatives("Dense(5, b_std=0.3), " + to_string(Layer{layer}) + ", Dense(2, b_std=0.1)", 3, 2e-6);
  }
}

TEST(Mlp, InitializationFollowsTheParameterization) {
  // 'ntk': W, b ~ N(0, 1). 'standard': W ~ N(0, W_std²/n_in), b ~ N(0, b_std²) (neural-tangents'
  // stax.Dense standard_init_fn). Sample variances of 100 000 and 2 000 draws: relative
  // standard errors 0.5% and 3%, so 15% is far outside chance.
  const Mlp ntk(parse_network("Dense(2000, W_std=2, b_std=0.5)"), 50, 1);
  const Mlp standard(parse_network("Dense(2000, W_std=2, b_std=0.5, parameterization='standard')"), 50, 1);
  const auto variance = [](const VectorD& v) { return v.squaredNorm() / static_cast<double>(v.size()); };
  const auto layer = ntk.dense_parameters().front();
  EXPECT_NEAR(variance(ntk.parameters().segment(layer.weight_offset, 100000)), 1.0, 0.15);
  EXPECT_NEAR(variance(ntk.parameters().segment(layer.bias_offset, 2000)), 1.0, 0.15);
  EXPECT_NEAR(variance(standard.parameters().segment(layer.weight_offset, 100000)), 4.0 / 50, 0.15 * 4.0 / 50);
  EXPECT_NEAR(variance(standard.parameters().segment(layer.bias_offset, 2000)), 0.25, 0.15 * 0.25);
  // No bias parameter at all for b_std=None.
  const Mlp no_bias(parse_network("Dense(7), Relu, Dense(2)"), 3, 1);
  EXPECT_EQ(no_bias.parameter_count(), 7 * 3 + 2 * 7);
  EXPECT_EQ(no_bias.dense_parameters()[1].bias_offset, -1);
}

TEST(Mlp, SameSeedSameNetworkWhateverTheThreadCount) {
  const Network network = parse_network("Dense(64, b_std=0.1), Relu, Dense(64), Erf, Dense(3)");
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const Mlp one(network, 5, 42);
  const RowMatrixD x = gaussian_matrix(300, 5, 3);
  const RowMatrixD f_one = one.forward(x);
  omp_set_num_threads(std::max(2, threads));
  const Mlp many(network, 5, 42);
  omp_set_num_threads(threads);
  EXPECT_EQ(one.parameters(), many.parameters());
  EXPECT_LT(test::max_relative_error(many.forward(x), f_one), 1e-13);
  const Mlp other(network, 5, 43);
  EXPECT_NE(one.parameters(), other.parameters());
}

TEST(Mlp, Errors) {
  const Mlp net(parse_network("Dense(3), Relu, Dense(2)"), 4, 0);
  const RowMatrixD x = gaussian_matrix(2, 4, 0);
  EXPECT_THROW(net.forward(gaussian_matrix(2, 3, 0)), Error);
  EXPECT_THROW(net.forward(RowMatrixD(0, 4)), Error);
  RowMatrixD bad = x;
  bad(1, 2) = std::nan("");
  EXPECT_THROW(net.forward(bad), Error);
  EXPECT_THROW(net.vjp(x, RowMatrixD::Zero(2, 1)), Error);
  EXPECT_THROW(net.jvp(x, VectorD::Zero(3)), Error);
  Mlp copy = net;
  EXPECT_THROW(copy.set_parameters(VectorD::Zero(5)), Error);
  EXPECT_THROW(Mlp(parse_network("Dense(3)"), 0, 0), Error);
  // A residual sum of different widths cannot be added.
  try {
    Mlp(parse_network("Dense(4), Residual(Relu, Dense(3)), Dense(1)"), 2, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("FanInSum adds inputs of different widths"), std::string::npos) << e.what();
  }
  // Structural errors come from validate().
  EXPECT_THROW(Mlp(Network{{Relu(), Dense(1)}}, 2, 0), Error);
}

}  // namespace
}  // namespace ntkit
